"""Alerts on stderr, one line each: what an admin sees running ndpmon in the foreground.

NDPMon printed ``[alerts] Alert "<reason>" raised on probe "<probe>".``; we print the time
(UTC), probe, priority and the message, made printable (ndpmon.files.text: C0 and C1
controls, DEL, U+2028/U+2029 written as ``\\x1b``) so a hostile packet cannot move the
cursor, drive the terminal or forge lines on the admin's terminal.

The lines of a batch of frames are written at its ``flush``, in one write: stderr is
line-buffered, so a line per alert was a system call per alert (issue 16).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ndpmon.alerts.action import Action
from ndpmon.checks.alert import Alert
from ndpmon.files.text import printable

__all__ = ["Console"]


class Console(Action):
    """Write each alert as one line to a text stream (stderr by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lines: list[str] = []

    def notify(self, alert: Alert) -> None:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alert.time))
        self._lines.append(f"{when} {printable(alert.probe)} {alert.priority.label}: "
                           f"{printable(alert.message.rstrip())}\n")

    def flush(self) -> None:
        """Write the batch's lines in one write (dropped if it fails: the guard counts
        them)."""
        lines, self._lines = self._lines, []
        if lines:
            out = self.stream or sys.stderr
            out.write("".join(lines))
            out.flush()

    def stop(self) -> None:
        self.flush()
