"""Per-probe counters for the ND flood check (checks/rates.py): one window of counts.

Part of the probe's state (state/probe.py; ``configure`` takes new limits on SIGHUP).
Every ND message is counted, so the common case is one comparison and one dict update
(done by the check itself). Only once a type's count in the window has passed half its
limit (ordinary traffic never gets there) are its messages described (``Senders``):
what a flood alert then says about the senders. Once the alert is raised, nothing more
is recorded for that type until the next window.
"""

from __future__ import annotations

from ndpmon.config.model import Limits
from ndpmon.codec.message import NA, NS, RA, REDIRECT, RS

__all__ = ["RateWatch", "Senders", "MAX_SOURCES"]

#: Source MACs counted per type and window; later new ones are not. The default limits
#: alert after at most 501 messages counted (NA and NS: 100/s over 10 s, from 500 on).
MAX_SOURCES = 1024
TOP = 3


class Senders:
    """The messages of one type from half the limit on, in bounded memory: how many
    came from each source MAC (at most MAX_SOURCES of them), and the longest prefix that
    all their IPv6 sources, and all their targets, share (the first address and the
    prefix length, as integers)."""

    __slots__ = ("macs", "src", "src_bits", "target", "target_bits")

    def __init__(self) -> None:
        self.macs: dict[bytes, int] = {}
        self.src = self.target = -1  # -1: none seen yet
        self.src_bits = self.target_bits = 128

    def see(self, mac: bytes, src: bytes, target: bytes | None) -> None:
        """Count one message from ``mac`` and ``src`` (about ``target``: NS, NA, Redirect)."""
        macs = self.macs
        if mac in macs or len(macs) < MAX_SOURCES:
            macs[mac] = macs.get(mac, 0) + 1
        self.src, self.src_bits = _common(self.src, self.src_bits, src)
        if target is not None:
            self.target, self.target_bits = _common(self.target, self.target_bits, target)

    def top(self) -> list[tuple[bytes, int]]:
        """The TOP MACs that sent the most (ties: the lower MAC first)."""
        return sorted(self.macs.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]


def _common(first: int, bits: int, addr: bytes) -> tuple[int, int]:
    """The first address and the prefix length it shares with every address so far."""
    value = int.from_bytes(addr, "big")
    if first < 0:
        return value, 128
    return first, min(bits, 128 - (first ^ value).bit_length())


class RateWatch:
    """The counts of the current window of one probe."""

    def __init__(self, limits: Limits) -> None:
        self.configure(limits)
        self.start = self.end = 0.0  # the first message opens a window
        self.counts: dict[int, int] = {}
        self.senders: dict[int, Senders] = {}
        self.alerted: set[int] = set()

    def configure(self, limits: Limits) -> None:
        """Take (new) limits: the per-window maximum of each type (0 = unchecked)."""
        self.window = limits.rate_window
        rates = {RA: limits.ra_rate, RS: limits.rs_rate, NS: limits.ns_rate,
                 NA: limits.na_rate, REDIRECT: limits.redirect_rate}
        self.rates = rates
        self.maximum = {t: int(r * self.window) for t, r in rates.items() if r}
        #: the count from which senders are described (a type without limit: never, so
        #: over_half only sees types that have one)
        self.half = {t: int(r * self.window) // 2 if r else float("inf")
                     for t, r in rates.items()}

    def open(self, now: float) -> None:
        """Start a new window at ``now``."""
        self.start, self.end = now, now + self.window
        self.counts, self.senders, self.alerted = {}, {}, set()

    def over_half(self, icmp_type: int, count: int, mac: bytes, src: bytes,
                  target: bytes | None) -> Senders | None:
        """Describe a message whose type's ``count`` passed half the limit (watch_rates
        counts every message itself); its type's Senders if this one passes the limit,
        once per type and window."""
        if icmp_type in self.alerted:
            return None
        senders = self.senders.get(icmp_type)
        if senders is None:
            senders = self.senders[icmp_type] = Senders()
        senders.see(mac, src, target)
        if count <= self.maximum[icmp_type]:
            return None
        self.alerted.add(icmp_type)
        return senders
