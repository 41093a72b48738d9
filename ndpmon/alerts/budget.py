"""How many alerts of one reason go out in a window, and the summary of the others.

A flood from random sources gives every alert its own message, so only a budget per
reason bounds what a sink gets. A budget shared by every source lets twenty cheap RAs
from made-up routers use it up before the real rogue's RA comes: so the budget knows
sources. Per (probe, reason) a window opens with its first alert and closes ``window``
seconds later (on the clock the caller passes in); in it:

- the first alert from each source goes out, whatever the others did: a new rogue router
  or prefix is never held back (a source is the alert's (MAC, address) pair, or for an
  alert about a prefix, the prefix); at most ``new_sources`` sources per window get
  this, so a flood of random sources is bounded too;
- every other alert (a source's next ones, or a source after the first ``new_sources``)
  takes one of the reason's ``burst`` alerts, shared;
- the rest is held back, counted per source; when the window closes, one summary names
  the sources with the most alerts, each with its count, how many more there were, and
  the first and last alerts held back (``(the first: ...; the last: ...)``).

Memory: the sources of all windows sit in one table of at most ``MAX_SOURCES`` entries,
least recently seen dropped first (its alerts stay counted as "more sources"); a dropped
source seen again in the same window counts as a second source, and its next alert
takes the shared budget unless ``new_sources`` still has room. The reasons table is
bounded by ``MAX_KINDS`` (the oldest closed first, with its summary).

Pure: no I/O, time passed in, summaries handed to ``emit``; not thread-safe (the
dispatcher holds its lock). One instance per sink: ndpmon.alerts.dedupe puts this behind
the per-message repeats for mail, syslog and the pipe.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable

from ndpmon.checks.alert import Alert
from ndpmon.codec.addr import ip_short, mac_str

__all__ = ["Budget", "source_of", "source_label", "MAX_KINDS", "MAX_SOURCES",
           "NEW_SOURCES", "TOP_SOURCES"]

MAX_KINDS = 1_000      # (probe, reason) windows open at most
MAX_SOURCES = 4_096    # sources remembered at most, across all windows
NEW_SOURCES = 100      # sources per reason and window whose first alert always goes out
TOP_SOURCES = 5        # sources a summary names

Source = Hashable


def source_of(alert: Alert) -> Source | None:
    """Whom an alert is about: the prefix for a prefix alert, else (MAC, address)."""
    prefix = alert.extra.get("prefix")
    if isinstance(prefix, bytes):
        return ("prefix", prefix, alert.extra.get("prefixlen", 64))
    if alert.mac is None and alert.ipv6 is None:
        return None
    return (alert.mac, alert.ipv6)


def source_label(source: Source) -> str:
    """A source as a summary names it: ``2001:db8::/64`` or ``0:66:66:66:66:66 fe80::666``."""
    if source[0] == "prefix":
        return f"{ip_short(source[1])}/{source[2]}"
    mac, address = source
    return " ".join(text for text in (mac_str(mac) if mac else None,
                                      ip_short(address) if address else None) if text)


class _Kind:
    """A (probe, reason) in its window: what went out, what was held back, by source.

    ``sources`` maps each source to its alert count, in the order they came; ``firsts``
    the sources whose first alert went out free to that alert (at most ``new_sources``):
    plain values rather than an object per source, as a flood adds a source per alert.
    """

    __slots__ = ("until", "sent", "admitted", "held", "first", "last", "sources",
                 "firsts", "dropped", "anonymous")

    def __init__(self, until: float) -> None:
        self.until = until
        self.sent = 0          # alerts sent from the shared burst
        self.admitted = 0      # sources whose first alert went out free
        self.held = 0
        self.first: Alert | None = None  # the first alert held back
        self.last: Alert | None = None
        self.sources: dict[Source, int] = {}
        self.firsts: dict[Source, Alert] = {}
        self.dropped = 0       # sources dropped from the table (memory bound)
        self.anonymous = 0     # alerts with no source

    def summary(self, window: float, top: int) -> Alert:
        last = self.last
        assert last is not None
        text = (f"{last.reason}: {self.held} more alert{'' if self.held == 1 else 's'} "
                f"held back in {window:g} s{self._by_source(top)} ({self._examples()})")
        return last._replace(message=text, extra={**last.extra, "held_back": self.held})

    def _examples(self) -> str:
        """``the first: <message>; the last: <message>`` (one alert: ``the last: ...``)."""
        assert self.first is not None and self.last is not None
        last = f"the last: {self.last.message.rstrip()}"
        if self.first is self.last:
            return last
        return f"the first: {self.first.message.rstrip()}; {last}"

    def _by_source(self, top: int) -> str:
        """``; by source: A x5, B x1 and 7 more sources`` (empty without sources)."""
        ranked = sorted(self.sources.items(), key=lambda item: -item[1])
        shown = [f"{source_label(source)} x{count}" for source, count in ranked[:top]]
        more = len(ranked) - len(shown) + self.dropped
        if more:
            shown.append(f"{more} more source{'' if more == 1 else 's'}")
        if self.anonymous:
            shown.append(f"{self.anonymous} without a source")
        if not shown:
            return ""
        text = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]
        return "; by source: " + text


class Budget:
    """The reason windows of one sink; ``held_back`` counts every alert held back.

    ``sources`` is the table of the sources of every window, (window, source) least
    recently seen first (MAX_SOURCES at most)."""

    def __init__(self, window: float, burst: int, emit: Callable[[Alert], None], *,
                 new_sources: int | None = None, top: int = TOP_SOURCES) -> None:
        self.window, self.burst, self.emit = window, burst, emit
        self.new_sources = NEW_SOURCES if new_sources is None else new_sources
        self.top = top
        self.kinds: OrderedDict[tuple[str, str], _Kind] = OrderedDict()
        self.sources: OrderedDict[tuple[_Kind, Source], None] = OrderedDict()
        self.held_back = 0

    def admit(self, alert: Alert, now: float) -> bool:
        """True when ``alert`` goes out; False when it is held back and counted.

        The path of every alert of a flood, so ``source_of``, the window lookup and the
        source table are inline."""
        kind = self.kinds.get((alert.probe, alert.reason))
        if kind is None or now >= kind.until:
            kind = self._open(alert, now)
        extra = alert.extra
        if "prefix" in extra and isinstance(extra["prefix"], bytes):
            source: Source | None = ("prefix", extra["prefix"], extra.get("prefixlen", 64))
        elif alert.mac is None and alert.ipv6 is None:
            source = None
        else:
            source = (alert.mac, alert.ipv6)
        if source is None:
            kind.anonymous += 1
        else:
            counts = kind.sources
            count = counts.get(source)
            if count is not None:  # a source's next alert: the shared burst
                counts[source] = count + 1
                self.sources.move_to_end((kind, source))
            else:
                table = self.sources
                if len(table) >= MAX_SOURCES:
                    self._drop_oldest()
                counts[source] = 1
                table[(kind, source)] = None
                if kind.admitted < self.new_sources:
                    kind.admitted += 1
                    kind.firsts[source] = alert
                    return True
        if kind.sent < self.burst:
            kind.sent += 1
            return True
        kind.held += 1
        if kind.first is None:
            kind.first = alert
        kind.last = alert
        self.held_back += 1
        return False

    def forget(self, alert: Alert) -> None:
        """``alert`` went out free as its source's first but could not be delivered:
        the source's next alert is its first again."""
        source = source_of(alert)
        kind = self.kinds.get((alert.probe, alert.reason))
        if kind is None or source is None:
            return
        if kind.firsts.get(source) is alert and kind.sources.get(source) == 1:
            del kind.sources[source], kind.firsts[source]
            del self.sources[(kind, source)]
            kind.admitted -= 1

    def _open(self, alert: Alert, now: float) -> _Kind:
        """A new window for the alert's reason (its old one closed if its time is up)."""
        key = (alert.probe, alert.reason)
        if key in self.kinds:
            self._close(key)
        elif len(self.kinds) >= MAX_KINDS:
            self._close(next(iter(self.kinds)))
        kind = self.kinds[key] = _Kind(now + self.window)
        return kind

    def _drop_oldest(self) -> None:
        """The source table is full: the least recently seen source leaves it (its
        alerts stay counted as "more sources")."""
        (kind, old), _ = self.sources.popitem(last=False)
        del kind.sources[old]
        if kind.firsts:
            kind.firsts.pop(old, None)
        kind.dropped += 1

    def configure(self, window: float, burst: int) -> None:
        """New settings (SIGHUP); a new window length closes every open window."""
        if window != self.window:
            self.close_all()
        self.window, self.burst = window, burst

    def close_expired(self, now: float) -> None:
        """Close the windows whose time is up (in opening order, all of one length, so
        the first still open ends the scan)."""
        while self.kinds:
            key, kind = next(iter(self.kinds.items()))
            if kind.until > now:
                break
            self._close(key)

    def close_all(self) -> None:
        """Close every window: at stop, or when the window length changes."""
        for key in list(self.kinds):
            self._close(key)

    def _close(self, key: tuple[str, str]) -> None:
        kind = self.kinds.pop(key)
        table = self.sources
        for source in kind.sources:
            del table[(kind, source)]
        if kind.held:
            self.emit(kind.summary(self.window, self.top))
