"""Per-probe memory of the check for undeclared ND proxies (checks/proxy.py).

Which targets each MAC advertised on behalf of others, and when it was last reported;
part of the probe's state (state/probe.py). Bounded: at most ``MAX_MACS`` advertisers
(the least recently active is forgotten first) and ``MAX_TARGETS`` targets each.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["ProxyWatch", "PROXY_TARGETS", "REPORT_EVERY", "MAX_MACS", "MAX_TARGETS"]

#: A MAC advertising this many addresses that are neither its source nor its own is a
#: proxy (or a spoofer); one address is usual (a router's subnet anycast, RFC 4861 §7.2.7).
PROXY_TARGETS = 4
#: After an alert, the same MAC is reported again at most this often (seconds).
REPORT_EVERY = 3600.0
MAX_MACS = 4096
MAX_TARGETS = 16


class _Seen:
    __slots__ = ("targets", "reported", "last_report")

    def __init__(self) -> None:
        self.targets: dict[bytes, None] = {}
        self.reported = 0
        self.last_report: float | None = None


class ProxyWatch:
    """The targets each MAC advertised on behalf of others, and when it was reported."""

    def __init__(self) -> None:
        self.macs: OrderedDict[bytes, _Seen] = OrderedDict()

    def see(self, mac: bytes, target: bytes, now: float) -> tuple[bytes, ...] | None:
        """Record that ``mac`` advertised ``target``; return its targets when an alert
        is due (the threshold is reached, or new targets after ``REPORT_EVERY``)."""
        seen = self.macs.pop(mac, None) or _Seen()
        self.macs[mac] = seen
        while len(self.macs) > MAX_MACS:
            self.macs.popitem(last=False)
        if target not in seen.targets and len(seen.targets) < MAX_TARGETS:
            seen.targets[target] = None
        count = len(seen.targets)
        if count < PROXY_TARGETS or count == seen.reported:
            return None
        if seen.last_report is not None and now - seen.last_report < REPORT_EVERY:
            return None
        seen.reported, seen.last_report = count, now
        return tuple(seen.targets)
