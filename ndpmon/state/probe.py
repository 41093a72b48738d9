"""Everything the checks know about one probe (one link), with one ``configure``.

``ProbeState`` turns the probe's configured routers into dict and set indices once (the
original scanned lists for every packet) and holds the per-probe memories: the
neighbour cache, the DAD table, the fragment table, the flood counters and the proxy
watch. ``configure(probe, settings)`` (at start and on SIGHUP) sets what comes from the
config: the routers, the cache limits and the rate windows; what was seen stays.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ndpmon.codec.addr import PrefixTable
from ndpmon.config.model import Probe, Router, Settings
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
        self.neighbors = NeighborCache(settings.limits.max_neighbors,
                                       settings.limits.max_addresses)
        #: DAD target -> (MAC that probed for it, time of the probe)
        self.dad: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()
        self.fragments = FragmentTable()
        self.rates = RateWatch(settings.limits)
        self.proxy_watch = ProxyWatch()  # checks/proxy.py
        #: the checks' per-packet context (ndpmon.checks.context.Context), made by the
        #: first run of the checks and reused for every packet of this probe
        self.context: Any = None
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

    def is_onlink(self, addr: bytes) -> bool:
        """Is ``addr`` inside a prefix that a router of this probe advertises?"""
        return addr in self.onlink
