"""An output that cannot write must not stop the monitor, nor keep it down (issue 15).

The always-on outputs (alerts on stderr, JSON lines, alerts.xml) write in the capture
thread. A full disk, a quota, a lost permission or a file replaced by something else
must not end a monitor that runs for weeks, nor print a traceback, nor flood the log:

* the first failure is logged in one line naming the output and the error, then at
  most one line every ``LOG_EVERY`` seconds while it lasts, and one when it is over,
  saying how long it lasted and how many alerts that output lost;
* one alert (reason ``output failure``, high priority) tells the other outputs (mail,
  syslog, the pipe) once per outage: the admin hears of it where they look;
* while the output is down its alerts are counted and dropped, and it is tried again
  after a back-off (``RETRY_FIRST`` seconds, doubling up to ``RETRY_MAX``): no system
  call per alert on a full disk, and the output comes back by itself once there is room.

``Outage`` is that policy on its own (the periodic cache save uses it too); ``Guarded``
wraps an output with it. Opening an output (``start``) is not guarded: a file that
cannot be opened at start is the user's to fix, one line and exit code 2, before any
frame is read; only ``NotReady`` (opened, but the disk is full) is an outage like any
other, so that a full disk cannot keep the monitor from starting.

A reader that left a pipe (``ndpmon --json-alerts - | head``) is not a failure: the
BrokenPipeError of stdout or stderr goes on up, and the command ends quietly.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from ndpmon.alerts.action import Action
from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.config.model import Settings
from ndpmon.errors import NdpmonError, WriteError

__all__ = ["Guarded", "Outage", "NotReady", "LOG_EVERY", "RETRY_FIRST", "RETRY_MAX",
           "ALERTS_DROPPED", "describe"]

log = logging.getLogger("ndpmon")

#: While an output stays down, one line is logged at most this often (seconds).
LOG_EVERY = 600.0
#: A failed output is tried again after RETRY_FIRST s, then twice as long each time,
#: up to RETRY_MAX s.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0


class NotReady(WriteError):
    """The output is open, but could not write yet (its header on a full disk): the
    guard counts it as a failure and tries again later, instead of stopping the start."""


def describe(exc: Exception) -> str:
    """One line for a write error: ndpmon's own text, or ``OSError: strerror``."""
    if isinstance(exc, NdpmonError):
        return str(exc)
    return f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"


#: What an outage of an alert output means, in its log line and alert.
ALERTS_DROPPED = "its alerts are dropped until it works again"


