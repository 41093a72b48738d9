"""Everything the checks know about one probe (one link), with one ``configure``.

``ProbeState`` turns the probe's configured routers into dict and set indices once (the
original scanned lists for every packet) and holds the per-probe memories: the
neighbour cache, the DAD table, the fragment table, the flood counters and the proxy
watch. ``configure(probe, settings)`` (at start and on SIGHUP) sets what comes from the
config: the routers, the cache limits and the rate windows; what was seen stays. A
probe named for a VLAN (ndpmon.config.vlans) is a state like any other: the engine feeds
it that VLAN's frames.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import compress
from operator import is_not
from typing import Any, TypeVar

from ndpmon.codec.addr import PrefixTable, prefix_bits
from ndpmon.config import vlans
from ndpmon.config.model import Prefix, Probe, Route, Router, Settings
from ndpmon.state.fragments import FragmentTable
from ndpmon.state.neighbors import NeighborCache
from ndpmon.state.proxies import ProxyWatch
from ndpmon.state.rates import RateWatch

__all__ = ["ProbeState", "MAX_DAD"]

#: At most this many DAD probes are remembered per probe; the oldest is dropped first.
MAX_DAD = 4096


class ProbeState:
    """The state of one probe: config-derived indices and what the checks remember."""

    def __init__(self, probe: Probe, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.name = probe.name
        #: a VLAN probe's (``eth0.105``) alert message prefix, ``VLAN105: ``; else None
        self.label = vlans.label(probe.name) if probe.type == "interface" else None
        self.neighbors = NeighborCache(settings.limits.max_neighbors,
                                       settings.limits.max_addresses)
        #: DAD target -> (MAC that probed for it, time of the probe)
        self.dad: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()
        self.fragments = FragmentTable()
        self.rates = RateWatch(settings.limits)
        self.proxy_watch = ProxyWatch()  # checks/proxy.py
        #: ND messages handled on this probe (the metrics' frames per probe)
        self.messages = 0
        #: the checks' per-packet context (ndpmon.checks.context.Context), made by the
        #: first run of the checks and reused for every packet of this probe
        self.context: Any = None
        #: learning mode only (ndpmon.state.learn.Learner, set by the engine)
        self.learner: Any = None
        self.configure(probe, settings)

    def configure(self, probe: Probe, settings: Settings) -> None:
        """Take the probe's (new) config: its routers, the limits of the neighbour cache
        and the windows of the flood counters. The neighbours and counts stay."""
        limits = settings.limits
        self.probe = probe
        self.set_routers(probe.routers)
        self.neighbors.max_neighbors = limits.max_neighbors
        self.neighbors.max_addresses = limits.max_addresses
        self.rates.configure(limits)

    def set_routers(self, routers: tuple[Router, ...]) -> None:
        """(Re)build the router indices (at start, and when learning adds a router)."""
        self.routers = routers
        self.router_by_pair = {(r.mac, r.lla): r for r in routers}
        self.router_macs = {r.mac for r in routers}
        self.router_llas = {r.lla for r in routers}
        self.routers_by_mac: dict[bytes, list[Router]] = {}
        for r in routers:
            self.routers_by_mac.setdefault(r.mac, []).append(r)
        #: the prefixes the routers advertise (RFC 4861 §6.3.4: on-link)
        self.onlink = PrefixTable((p.address, p.length) for r in routers for p in r.prefixes)
        #: per (MAC, LLA) of ``router_by_pair``: its prefixes and routes by (length,
        #: bits), so that the RA check finds an option's entry without a scan
        pairs = self.router_by_pair.items()
        self.prefix_index = {pair: _by_prefix(r.prefixes) for pair, r in pairs}
        self.route_index = {pair: _by_prefix(r.routes) for pair, r in pairs}

    def learned(self, changes: list[tuple[Any, Router]]) -> None:
        """The learner changed some routers (``changes``: (before or None, after), in
        order): take its routers and update the indices for those alone. ``set_routers``
        would rebuild them all, O(routers + prefixes) per change: quadratic in a flood."""
        if not changes:
            return
        self.routers = self.learner.routers
        for old, new in changes:
            pair = (new.mac, new.lla)
            if old is None or self.router_by_pair.get(pair) is old:
                self.router_by_pair[pair] = new
                _reindex(self.prefix_index, pair, old and old.prefixes, new.prefixes)
                _reindex(self.route_index, pair, old and old.routes, new.routes)
            self.router_macs.add(new.mac)
            self.router_llas.add(new.lla)
            same = self.routers_by_mac.setdefault(new.mac, [])
            at = next((i for i, r in enumerate(same) if r is old), None)
            if at is None:
                same.append(new)
            else:
                same[at] = new
            for prefix in new.prefixes[len(old.prefixes) if old is not None else 0:]:
                self.onlink.add(prefix.address, prefix.length)  # learning only appends

    def is_onlink(self, addr: bytes) -> bool:
        """Is ``addr`` inside a prefix that a router of this probe advertises?"""
        return addr in self.onlink

    def known_prefix(self, router: Router, length: int, addr: bytes) -> Prefix | None:
        """The first of ``router``'s prefixes of ``length`` bits that holds ``addr``."""
        return _find(self.prefix_index, self.router_by_pair, router, router.prefixes,
                     length, addr)

    def known_route(self, router: Router, length: int, addr: bytes) -> Route | None:
        """The first of ``router``'s routes of ``length`` bits that holds ``addr``."""
        return _find(self.route_index, self.router_by_pair, router, router.routes,
                     length, addr)


Entry = TypeVar("Entry", Prefix, Route)


def _key(entry: Prefix | Route) -> tuple[int, int]:
    return entry.length, prefix_bits(entry.address, entry.length)


def _by_prefix(entries: tuple[Entry, ...]) -> dict[tuple[int, int], Entry]:
    index: dict[tuple[int, int], Entry] = {}
    for entry in entries:
        index.setdefault(_key(entry), entry)  # the first one, as a scan finds it
    return index


def _reindex(table: dict, pair: tuple[bytes, bytes], before: tuple | None,
             after: tuple) -> None:
    """Learning changed a router's entries: appended ones, and ones replaced in place
    (same key: learning keeps the address and length)."""
    index = table.setdefault(pair, {})
    before = before or ()
    for at in compress(range(len(before)), map(is_not, before, after)):  # C loops
        old, new = before[at], after[at]
        if index.get(_key(new)) is old:
            index[_key(new)] = new
    for new in after[len(before):]:
        index.setdefault(_key(new), new)


def _find(table: dict, by_pair: dict, router: Router, entries: tuple[Entry, ...],
          length: int, addr: bytes) -> Entry | None:
    if length > 128:
        return None
    pair = (router.mac, router.lla)
    if by_pair.get(pair) is router:
        return table[pair].get((length, prefix_bits(addr, length)))
    return next((e for e in entries if e.length == length  # not this probe's: scan
                 and prefix_bits(e.address, length) == prefix_bits(addr, length)), None)
