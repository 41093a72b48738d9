"""``--json-alerts FILE``: one JSON object per alert per line, for scripts and tests."""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

from ndpmon.checks.alert import Alert
from ndpmon.errors import ConfigError
from ndpmon.alerts.action import Action

__all__ = ["JsonLines"]


class JsonLines(Action):
    """Append alerts as JSON lines to a file, or to stdout for ``-``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._out: TextIO | None = None

    def start(self) -> None:
        if self.path == "-":
            self._out = sys.stdout
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._out = open(fd, "a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(self.path, None, f"cannot write: {exc.strerror}") from None

    def notify(self, alert: Alert) -> None:
        assert self._out is not None, "start() first"
        self._out.write(json.dumps(alert.to_json(), ensure_ascii=False) + "\n")

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()

    def stop(self) -> None:
        if self._out is None:
            return
        self._out.flush()
        if self._out is not sys.stdout:
            self._out.close()
        self._out = None
