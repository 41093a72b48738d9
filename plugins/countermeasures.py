# ndpmon.plugin.description = NDPMon's countermeasures: packets that undo an attack
"""countermeasures: NDPMon's active replies (COMPATIBILITY.md §4.10), switched on with
``<plugin name="countermeasures"/>``.

They are sent only on probes of type interface whose ``<countermeasures_enabled>`` is 1,
only while capturing live (never in a replay), and each only as often as its guard in
``<countermeasures>`` allows: SUPPRESS (default), RESPOND, CEASE AFTER n (the first n
calls), LAUNCH AFTER n (from call n+1 on); one call counter per countermeasure, as in
NDPMon (``cm_is_welcome``, saturating at 255).

Each countermeasure, the alerts that call it, and what it sends (ndpmon.capture.craft):

* kill_illegitimate_router (the four unknown-router RA alerts): an RA with lifetime 0
  from the rogue's MAC and address;
* kill_wrong_prefix (wrong prefix): the router's RA with that prefix at lifetime 0;
* propagate_router_params (wrong RA params, wrong RA prefix option params, wrong RA
  mtu option): the configured router's RA, prefixes and MTU;
* propagate_router_dns (wrong RA RDNSS / DNSSL option): the same with the configured
  RDNSS and DNSSL, and the bogus server or domain at lifetime 0;
* propagate_router_routes (wrong RA Route Info option / lifetime / preference): the
  same with the configured routes, and an unknown route at lifetime 0;
* propagate_neighbor_mac (flip flop, reused old ethernet address): an NA with the
  Override flag giving the address its first MAC again;
* indicate_ndpmon_presence (every save of the neighbour cache): ICMPv6 type 200 code
  200 to all nodes.

Frames are sent from a packet socket on the probe's interface. The kernel never shows
ndpmon its own frames on that interface, but another captured interface on the same
link would: the SHA-1 of each frame sent is remembered (the last 1024) and a captured
frame with one of them is dropped before any check, as NDPMon did. A presence message of
another monitor (which crashed NDPMon 2.1, COMPATIBILITY.md §7.5) is logged once per sender and
dropped.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from ndpmon import __version__
from ndpmon.capture import craft
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.plugin import Plugin as Base, known_params, reasons
from ndpmon.capture.send import PacketSender, SentFrames

log = logging.getLogger("ndpmon")

MAX_SENT = 1024      # hashes of frames sent, remembered to recognise them
MAX_OTHERS = 256     # other monitors remembered (each logged once)
FLAG_LEARNING, FLAG_COUNTERMEASURES, FLAG_MAC_RESOLV = 0x80, 0x02, 0x01

KILL_ROUTER = (reasons.WRONG_COUPLE_IP_MAC, reasons.WRONG_ROUTER_IP, reasons.WRONG_ROUTER_MAC,
               reasons.WRONG_IPV6_ROUTER)
PREFIX = (reasons.WRONG_PREFIX,)
PARAMS = (reasons.WRONG_RA_PARAMS, reasons.WRONG_PREFIX_PARAMS, reasons.WRONG_MTU)
DNS = (reasons.WRONG_RDNSS, reasons.WRONG_DNSSL)
ROUTES = (reasons.WRONG_ROUTE, reasons.WRONG_ROUTE_LIFETIME, reasons.WRONG_ROUTE_PREFERENCE)
NEIGHBOR = (reasons.FLIP_FLOP, reasons.REUSED_OLD_ETHERNET)


class GuardState:
    """One countermeasure's guard and how often it was called."""

    def __init__(self, kind: str = "SUPPRESS", count: int = 0) -> None:
        self.kind, self.count, self.calls = kind, count, 0

    def welcome(self) -> bool:
        """Count a call; may the countermeasure answer it? (``cm_is_welcome``)"""
        self.calls = min(self.calls + 1, 255)
        if self.kind == "RESPOND":
            return True
        if self.kind == "CEASE AFTER":
            return self.calls <= self.count
        if self.kind == "LAUNCH AFTER":
            return self.calls > self.count
        return False


