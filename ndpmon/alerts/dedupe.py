"""What delivery holds back: repeats of one alert, and floods of one reason.

Two kinds of windows, both opened by the first alert and closed ``window`` seconds
later (on the monotonic clock the caller passes in):

- per (probe, reason, message): the same alert again is held back and counted; at
  close, one summary ``<message> (repeated N more times in 60 s)``;
- per (probe, reason): at most ``burst`` different alerts go out; the others are held
  back, and at close one summary ``<reason>: N more alerts held back in 60 s (the last:
  <message>)`` (a flood from random sources gives every alert its own message).

Summaries go to ``emit`` as they are made. Both tables are bounded (oldest closed
first), so a flood of distinct messages costs bounded memory. Not thread-safe: the
dispatcher calls it under its lock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from ndpmon.checks.alert import Alert

__all__ = ["Dedupe", "MAX_WINDOWS", "MAX_KINDS"]

MAX_WINDOWS = 10_000
MAX_KINDS = 1_000


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
        return self.first._replace(message=text, time=self.last_time)


@dataclass
class _Kind:
    """A (probe, reason) in the current window: alerts sent, alerts held back."""

    until: float
    sent: int = 0
    held: int = 0
    last: Alert | None = None

    def summary(self, window: float) -> Alert:
        last = self.last
        text = (f"{last.reason}: {self.held} more alert{'' if self.held == 1 else 's'} "
                f"held back in {window:g} s (the last: {last.message.rstrip()})")
        return last._replace(message=text)


class Dedupe:
    """The open windows; ``held_back`` counts every alert held back."""

    def __init__(self, window: float, burst: int, emit: Callable[[Alert], None]) -> None:
        self.window, self.burst, self.emit = window, burst, emit
        self.windows: OrderedDict[tuple[str, str, str], _Window] = OrderedDict()
        self.kinds: OrderedDict[tuple[str, str], _Kind] = OrderedDict()
        self.held_back = 0

    def configure(self, window: float, burst: int) -> None:
        """New settings (SIGHUP); a new window length closes every open window."""
        if window != self.window:
            self.close_all()
        self.window, self.burst = window, burst

    def held(self, alert: Alert, now: float) -> bool:
        """True when ``alert`` is held back (a repeat, or over its reason's burst)."""
        if self.window <= 0:
            return False
        key = (alert.probe, alert.reason, alert.message)
        open_ = self.windows.get(key)
        if open_ is not None and now < open_.until:
            open_.held += 1
            open_.last_time = alert.time
            self.held_back += 1
            return True
        if open_ is not None:
            self._close(key)
        elif len(self.windows) >= MAX_WINDOWS:
            self._close(next(iter(self.windows)))
        if self._over_burst(alert, now):
            return True
        self.windows[key] = _Window(alert, now + self.window, last_time=alert.time)
        return False

    def forget(self, alert: Alert) -> None:
        """``alert`` opened a window but could not be queued: its repeat is news."""
        key = (alert.probe, alert.reason, alert.message)
        opened = self.windows.get(key)
        if opened is not None and opened.first is alert:
            del self.windows[key]

    def _over_burst(self, alert: Alert, now: float) -> bool:
        """True when ``burst`` alerts of the alert's reason went out in this window;
        the alert is then counted for the reason's summary."""
        key = (alert.probe, alert.reason)
        kind = self.kinds.get(key)
        if kind is not None and now >= kind.until:
            self._close_kind(key)
            kind = None
        if kind is None:
            if len(self.kinds) >= MAX_KINDS:
                self._close_kind(next(iter(self.kinds)))
            kind = self.kinds[key] = _Kind(now + self.window)
        if kind.sent < self.burst:
            kind.sent += 1
            return False
        kind.held += 1
        kind.last = alert
        self.held_back += 1
        return True

    def close_expired(self, now: float) -> None:
        """Close the windows whose time is up. Both tables are in opening order and
        all their windows have one length, so the first still open ends each scan."""
        for table, close in ((self.windows, self._close), (self.kinds, self._close_kind)):
            while table:
                key, first = next(iter(table.items()))
                if first.until > now:
                    break
                close(key)

    def close_all(self) -> None:
        """Close every window: at stop, or when the window length changes."""
        for key in list(self.windows):
            self._close(key)
        for key in list(self.kinds):
            self._close_kind(key)

    def _close(self, key: tuple[str, str, str]) -> None:
        closed = self.windows.pop(key)
        if closed.held:
            self.emit(closed.summary(self.window))

    def _close_kind(self, key: tuple[str, str]) -> None:
        closed = self.kinds.pop(key)
        if closed.held:
            self.emit(closed.summary(self.window))
