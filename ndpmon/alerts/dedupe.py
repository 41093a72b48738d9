"""What delivery holds back: repeats of one alert, and floods of one reason.

- per (probe, reason, message): the same alert again within ``window`` seconds of the
  first is held back and counted; at close, one summary ``<message> (repeated N more
  times in 60 s)``;
- per (probe, reason): the budget of ndpmon.alerts.budget: the first alert of each
  source goes out, the others share ``burst`` per window, and at close one summary
  counts what was held back, by source.

Windows open with their first alert and close ``window`` seconds later, on the clock the
caller passes in. Summaries go to ``emit`` as they are made. Every table is bounded
(oldest closed first), so a flood of distinct messages or sources costs bounded memory.
Not thread-safe: the dispatcher calls it under its lock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from ndpmon.alerts.budget import Budget
from ndpmon.checks.alert import Alert

__all__ = ["Dedupe", "MAX_WINDOWS"]

MAX_WINDOWS = 10_000


@dataclass
class _Window:
    """An open dedupe window: the first alert, when it closes, what was held back."""

    first: Alert
    until: float
    held: int = 0
    last_time: float = 0.0

    def summary(self, window: float) -> Alert:
        text = (f"{self.first.message.rstrip()} "
                f"(repeated {self.held} more times in {window:g} s)")
        return self.first._replace(message=text, time=self.last_time,
                                   extra={**self.first.extra, "repeated": self.held})


class Dedupe:
    """The open windows; ``held_back`` counts every alert held back."""

    def __init__(self, window: float, burst: int, emit: Callable[[Alert], None]) -> None:
        self.window, self.emit = window, emit
        self.windows: OrderedDict[tuple[str, str, str], _Window] = OrderedDict()
        self.budget = Budget(window, burst, emit)
        self._repeats = 0

    @property
    def held_back(self) -> int:
        """Alerts held back: repeats, and those over their reason's budget."""
        return self._repeats + self.budget.held_back

    def configure(self, window: float, burst: int) -> None:
        """New settings (SIGHUP); a new window length closes every open window."""
        if window != self.window:
            self.close_all()
        self.window = window
        self.budget.configure(window, burst)

    def held(self, alert: Alert, now: float) -> bool:
        """True when ``alert`` is held back (a repeat, or over its reason's budget)."""
        if self.window <= 0:
            return False
        key = (alert.probe, alert.reason, alert.message)
        open_ = self.windows.get(key)
        if open_ is not None and now < open_.until:
            open_.held += 1
            open_.last_time = alert.time
            self._repeats += 1
            return True
        if open_ is not None:
            self._close(key)
        elif len(self.windows) >= MAX_WINDOWS:
            self._close(next(iter(self.windows)))
        if not self.budget.admit(alert, now):
            return True
        self.windows[key] = _Window(alert, now + self.window, last_time=alert.time)
        return False

    def forget(self, alert: Alert) -> None:
        """``alert`` opened a window but could not be queued: its repeat is news, and
        so is its source."""
        key = (alert.probe, alert.reason, alert.message)
        opened = self.windows.get(key)
        if opened is not None and opened.first is alert:
            del self.windows[key]
        self.budget.forget(alert)

    def close_expired(self, now: float) -> None:
        """Close the windows whose time is up. The table is in opening order and all
        its windows have one length, so the first still open ends the scan."""
        while self.windows:
            key, first = next(iter(self.windows.items()))
            if first.until > now:
                break
            self._close(key)
        self.budget.close_expired(now)

    def close_all(self) -> None:
        """Close every window: at stop, or when the window length changes."""
        for key in list(self.windows):
            self._close(key)
        self.budget.close_all()

    def _close(self, key: tuple[str, str, str]) -> None:
        closed = self.windows.pop(key)
        if closed.held:
            self.emit(closed.summary(self.window))