class Countermeasures(Base):
    description = "NDPMon's countermeasures (active replies to attacks)"

    def __init__(self, params, config):
        super().__init__(params, config)
        known_params(params, ())
        self.guards: dict[str, GuardState] = {}
        self.reconfigure(config)
        self.sender = None
        self.sent = SentFrames(MAX_SENT)
        self.others: OrderedDict[tuple[str, bytes], None] = OrderedDict()
        self.handlers = {reason: (name, build) for keys, name, build in (
            (KILL_ROUTER, "kill_illegitimate_router", self._kill_router),
            (PREFIX, "kill_wrong_prefix", self._kill_prefix),
            (PARAMS, "propagate_router_params", self._params),
            (DNS, "propagate_router_dns", self._dns),
            (ROUTES, "propagate_router_routes", self._routes),
            (NEIGHBOR, "propagate_neighbor_mac", self._neighbor)) for reason in keys}

    def reconfigure(self, config) -> None:
        """New guards (an unchanged guard keeps its call count); the probes that answer."""
        super().reconfigure(config)
        old = self.guards
        self.guards = {}
        for name, guard in config.countermeasures.items():
            state = old.get(name)
            if state is None or (state.kind, state.count) != (guard.kind, guard.count):
                state = GuardState(guard.kind, guard.count)
            self.guards[name] = state
        self.probes = {p.name for p in config.probes
                       if p.type == "interface" and p.countermeasures_enabled}

    def start(self) -> None:
        if self.sender is None and self.engine is not None and self.engine.live:
            self.sender = PacketSender()
            try:
                self.sender.open()  # now, while ndpmon may still be root
            except OSError as exc:
                log.warning("countermeasures: cannot open a packet socket: %s; "
                            "none will be sent", exc.strerror or exc)
        if self.sender is None and self.probes:
            log.info("countermeasures: not capturing live, no packet is sent")

    def stop(self) -> None:
        if isinstance(self.sender, PacketSender):
            self.sender.close()

    # -- frames seen ----------------------------------------------------------

    def frame(self, probe: str, now: float, frame: bytes) -> bool:
        """Drop our own frames and other monitors' presence messages."""
        if self.sent and frame in self.sent:
            return True
        if (len(frame) >= 62 and frame[12:14] == b"\x86\xdd" and frame[20] == 58
                and frame[54] == craft.PRESENCE_TYPE and frame[55] == craft.PRESENCE_CODE):
            self._other_monitor(probe, frame)
            return True
        return False

    def _other_monitor(self, probe: str, frame: bytes) -> None:
        key = (probe, frame[6:12])
        if key in self.others:
            return
        self.others[key] = None
        if len(self.others) > MAX_OTHERS:
            self.others.popitem(last=False)
        version = ".".join(str(b) for b in frame[58:61]) if len(frame) >= 61 else "?"
        flags = frame[61] if len(frame) >= 62 else 0
        modes = [name for bit, name in ((FLAG_LEARNING, "learning"),
                                        (FLAG_COUNTERMEASURES, "countermeasures"),
                                        (FLAG_MAC_RESOLV, "mac_resolv")) if flags & bit]
        log.warning("another NDPMon on %s: %s %s, version %s (%s)", probe,
                    mac_str(frame[6:12]), ip_short(frame[22:38]), version,
                    ", ".join(modes) or "monitoring")

    # -- answering alerts -----------------------------------------------------

    def notify(self, alert) -> None:
        handler = self.handlers.get(alert.reason)
        if handler is None or alert.probe not in self.probes or self.sender is None:
            return
        name, build = handler
        if not self.guards[name].welcome():
            return
        frames = build(alert)
        for frame in frames:
            self._send(alert.probe, frame)
        log.info("countermeasure %s on %s: sent %d frame%s for %r", name, alert.probe,
                 len(frames), "" if len(frames) == 1 else "s", alert.message.strip())

    def _send(self, iface: str, frame: bytes) -> None:
        self.sent.remember(frame)
        try:
            self.sender.send(iface, frame)
        except OSError as exc:
            log.warning("countermeasures: cannot send on %s: %s", iface,
                        exc.strerror or exc)

    def _router(self, alert):
        """The configured router the alert's RA came from (by MAC and LLA)."""
        return self.engine.probes[alert.probe].router_by_pair.get((alert.mac, alert.ipv6))

    def _kill_router(self, alert):
        return [craft.kill_router(alert.mac, alert.ipv6)]

    def _kill_prefix(self, alert):
        router, prefix = self._router(alert), alert.extra.get("prefix")
        if router is None or prefix is None:
            return []
        return [craft.kill_prefix(router, prefix, alert.extra["prefixlen"])]

    def _params(self, alert):
        router = self._router(alert)
        return [craft.router_ra(router)] if router else []

    def _dns(self, alert):
        router = self._router(alert)
        if router is None:
            return []
        frames = [craft.router_ra(router, dns=True)]
        if "server" in alert.extra:
            frames.append(craft.kill_rdnss(router, alert.extra["server"]))
        if "domain" in alert.extra:
            frames.append(craft.kill_dnssl(router, alert.extra["domain"]))
        return frames

    def _routes(self, alert):
        router = self._router(alert)
        if router is None:
            return []
        frames = [craft.router_ra(router, routes=True)]
        if "prefix" in alert.extra:  # an unknown route: withdraw it
            frames.append(craft.kill_route(router, alert.extra["prefix"],
                                           alert.extra["prefixlen"]))
        return frames

    def _neighbor(self, alert):
        """The address's station again, at the MAC it was first seen with."""
        cache = self.engine.probes[alert.probe].neighbors
        addr = alert.ipv6
        owner = cache.by_lla.get(addr) or cache.by_ip.get(addr)
        if owner is None:
            return []
        return [craft.neighbor_na(addr, owner.first_mac_seen)]

    # -- presence -------------------------------------------------------------

    def on_cache_save(self, engine) -> None:
        """indicate_ndpmon_presence: at every cache save, on every answering probe."""
        if self.sender is None or not self.probes:
            return
        if not self.guards["indicate_ndpmon_presence"].welcome():
            return
        flags = FLAG_COUNTERMEASURES | (FLAG_LEARNING if engine.learning else 0)
        if any(p.name == "mac_resolv" for p in engine.plugins):
            flags |= FLAG_MAC_RESOLV
        parts = (__version__.split(".") + ["0", "0"])[:3]
        version = tuple(int(x) if x.isdigit() else 0 for x in parts)
        for iface in sorted(self.probes):
            try:
                mac, lla = self.sender.address(iface)
            except OSError as exc:
                log.warning("countermeasures: %s: %s", iface, exc.strerror or exc)
                continue
            if lla is not None:
                self._send(iface, craft.presence(mac, lla, version, flags))


Plugin = Countermeasures
