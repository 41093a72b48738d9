"""An output that cannot write must not stop the monitor (``--json-alerts /dev/full``).

The always-on outputs (alerts on stderr, JSON lines, alerts.xml) write in the capture
thread. A full disk, a lost permission or a file replaced by something else must not end
a monitor that runs for weeks, nor print a traceback: the failure is logged in one line
naming the output and the error, the first time and then every ``LOG_EVERY``-th time
with the count, and the run goes on (the other outputs still get every alert). Opening
an output (``start``) is not guarded: a file that cannot be opened at start is the
user's to fix, one line and exit code 2, before any frame is read.

A reader that left a pipe (``ndpmon --json-alerts - | head``) is not a failure: the
BrokenPipeError of stdout or stderr goes on up, and the command ends quietly.
"""

from __future__ import annotations

import logging

from ndpmon.alerts.action import Action
from ndpmon.checks.alert import Alert
from ndpmon.errors import NdpmonError

__all__ = ["Guarded", "LOG_EVERY"]

log = logging.getLogger("ndpmon")

#: A failing output is logged the first time, then every LOG_EVERY-th time.
LOG_EVERY = 1000


class Guarded(Action):
    """``action`` with its write failures logged and counted instead of raised.

    ``name`` says which output it is in the log (``JSON alerts``); ``stdio``: it writes
    on stdout or stderr (a broken pipe there ends the command quietly).
    """

    def __init__(self, action: Action, name: str, stdio: bool = False) -> None:
        self.action, self.name, self.stdio = action, name, stdio
        self.failures = 0

    def start(self) -> None:
        self.action.start()

    def notify(self, alert: Alert) -> None:
        try:
            self.action.notify(alert)
        except (NdpmonError, OSError) as exc:
            self._failed(exc)

    def flush(self) -> None:
        try:
            self.action.flush()
        except (NdpmonError, OSError) as exc:
            self._failed(exc)

    def stop(self) -> None:
        try:
            self.action.stop()
        except (NdpmonError, OSError) as exc:
            self._failed(exc)
        if self.failures > 1:
            log.error("output %s: %d failed writes in all", self.name, self.failures)

    def _failed(self, exc: Exception) -> None:
        if self.stdio and isinstance(exc, BrokenPipeError):
            raise exc
        self.failures += 1
        if self.failures % LOG_EVERY == 1:
            why = str(exc) if isinstance(exc, NdpmonError) else \
                f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
            log.error("output %s: %s (%d failures)", self.name, why, self.failures)
