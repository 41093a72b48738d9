"""Per-probe counters for the ND flood check (checks/rates.py): one window of counts.

Part of the probe's state (state/probe.py; ``configure`` takes new limits on SIGHUP).
Every ND message is counted, so the common case is one comparison and one dict update
(done by the check itself): sources are counted only once a type's count in the
window has passed half its limit (ordinary traffic never gets there), which is what a
flood alert then names.
"""

from __future__ import annotations

from ndpmon.config.model import Limits
from ndpmon.codec.message import NA, NS, RA, REDIRECT, RS

__all__ = ["RateWatch", "MAX_SOURCES"]

MAX_SOURCES = 64
TOP = 3


class RateWatch:
    """The counts of the current window of one probe."""

    def __init__(self, limits: Limits) -> None:
        self.configure(limits)
        self.start = self.end = 0.0  # the first message opens a window
        self.counts: dict[int, int] = {}
        self.sources: dict[int, dict[bytes, int]] = {}
        self.alerted: set[int] = set()

    def configure(self, limits: Limits) -> None:
        """Take (new) limits: the per-window maximum of each type (0 = unchecked)."""
        self.window = limits.rate_window
        rates = {RA: limits.ra_rate, RS: limits.rs_rate, NS: limits.ns_rate,
                 NA: limits.na_rate, REDIRECT: limits.redirect_rate}
        self.rates = rates
        self.maximum = {t: int(r * self.window) for t, r in rates.items() if r}
        #: the count from which sources are counted (a type without limit: never, so
        #: over_half only sees types that have one)
        self.half = {t: int(r * self.window) // 2 if r else float("inf")
                     for t, r in rates.items()}

    def open(self, now: float) -> None:
        """Start a new window at ``now``."""
        self.start, self.end = now, now + self.window
        self.counts, self.sources, self.alerted = {}, {}, set()

    def over_half(self, icmp_type: int, mac: bytes, count: int) -> int | None:
        """Count ``mac`` for a message whose type's ``count`` passed half the limit
        (watch_rates counts every message itself); the count if this one passes the
        limit, once per type and window."""
        sources = self.sources.setdefault(icmp_type, {})
        if mac in sources or len(sources) < MAX_SOURCES:
            sources[mac] = sources.get(mac, 0) + 1
        if count <= self.maximum[icmp_type] or icmp_type in self.alerted:
            return None
        self.alerted.add(icmp_type)
        return count

    def top(self, icmp_type: int) -> list[tuple[bytes, int]]:
        counts = self.sources.get(icmp_type, {})
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
