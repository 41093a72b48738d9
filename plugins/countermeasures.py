# ndpmon.plugin.description = NDPMon's countermeasures: packets that undo an attack
"""countermeasures: NDPMon's active replies (COMPATIBILITY.md §4.10), switched on with
``<plugin name="countermeasures"/>``.

They are sent only on probes of type interface whose ``<countermeasures_enabled>`` is 1,
only while capturing live (never in a replay), and each only as often as its guard in
``<countermeasures>`` allows: SUPPRESS (default), RESPOND, CEASE AFTER n (the first n
calls), LAUNCH AFTER n (from call n+1 on); one call counter per countermeasure, as in
NDPMon (``cm_is_welcome``, saturating at 255), counting one call per frame.

An answer must never cost more than the attack. NDPMon answered every alert, and one RA
spoofing the router with 477 search domains raised 477 alerts: 954 RAs sent for one
frame. So:

* one frame is answered once at most, with one frame: the first alert of a frame that a
  countermeasure answers is answered for the whole frame (what the RA withdraws is read
  from the decoded frame, ``engine.last``, as much as fits in one RA), and the frame's
  other alerts are not answered;
* a rate budget, token buckets on the capture time of the frame: per countermeasure
  and probe ``PER_COUNTERMEASURE`` (burst, per second), and per target (the MAC and
  address the frame claims, or the neighbour's address) ``PER_TARGET``; an answer
  over budget is not sent, and counted (logged once when the limit starts biting,
  and on SIGUSR1).

Each countermeasure, the alerts that call it, and what it sends (ndpmon.capture.craft):

* kill_illegitimate_router (the four unknown-router RA alerts): an RA with lifetime 0
  from the rogue's MAC and address;
* kill_wrong_prefix (wrong prefix): the router's RA with the bogus prefixes at lifetime 0;
* propagate_router_params (wrong RA params, wrong RA prefix option params, wrong RA
  mtu option): the configured router's RA, prefixes and MTU;
* propagate_router_dns (wrong RA RDNSS / DNSSL option): the same with the configured
  RDNSS and DNSSL, and the bogus servers and domains at lifetime 0;
* propagate_router_routes (wrong RA Route Info option / lifetime / preference): the
  same with the configured routes, and the unknown routes at lifetime 0;
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
from collections import Counter, OrderedDict

from ndpmon import __version__
from ndpmon.capture import craft
from ndpmon.codec.addr import in_prefix, ip_short, mac_str
from ndpmon.plugin import Plugin as Base, known_params, message, reasons
from ndpmon.capture.send import PacketSender, SendBudget, SentFrames

log = logging.getLogger("ndpmon")

MAX_SENT = 1024      # hashes of frames sent, remembered to recognise them
MAX_OTHERS = 256     # other monitors remembered (each logged once)
FLAG_LEARNING, FLAG_COUNTERMEASURES, FLAG_MAC_RESOLV = 0x80, 0x02, 0x01
PER_COUNTERMEASURE = (10, 5.0)  # answers at once, then per second, per probe
PER_TARGET = (3, 1.0)           # the same, per MAC/address a frame claims
MAX_TARGETS = 1024              # targets whose budget is remembered

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
        self.per_countermeasure = SendBudget(PER_COUNTERMEASURE[1], PER_COUNTERMEASURE[0])
        self.per_target = SendBudget(PER_TARGET[1], PER_TARGET[0], MAX_TARGETS)
        self.frame_no = -1          # the engine's count of the frame being answered
        self.decided: set[str] = set()  # countermeasures that decided on that frame
        self.answered = False       # that frame has had its answer
        self.limited: Counter[str] = Counter()  # answers over budget, per countermeasure
        self.limiting: set[tuple[str, str]] = set()  # (name, probe) over budget now
        self.skipped = 0            # alerts of an already answered frame
        self.frames_sent = 0
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
        if not self._first_of_frame(name):
            return
        if not self.guards[name].welcome() or not self._budget(name, alert):
            return
        frame = build(alert)
        if frame is None:
            return
        self.answered = True
        self._send(alert.probe, frame)
        log.info("countermeasure %s on %s: sent 1 frame for %r", name, alert.probe,
                 alert.message.strip())

    def _first_of_frame(self, name: str) -> bool:
        """Is this the first call of countermeasure ``name`` for the current frame, and
        has the frame had no answer yet? (One answer per frame, one guard call.)"""
        frame_no = self.engine.frames
        if frame_no != self.frame_no:
            self.frame_no, self.decided, self.answered = frame_no, set(), False
        if self.answered or name in self.decided:
            self.skipped += self.answered
            return False
        self.decided.add(name)
        return True

    def _budget(self, name: str, alert) -> bool:
        """Take a token from the countermeasure's and the target's buckets (both or
        none), at the frame's capture time; count and log the first refusal."""
        target = alert.ipv6 if name == "propagate_neighbor_mac" else (alert.mac, alert.ipv6)
        mine, theirs = (name, alert.probe), (name, alert.probe, target)
        now = alert.time
        if (self.per_countermeasure.ready(mine, now)
                and self.per_target.ready(theirs, now)):
            self.per_countermeasure.take(mine)
            self.per_target.take(theirs)
            self.limiting.discard(mine)
            return True
        self.limited[name] += 1
        if mine not in self.limiting:
            self.limiting.add(mine)
            log.warning("countermeasure %s on %s: rate limit reached (%d at once, then "
                        "%g/s per target, %g/s in all); answers held back", name,
                        alert.probe, PER_TARGET[0], PER_TARGET[1], PER_COUNTERMEASURE[1])
        return False

    def status(self) -> None:
        limited = ", ".join(f"{name} {n}" for name, n in sorted(self.limited.items()))
        log.info("countermeasures: %d frames sent; %d alerts of frames already answered; "
                 "over the rate limit: %s", self.frames_sent, self.skipped,
                 limited or "none")

    def _send(self, iface: str, frame: bytes) -> None:
        self.sent.remember(frame)
        self.frames_sent += 1
        try:
            self.sender.send(iface, frame)
        except OSError as exc:
            log.warning("countermeasures: cannot send on %s: %s", iface,
                        exc.strerror or exc)

    def _router(self, alert):
        """The configured router the alert's RA came from (by MAC and LLA)."""
        return self.engine.probes[alert.probe].router_by_pair.get((alert.mac, alert.ipv6))

    def _options(self, alert, kind):
        """The options of type ``kind`` of the RA that raised ``alert`` (the engine's
        last decoded frame, if it is that RA), or None if it is not at hand."""
        msg = self.engine.last
        if (type(msg) is not message.NdMessage or msg.type != message.RA
                or msg.eth_src != alert.mac or msg.src != alert.ipv6):
            return None
        return [opt for opt in msg.options if type(opt) is kind]

    def _kill_router(self, alert):
        return craft.kill_router(alert.mac, alert.ipv6)

    def _kill_prefix(self, alert):
        router = self._router(alert)
        if router is None or alert.extra.get("prefix") is None:
            return None
        options = self._options(alert, message.PrefixInfo)
        found = ([(alert.extra["prefix"], alert.extra["prefixlen"])] if options is None else
                 [(o.prefix, o.prefixlen) for o in options])
        return craft.kill_prefix(router, _unknown(found, router.prefixes))

    def _params(self, alert):
        router = self._router(alert)
        return craft.router_ra(router) if router else None

    def _dns(self, alert):
        router = self._router(alert)
        if router is None:
            return None
        rdnss, dnssl = (self._options(alert, message.Rdnss),
                        self._options(alert, message.Dnssl))
        servers = ([alert.extra["server"]] if "server" in alert.extra else []) \
            if rdnss is None else [s for opt in rdnss for s in opt.servers]
        domains = ([alert.extra["domain"]] if "domain" in alert.extra else []) \
            if dnssl is None else [d for opt in dnssl for d in opt.domains]
        known_servers = {server for server, _ in router.rdnss}
        known_domains = {domain.lower() for domain, _ in router.dnssl}
        stale = craft.Stale(
            servers=list(dict.fromkeys(s for s in servers if s not in known_servers)),
            domains=list(dict.fromkeys(d for d in domains if d.lower() not in known_domains)))
        return craft.router_ra(router, dns=True, stale=stale)

    def _routes(self, alert):
        router = self._router(alert)
        if router is None:
            return None
        options = self._options(alert, message.RouteInfo)
        found = ([(alert.extra["prefix"], alert.extra["prefixlen"])]
                 if "prefix" in alert.extra else []) if options is None else \
            [(o.prefix, o.prefixlen) for o in options]
        stale = craft.Stale(routes=_unknown(found, router.routes))
        return craft.router_ra(router, routes=True, stale=stale)

    def _neighbor(self, alert):
        """The address's station again, at the MAC it was first seen with."""
        cache = self.engine.probes[alert.probe].neighbors
        addr = alert.ipv6
        owner = cache.by_lla.get(addr) or cache.by_ip.get(addr)
        if owner is None:
            return None
        return craft.neighbor_na(addr, owner.first_mac_seen)

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


def _unknown(found, known) -> list[tuple[bytes, int]]:
    """The (prefix, length) of ``found`` that no configured prefix or route (``known``,
    with ``address`` and ``length``) covers, as the checks decide, each once."""
    return list(dict.fromkeys(
        (prefix, length) for prefix, length in found
        if not any(k.length == length and in_prefix(prefix, k.address, k.length)
                   for k in known)))


Plugin = Countermeasures
