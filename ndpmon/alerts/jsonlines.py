"""``--json-alerts FILE``: one JSON object per alert per line, for scripts and tests."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from ndpmon.checks.alert import Alert
from ndpmon.errors import WriteError
from ndpmon.files import secure
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
        try:  # no link, FIFO (it would block), device or other account's file (issue 14)
            fd = secure.open_output(self.path, append=True)
            self._out = open(fd, "a", encoding="utf-8")
        except OSError as exc:
            raise WriteError(self.path, f"cannot write: {exc.strerror}") from None

    def notify(self, alert: Alert) -> None:
        assert self._out is not None, "start() first"
        try:
            self._out.write(json.dumps(alert.to_json(), ensure_ascii=False) + "\n")
        except OSError as exc:
            raise self._error(exc) from None

    def flush(self) -> None:
        if self._out is not None:
            try:
                self._out.flush()
            except OSError as exc:
                raise self._error(exc) from None

    def stop(self) -> None:
        """Flush and close (closed even if the last flush fails: WriteError then)."""
        out, self._out = self._out, None
        if out is None:
            return
        try:
            out.flush()
        except OSError as exc:
            raise self._error(exc) from None
        finally:
            if out is not sys.stdout:
                try:
                    out.close()
                except OSError:
                    pass  # the flush above failed and said so

    def _error(self, exc: OSError) -> OSError | WriteError:
        """A failed write as WriteError; a reader gone from stdout stays BrokenPipeError
        (the command ends quietly)."""
        if self.path == "-" and isinstance(exc, BrokenPipeError):
            return exc
        return WriteError(self.path, f"cannot write: {exc.strerror or exc}")
