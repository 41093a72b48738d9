"""Alerts on stderr, one line each: what an admin sees running ndpmon in the foreground.

NDPMon printed ``[alerts] Alert "<reason>" raised on probe "<probe>".``; we print the time
(UTC), probe, priority and the message, made printable (ndpmon.files.text: C0 and C1
controls, DEL, U+2028/U+2029 written as ``\\x1b``) so a hostile packet cannot move the
cursor, drive the terminal or forge lines on the admin's terminal.
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

    def notify(self, alert: Alert) -> None:
        out = self.stream or sys.stderr
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alert.time))
        out.write(f"{when} {printable(alert.probe)} {alert.priority.label}: "
                  f"{printable(alert.message.rstrip())}\n")
