"""Redirect check: NDPMon's ``watch_rd_src()`` (``monitoring_rd.c:39-106``).

RFC 4861 §8.1: a host accepts a Redirect only from its current first-hop router, so a
Redirect is legitimate only from a configured (MAC, link-local address) pair.

New here, ``watch_rd_target``: THC's redir6 forges the Redirect with the router's own MAC
and link-local address, so it passes ``watch_rd_src``; what gives it away is the new
first hop it names, a station that is neither the destination nor a router.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import ip_full, is_link_local, mac_str
from ndpmon.codec.message import REDIRECT, NdMessage
from ndpmon.checks.registry import HIGH, PASS, check
from ndpmon.checks.context import Context, unknown_pair


UNKNOWN_REDIRECTOR = ((reasons.WRONG_COUPLE_IP_MAC_RD, reasons.WRONG_REDIRECT_IP,
                       reasons.WRONG_REDIRECT_MAC, reasons.WRONG_REDIRECT),
                      ("wrong couple IP/MAC {} in RD", "wrong router redirect ip {}",
                       "wrong router redirect mac {}", "wrong router redirect {}"))


@check("watch_rd_src", (REDIRECT,), reasons=UNKNOWN_REDIRECTOR[0])
def watch_rd_src(msg: NdMessage, ctx: Context) -> int:
    """Only a configured (MAC, LLA) pair may redirect; the unknown half names the reason."""
    if (msg.eth_src, msg.src) in ctx.state.router_by_pair:
        return PASS
    return unknown_pair(msg, ctx, *UNKNOWN_REDIRECTOR)


@check("watch_rd_target", (REDIRECT,), reasons=(reasons.REDIRECT_TO_UNKNOWN,))
def watch_rd_target(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §4.5, §8.1: the target is the destination itself (on-link) or a better
    first-hop router (by its link-local address); from a configured router, a link-local
    target that is no router is a hijack. Hosts drop a Redirect whose target is another
    global address (§8.1), so that one does no harm."""
    state, target = ctx.state, msg.target
    if ((msg.eth_src, msg.src) not in state.router_by_pair or target == msg.rd_dst
            or target in state.router_llas or not is_link_local(target)):
        return PASS
    ctx.alert(HIGH, reasons.REDIRECT_TO_UNKNOWN,
              f"redirect to unknown router {mac_str(msg.eth_src)} {ip_full(msg.src)} target "
              f"{ip_full(msg.target)} for {ip_full(msg.rd_dst)}")
    return PASS
