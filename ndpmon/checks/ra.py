"""Router Advertisement checks: NDPMon's ``watch_ra()`` (``monitoring_ra.c:36-968``).

A router is identified by the pair (Ethernet source, IPv6 source). An unknown pair stops
the pipeline (no ``new station`` for a rogue router). For a known pair the flags and
parameters are compared with the config, then every option in packet order (COMPATIBILITY.md
§2.4). Parameter checks run only when ``params_volatile`` is 0; RDNSS, DNSSL and Route
Information checks always run. Fixed here: DNSSL names are compared decoded (COMPATIBILITY.md §7.4),
long names cannot overflow anything (COMPATIBILITY.md §7.3), and the lifetime message is the right
way round (COMPATIBILITY.md §7.11).
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
    for opt in msg.options:
        handler = _OPTION_CHECKS.get(type(opt))
        if handler is not None:
            result = max(result, handler(msg, ctx, router, opt))
    return result


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


def _check_prefix(msg: NdMessage, ctx: Context, router: Router, opt: PrefixInfo) -> int:
    """RFC 4861 §4.6.2 / RFC 4862 §5.5.3: known prefix, sane and learned lifetimes."""
    known = ctx.state.known_prefix(router, opt.prefixlen, opt.prefix)
    result = PASS
    if known is None:
        ctx.alert(HIGH, reasons.WRONG_PREFIX, f"wrong prefix {ip_prefix64(opt.prefix)} "
                  f"{mac_str(msg.eth_src)} {ip_full(msg.src)}", prefixlen=opt.prefixlen,
                  prefix=opt.prefix)
        result = STOP
    valid, preferred = opt.validlifetime, opt.preferredlifetime
    if preferred > valid:
        ctx.alert(HIGH, reasons.WRONG_PREFIX_LIFETIMES,
                  f"RA preferred lifetime {preferred} longer than valid lifetime {valid}")
        result = STOP
    if valid < MIN_VALID_LIFETIME:
        ctx.alert(HIGH, reasons.PREFIX_LIFETIME_TOO_SHORT,
                  f"RA prefix option valid lifetime {valid} < 2 hours")
        result = STOP
    if known is not None and not router.params_volatile:
        wrong = _differences((("flags", opt.flags, known.flags),
                              ("reserved2", opt.res2, 0),
                              ("valid_time", valid, known.valid),
                              ("preferred_time", preferred, known.preferred)))
        if wrong:
            ctx.alert(HIGH, reasons.WRONG_PREFIX_PARAMS,
                      "wrong RA prefix option params: " + wrong)
    return result


def _check_mtu(msg: NdMessage, ctx: Context, router: Router, opt: Mtu) -> int:
    """RFC 4861 §4.6.4: the advertised link MTU must be the learned one (and not 0)."""
    if router.params_volatile or router.mtu is None:
        return PASS
    if opt.mtu != router.mtu or opt.mtu == 0:
        ctx.alert(HIGH, reasons.WRONG_MTU, f"wrong RA mtu option: mtu={opt.mtu}")
    return PASS


def _check_rdnss(msg: NdMessage, ctx: Context, router: Router, opt: Rdnss) -> int:
    """RFC 8106 §5.1: every (server, lifetime) must be one the config lists."""
    if not opt.servers:
        ctx.alert(HIGH, reasons.WRONG_RDNSS, "wrong RA RDNSS option: empty nameservers list")
        return STOP
    result = PASS
    for server in opt.servers:
        if (server, opt.lifetime) not in router.rdnss:
            ctx.alert(HIGH, reasons.WRONG_RDNSS,
                      f"wrong RA RDNSS option: {ip_full(server)} {opt.lifetime}",
                      server=server, lifetime=opt.lifetime)
            result = STOP
    return result


def _check_dnssl(msg: NdMessage, ctx: Context, router: Router, opt: Dnssl) -> int:
    """RFC 8106 §5.2: every (domain, lifetime) must be one the config lists.

    Names are compared decoded from their label form, case-insensitively (COMPATIBILITY.md §7.4,
    fixed). An option whose labels cannot be decoded is reported as such.
    """
    result = PASS
    for domain in opt.domains:
        if len(domain) > MAX_DOMAIN:  # NDPMon stops reading the option here
            ctx.alert(HIGH, reasons.WRONG_DNSSL,
                      "wrong RA DNSSL option: search domain too long")
            return STOP
        if (domain, opt.lifetime) not in router.dnssl:
            ctx.alert(HIGH, reasons.WRONG_DNSSL,
                      f"wrong RA DNSSL option: {domain} {opt.lifetime}",
                      domain=domain, lifetime=opt.lifetime)
            result = STOP
    if opt.error:
        ctx.alert(HIGH, reasons.WRONG_DNSSL,
                  f"wrong RA DNSSL option: undecodable domain name ({opt.error})",
                  fault=opt.error)
        result = STOP
    return result


def _check_route(msg: NdMessage, ctx: Context, router: Router, opt: RouteInfo) -> int:
    """RFC 4191 §2.3: known routes only, with the learned lifetime and preference."""
    where = f"{ip_prefix64(opt.prefix)}/{opt.prefixlen}"
    result = PASS
    if route_pref_reserved(opt.pref):
        ctx.alert(HIGH, reasons.WRONG_ROUTE,
                  "wrong RA Route Info option: route preference ignor")
        result = STOP
    known = ctx.state.known_route(router, opt.prefixlen, opt.prefix)
    if known is None:
        ctx.alert(HIGH, reasons.WRONG_ROUTE, f"wrong RA Route Info option {where}",
                  prefix=opt.prefix, prefixlen=opt.prefixlen)
        return STOP
    if opt.rtlifetime != known.lifetime:
        ctx.alert(HIGH, reasons.WRONG_ROUTE_LIFETIME,
                  f"wrong RA Route Info Lifetime {where} {opt.rtlifetime}")
        result = STOP
    if opt.pref != known.pref:
        ctx.alert(HIGH, reasons.WRONG_ROUTE_PREFERENCE,
                  f"wrong RA Route Info preference {where} {opt.pref}")
        result = STOP
    return result


_OPTION_CHECKS = {PrefixInfo: _check_prefix, Mtu: _check_mtu, Rdnss: _check_rdnss,
                  Dnssl: _check_dnssl, RouteInfo: _check_route}
