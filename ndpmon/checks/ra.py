"""Router Advertisement checks: NDPMon's ``watch_ra()`` (``monitoring_ra.c:36-968``).

A router is identified by the pair (Ethernet source, IPv6 source). An unknown pair stops
the pipeline (no ``new station`` for a rogue router). For a known pair the flags and
parameters are compared with the config, then every option in packet order (COMPATIBILITY.md
§2.4). Parameter checks run only when ``params_volatile`` is 0; RDNSS, DNSSL and Route
Information checks always run. Fixed here: DNSSL names are compared decoded (COMPATIBILITY.md §7.4),
long names cannot overflow anything (COMPATIBILITY.md §7.3), and the lifetime message is the right
way round (COMPATIBILITY.md §7.11). Bounded here: one RA raises each reason once, however
many wrong items its options carry (``OptionAlerts``; COMPATIBILITY.md §9).
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import ip_full, ip_prefix64, mac_str
from ndpmon.config.model import Router
from ndpmon.codec.message import (RA, RA_MANAGED, RA_OTHER, Dnssl, Mtu, NdMessage,
                                   PrefixInfo, Rdnss, RouteInfo, route_pref_reserved)
from ndpmon.checks.registry import HIGH, PASS, STOP, check
from ndpmon.checks.context import Context, unknown_pair
from ndpmon.checks.advertised import advertised

MIN_VALID_LIFETIME = 7200  # RFC 4862 §5.5.3 e): the "two hours" rule
MAX_DOMAIN = 255
#: Items (servers, domains, prefixes, routes, values) one option alert names; the others
#: are counted as ``+N more``.
MAX_NAMED_ITEMS = 3


UNKNOWN_ROUTER = ((reasons.WRONG_COUPLE_IP_MAC, reasons.WRONG_ROUTER_IP,
                   reasons.WRONG_ROUTER_MAC, reasons.WRONG_IPV6_ROUTER),
                  ("wrong couple IP/MAC {} in RA", "wrong router ip {}", "wrong router mac {}",
                   "wrong ipv6 router {}"))


@check("watch_ra", (RA,), stop_on_error=True, reasons=UNKNOWN_ROUTER[0] + (
    reasons.WRONG_RA_FLAGS, reasons.WRONG_RA_PARAMS, reasons.WRONG_PREFIX,
    reasons.WRONG_PREFIX_LIFETIMES, reasons.PREFIX_LIFETIME_TOO_SHORT,
    reasons.WRONG_PREFIX_PARAMS, reasons.WRONG_MTU, reasons.WRONG_RDNSS, reasons.WRONG_DNSSL,
    reasons.WRONG_ROUTE, reasons.WRONG_ROUTE_LIFETIME, reasons.WRONG_ROUTE_PREFERENCE))
def watch_ra(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §6.2.1 / §6.1.2: only configured routers may advertise, as configured."""
    state = ctx.state
    router = state.router_by_pair.get((msg.eth_src, msg.src))
    if router is None:  # the alert says what the rogue told the hosts (its fields)
        return unknown_pair(msg, ctx, *UNKNOWN_ROUTER, **advertised(msg))
    result = _flags_and_params(msg, ctx, router)
    found = OptionAlerts(state)
    for opt in msg.options:
        handler = _OPTION_CHECKS.get(type(opt))
        if handler is not None:
            result = max(result, handler(msg, found, router, opt))
    found.raise_alerts(ctx)
    return result