class Outage:
    """The failures of one output (``name``): logged, counted, retried with back-off,
    reported once per outage. ``clock`` gives seconds (monotonic); ``loss`` says what
    the outage costs, in the log line and the alert."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic,
                 loss: str = ALERTS_DROPPED) -> None:
        self.name, self.clock, self.loss = name, clock, loss
        self.alerts = loss == ALERTS_DROPPED  # an alert output: its losses are counted
        self.failures = 0  # failed attempts, in all
        self.lost = 0  # alerts that did not reach the output, in all
        self.since: float | None = None  # start of the current outage
        self._lost_now = 0
        self._retry_at = 0.0
        self._delay = RETRY_FIRST
        self._logged_at = 0.0

    @property
    def down(self) -> bool:
        """An outage is going on."""
        return self.since is not None

    def due(self) -> bool:
        """Up, or down long enough to be tried again."""
        return self.since is None or self.clock() >= self._retry_at

    def failed(self, exc: Exception, lost: int = 0) -> bool:
        """An attempt failed (``lost`` alerts with it); True if an outage begins."""
        now = self.clock()
        self.failures += 1
        self.skipped(lost)
        first = self.since is None
        if first:
            self.since, self._delay, self._logged_at = now, RETRY_FIRST, now
            log.error("output %s: %s; %s", self.name, describe(exc), self.loss)
        else:
            self._delay = min(self._delay * 2, RETRY_MAX)
            if now - self._logged_at >= LOG_EVERY:
                self._logged_at = now
                log.error("output %s: still failing after %.0f s: %s (%d alerts lost so "
                          "far)", self.name, now - self.since, describe(exc), self._lost_now)
        self._retry_at = now + self._delay
        return first

    def skipped(self, lost: int = 1) -> None:
        """``lost`` alerts did not reach the output (it is down)."""
        self.lost += lost
        self._lost_now += lost

    def recovered(self) -> None:
        """A write went through: end the outage (logged)."""
        if self.since is None:
            return
        lost = f" ({self._lost_now} alerts were lost to it)" if self.alerts else ""
        log.warning("output %s: works again after %.0f s%s", self.name,
                    self.clock() - self.since, lost)
        self.since, self._lost_now = None, 0

    def message(self, exc: Exception) -> str:
        """The text of the ``output failure`` alert."""
        return f"output failure: {self.name}: {describe(exc)}; {self.loss}"


class Guarded(Action):
    """``action`` with its write failures handled as ``Outage`` says.

    ``name`` says which output it is in the log (``JSON alerts``); ``stdio``: it writes
    on stdout or stderr (a broken pipe there ends the command quietly). The
    ``output failure`` alert waits in ``take_reports`` for the pipeline.
    """

    def __init__(self, action: Action, name: str, stdio: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.action, self.name, self.stdio = action, name, stdio
        self.outage = Outage(name, clock)
        self._batch = 0  # alerts handed to the action since its last flush
        self._last: Alert | None = None  # the latest alert: time and probe of a report
        self._report: Exception | None = None  # an outage began: tell the admin
        self._reports: list[Alert] = []

    @property
    def failures(self) -> int:
        """Failed attempts so far."""
        return self.outage.failures

    def start(self) -> None:
        try:
            self.action.start()
        except NotReady as exc:
            self._failed(exc)

    def notify(self, alert: Alert) -> None:
        self._last = alert
        self._make_report()
        if not self.outage.due():
            self.outage.skipped()
            return
        try:
            self.action.notify(alert)
        except (NdpmonError, OSError) as exc:
            self._failed(exc, 1)
        else:
            self._batch += 1

    def flush(self) -> None:
        batch, self._batch = self._batch, 0
        if not batch:
            return  # nothing new (or the output is down and waits)
        try:
            self.action.flush()
        except (NdpmonError, OSError) as exc:
            self._failed(exc, batch)
            return
        if self.outage.due():  # nothing failed in this batch
            self.outage.recovered()

    def reconfigure(self, settings: Settings) -> None:
        """SIGHUP: the action takes the new settings (if it has any)."""
        reconfigure = getattr(self.action, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(settings)

    def reopen(self) -> None:
        """SIGHUP: the action opens its file again (after a log rotation); a failure is
        an outage like a failed write."""
        reopen = getattr(self.action, "reopen", None)
        if reopen is None:
            return
        try:
            reopen()
        except (NdpmonError, OSError) as exc:
            self._failed(exc)

    def take_reports(self) -> list[Alert]:
        """The ``output failure`` alerts to raise (each once)."""
        reports, self._reports = self._reports, []
        return reports

    def stop(self) -> None:
        try:
            self.action.stop()
        except (NdpmonError, OSError) as exc:
            self._failed(exc, self._batch)
        if self.outage.lost:
            log.error("output %s: %d alerts not written in all (%d failed writes)",
                      self.name, self.outage.lost, self.outage.failures)

    def _failed(self, exc: Exception, lost: int = 0) -> None:
        if self.stdio and isinstance(exc, BrokenPipeError):
            raise exc
        if self.outage.failed(exc, lost):
            self._report = exc
            self._make_report()

    def _make_report(self) -> None:
        """The ``output failure`` alert of an outage that began, at the time and probe
        of the latest alert (after a failure at start: of the next one)."""
        if self._report is None or self._last is None:
            return
        self._reports.append(Alert(self._last.time, self._last.probe, Priority.HIGH,
                                   reasons.OUTPUT_FAILURE, self.outage.message(self._report)))
        self._report = None
