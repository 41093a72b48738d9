"""Alerts on stderr, one line each: what an admin sees running ndpmon in the foreground.

NDPMon printed ``[alerts] Alert "<reason>" raised on probe "<probe>".``; we print the time
(UTC), probe, priority and the message, with control characters made visible so a hostile
packet cannot move the cursor or forge lines on the admin's terminal.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ndpmon.checks.alert import Alert
from ndpmon.alerts.action import Action

__all__ = ["Console", "printable"]

_CONTROL = {c: f"\\x{c:02x}" for c in list(range(32)) + [127]}


def printable(text: str) -> str:
    """``text`` with every control character written as ``\\xNN``."""
    return text.translate(_CONTROL)


class Console(Action):
    """Write each alert as one line to a text stream (stderr by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def notify(self, alert: Alert) -> None:
        out = self.stream or sys.stderr
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alert.time))
        out.write(f"{when} {alert.probe} {alert.priority.label}: "
                  f"{printable(alert.message.rstrip())}\n")