class OptionAlerts:
    """The option alerts of one RA: one per (reason, text), naming its first items.

    NDPMon raised one alert per wrong item, so one RA carrying one DNSSL option of 477
    one-letter domains raised 477 alerts (2 ms in the engine, 344 KB of output), and one
    with 180 MTU options 180. Here an RA raises each (reason, text) once, in the order
    they were first found: with one item the message is NDPMon's, with more it names
    the first ``MAX_NAMED_ITEMS`` different ones and ``+N more``, and ``extra["more"]``
    is N (COMPATIBILITY.md §9). ``text`` has ``{}`` where the items go.
    """

    __slots__ = ("entries", "state")

    def __init__(self, state) -> None:
        self.state = state  # the probe's state the options are checked against
        #: (reason, text) -> [items named, items found, extra of the first]
        self.entries: dict[tuple[str, str], list] = {}

    def add(self, reason: str, text: str, item: str = "", **extra) -> None:
        """One wrong item of an option."""
        entry = self.entries.get((reason, text))
        if entry is None:
            self.entries[(reason, text)] = [[item], 1, extra]
            return
        entry[1] += 1
        if len(entry[0]) < MAX_NAMED_ITEMS and item not in entry[0]:
            entry[0].append(item)

    def add_all(self, reason: str, text: str, items, count: int, extra: dict) -> None:
        """``count`` wrong items of one option, ``items`` the texts of the first different
        ones (enough to name); ``extra`` counts if they are the first of their kind."""
        entry = self.entries.get((reason, text))
        if entry is None:
            entry = self.entries[(reason, text)] = [[], 0, extra]
        named = entry[0]
        entry[1] += count
        for item in items:
            if len(named) < MAX_NAMED_ITEMS and item not in named:
                named.append(item)

    def raise_alerts(self, ctx: Context) -> None:
        """One alert per (reason, text), as its items were found."""
        for (reason, text), (items, count, extra) in self.entries.items():
            more = count - len(items)
            if more:
                items = items + [f"+{more} more"]
                extra["more"] = more
            ctx.alert(HIGH, reason, text.format(", ".join(items)), **extra)


def _flags_and_params(msg: NdMessage, ctx: Context, router: Router) -> int:
    """RFC 4861 §4.2 fields against the learned ones; M without O is suspicious."""
    result = PASS
    if msg.ra_flags & RA_MANAGED and not msg.ra_flags & RA_OTHER:
        ctx.alert(HIGH, reasons.WRONG_RA_FLAGS, "wrong RA flags: M=1 and O=0", flags=msg.ra_flags)
        result = STOP
    if router.params_volatile:
        return result
    wrong = _differences((
        ("curhoplimit", msg.chlim, router.curhoplimit),
        ("flags", msg.ra_flags, router.flags),
        ("router_lifetime", msg.routerlifetime, router.router_lifetime),
        ("reachable_timer", msg.reachabletime, router.reachable_timer),
        ("retrans_timer", msg.retranstimer, router.retrans_timer)))
    if wrong:
        ctx.alert(HIGH, reasons.WRONG_RA_PARAMS, "wrong RA params: " + wrong)
    return result


def _differences(items) -> str:
    """``name=value;`` for every advertised value that differs from a configured one."""
    return "".join(f"{name}={seen};" for name, seen, want in items
                   if want is not None and seen != want)


def _check_prefix(msg: NdMessage, found: OptionAlerts, router: Router, opt: PrefixInfo) -> int:
    """RFC 4861 §4.6.2 / RFC 4862 §5.5.3: known prefix, sane and learned lifetimes.

    A valid lifetime under two hours is an alert unless it is the one learned for this
    router's prefix (a lab router, a short DHCPv6-PD lease: radvd ``AdvValidLifetime
    600``): NDPMon raised it on every such RA (COMPATIBILITY.md §9).
    """
    known = found.state.known_prefix(router, opt.prefixlen, opt.prefix)
    result = PASS
    if known is None:
        found.add(reasons.WRONG_PREFIX,
                  f"wrong prefix {{}} {mac_str(msg.eth_src)} {ip_full(msg.src)}",
                  ip_prefix64(opt.prefix), prefixlen=opt.prefixlen, prefix=opt.prefix)
        result = STOP
    valid, preferred = opt.validlifetime, opt.preferredlifetime
    if preferred > valid:
        found.add(reasons.WRONG_PREFIX_LIFETIMES, "RA preferred lifetime {}",
                  f"{preferred} longer than valid lifetime {valid}")
        result = STOP
    if valid < MIN_VALID_LIFETIME and (known is None or valid != known.valid):
        found.add(reasons.PREFIX_LIFETIME_TOO_SHORT,
                  "RA prefix option valid lifetime {} < 2 hours", str(valid))
        result = STOP
    if known is not None and not router.params_volatile:
        wrong = _differences((("flags", opt.flags, known.flags),
                              ("reserved2", opt.res2, 0),
                              ("valid_time", valid, known.valid),
                              ("preferred_time", preferred, known.preferred)))
        if wrong:
            found.add(reasons.WRONG_PREFIX_PARAMS, "wrong RA prefix option params: {}", wrong)
    return result


