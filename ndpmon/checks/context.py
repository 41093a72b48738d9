"""What the checks read and change: one probe's state, and the per-packet context.

``ProbeState`` turns the probe's configured routers into dict and set indices once (the
original scanned lists for every packet) and holds the neighbour cache and the DAD table.
``Context`` collects the alerts of one packet; checks never do I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import ip_full, mac_str
from ndpmon.config.model import Probe, Router, Settings
from ndpmon.codec.message import TYPE_NAMES, NdMessage
from ndpmon.state.neighbors import NeighborCache
from ndpmon.checks.fragments import FragmentTable
from ndpmon.state.proxies import ProxyWatch
from ndpmon.state.rates import RateWatch

__all__ = ["ProbeState", "Context", "DAD_WINDOW", "MAX_DAD", "unknown_pair"]

#: How long after a DAD probe an NA for its target counts as an answer to it (seconds).
#: RFC 4862 §5.4: DupAddrDetectTransmits (1) x RetransTimer (1 s), after a random delay
#: of up to MAX_RTR_SOLICITATION_DELAY (1 s); 10 s leaves room for slow hosts.
DAD_WINDOW = 10.0
#: At most this many DAD probes are remembered per probe; the oldest is dropped first.
MAX_DAD = 4096


class ProbeState:
    """Everything the checks know about one probe (one link)."""

    def __init__(self, probe: Probe, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.name = probe.name
        self.probe = probe
        self.neighbors = NeighborCache(settings.limits.max_neighbors,
                                       settings.limits.max_addresses)
        #: DAD target -> (MAC that probed for it, time of the probe)
        self.dad: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()
        self.fragments = FragmentTable()
        self.rates = RateWatch(settings.limits)
        self.proxy_watch = ProxyWatch()  # checks/proxy.py
        self.set_routers(probe.routers)
        self.context = Context(self)

    def set_routers(self, routers: tuple[Router, ...]) -> None:
        """(Re)build the router indices (at start, and when learning adds a router)."""
        self.routers = routers
        self.router_by_pair = {(r.mac, r.lla): r for r in routers}
        self.router_macs = {r.mac for r in routers}
        self.router_llas = {r.lla for r in routers}
        self.routers_by_mac: dict[bytes, list[Router]] = {}
        for r in routers:
            self.routers_by_mac.setdefault(r.mac, []).append(r)
        self.onlink = _prefix_table(routers)

    def is_onlink(self, addr: bytes) -> bool:
        """Is ``addr`` inside a prefix that a router of this probe advertises?"""
        value = int.from_bytes(addr, "big")
        for shift, prefixes in self.onlink:
            if value >> shift in prefixes:
                return True
        return False


def _prefix_table(routers: tuple[Router, ...]) -> list[tuple[int, frozenset[int]]]:
    """Per prefix length, the set of prefixes as integers (for ``is_onlink``)."""
    table: dict[int, set[int]] = {}
    for router in routers:
        for p in router.prefixes:
            shift = 128 - p.mask
            table.setdefault(shift, set()).add(int.from_bytes(p.address, "big") >> shift)
    return [(shift, frozenset(vals)) for shift, vals in sorted(table.items())]


class Context:
    """One packet's run through the checks: the probe state, the time, the alerts.

    One per probe, reused for every packet (``run_checks`` sets ``msg`` and ``now``);
    ``alerts`` is created at the first alert, so a quiet packet allocates nothing here.
    """

    __slots__ = ("state", "msg", "now", "alerts")

    def __init__(self, state: ProbeState) -> None:
        self.state = state
        self.msg: NdMessage | None = None
        self.now = 0.0
        self.alerts: list[Alert] | None = None

    def alert(self, priority: Priority, reason: str, message: str, *,
              mac2: bytes | None = None, ipv6: bytes | None = None,
              **extra: Any) -> None:
        """Raise an alert about the current packet (mac = its Ethernet source).

        ``extra`` gets the message type, destination, target and VLAN; addresses stay
        bytes here and are formatted only if an output asks (``Alert.to_json``).
        """
        msg = self.msg
        extra["type"] = TYPE_NAMES[msg.type]
        extra["dst"] = msg.dst
        if msg.target is not None:
            extra["target"] = msg.target
        if msg.vlan is not None:
            extra["vlan"] = msg.vlan
        alert = Alert(self.now, self.state.name, priority, reason, message, msg.eth_src,
                      mac2, msg.src if ipv6 is None else ipv6, MappingProxyType(extra))
        if self.alerts is None:
            self.alerts = [alert]
        else:
            self.alerts.append(alert)


def unknown_pair(msg: NdMessage, ctx: Context, reasons: tuple[str, str, str, str],
                 texts: tuple[str, str, str, str]) -> int:
    """Alert on a router message from a (MAC, LLA) pair that is not configured.

    Which half of the pair is known picks the reason: both (but not together), only the
    MAC, only the LLA, neither; ``texts`` are the message formats, with ``{}`` for
    ``<mac> <src>`` (NDPMon's ``watch_ra`` and ``watch_rd_src`` share this logic).
    """
    state, mac, src = ctx.state, msg.eth_src, msg.src
    known_mac, known_lla = mac in state.router_macs, src in state.router_llas
    index = 0 if known_mac and known_lla else 1 if known_mac else 2 if known_lla else 3
    who = f"{mac_str(mac)} {ip_full(src)}"
    ctx.alert(Priority.HIGH, reasons[index], texts[index].format(who))
    return 2