def _check_mtu(msg: NdMessage, found: OptionAlerts, router: Router, opt: Mtu) -> int:
    """RFC 4861 §4.6.4: the advertised link MTU must be the learned one (and not 0)."""
    if router.params_volatile or router.mtu is None:
        return PASS
    if opt.mtu != router.mtu or opt.mtu == 0:
        found.add(reasons.WRONG_MTU, "wrong RA mtu option: mtu={}", str(opt.mtu))
    return PASS


def _check_rdnss(msg: NdMessage, found: OptionAlerts, router: Router, opt: Rdnss) -> int:
    """RFC 8106 §5.1: every (server, lifetime) must be one the config lists."""
    if not opt.servers:
        found.add(reasons.WRONG_RDNSS, "wrong RA RDNSS option: empty nameservers list{}")
        return STOP
    lifetime, known = opt.lifetime, router.rdnss
    wrong = [server for server in opt.servers if (server, lifetime) not in known]
    if not wrong:
        return PASS
    found.add_all(reasons.WRONG_RDNSS, "wrong RA RDNSS option: {}",
                  [f"{ip_full(server)} {lifetime}" for server in first_few(wrong)], len(wrong),
                  {"server": wrong[0], "lifetime": lifetime})
    return STOP


def _check_dnssl(msg: NdMessage, found: OptionAlerts, router: Router, opt: Dnssl) -> int:
    """RFC 8106 §5.2: every (domain, lifetime) must be one the config lists.

    Names are compared decoded from their label form, case-insensitively (COMPATIBILITY.md §7.4,
    fixed). An option whose labels cannot be decoded is reported as such. A name longer
    than MAX_DOMAIN ends the option, as in NDPMon.
    """
    domains, lifetime, known = opt.domains, opt.lifetime, router.dnssl
    too_long = domains and max(map(len, domains)) > MAX_DOMAIN
    if too_long:
        domains = domains[:next(i for i, d in enumerate(domains) if len(d) > MAX_DOMAIN)]
    wrong = [domain for domain in domains if (domain, lifetime) not in known]
    if wrong:
        found.add_all(reasons.WRONG_DNSSL, "wrong RA DNSSL option: {}",
                      [f"{domain} {lifetime}" for domain in first_few(wrong)], len(wrong),
                      {"domain": wrong[0], "lifetime": lifetime})
    if too_long:
        found.add(reasons.WRONG_DNSSL, "wrong RA DNSSL option: search domain too long{}")
        return STOP
    if opt.error:
        found.add(reasons.WRONG_DNSSL, "wrong RA DNSSL option: undecodable domain name ({})",
                  opt.error, fault=opt.error)
        return STOP
    return STOP if wrong else PASS


def first_few(values: list) -> list:
    """The first MAX_NAMED_ITEMS different ``values``, in order."""
    few: list = []
    for value in values:
        if value not in few:
            few.append(value)
            if len(few) == MAX_NAMED_ITEMS:
                break
    return few


def _check_route(msg: NdMessage, found: OptionAlerts, router: Router, opt: RouteInfo) -> int:
    """RFC 4191 §2.3: known routes only, with the learned lifetime and preference."""
    where = f"{ip_prefix64(opt.prefix)}/{opt.prefixlen}"
    result = PASS
    if route_pref_reserved(opt.pref):
        found.add(reasons.WRONG_ROUTE, "wrong RA Route Info option: route preference ignor{}")
        result = STOP
    known = found.state.known_route(router, opt.prefixlen, opt.prefix)
    if known is None:
        found.add(reasons.WRONG_ROUTE, "wrong RA Route Info option {}", where,
                  prefix=opt.prefix, prefixlen=opt.prefixlen)
        return STOP
    if opt.rtlifetime != known.lifetime:
        found.add(reasons.WRONG_ROUTE_LIFETIME, "wrong RA Route Info Lifetime {}",
                  f"{where} {opt.rtlifetime}")
        result = STOP
    if opt.pref != known.pref:
        found.add(reasons.WRONG_ROUTE_PREFERENCE, "wrong RA Route Info preference {}",
                  f"{where} {opt.pref}")
        result = STOP
    return result


_OPTION_CHECKS = {PrefixInfo: _check_prefix, Mtu: _check_mtu, Rdnss: _check_rdnss,
                  Dnssl: _check_dnssl, RouteInfo: _check_route}
