"""Redirect check: NDPMon's ``watch_rd_src()`` (``monitoring_rd.c:39-106``).

RFC 4861 §8.1: a host accepts a Redirect only from its current first-hop router, so a
Redirect is legitimate only from a configured (MAC, link-local address) pair.
"""

from __future__ import annotations

from ..fmt import ip_full, mac_str
from ..ndmsg import REDIRECT, NdMessage
from . import HIGH, check
from .context import Context


@check("watch_rd_src", (REDIRECT,), reasons=(
    "wrong couple IP/MAC in RD", "wrong router redirect ip", "wrong router redirect mac",
    "wrong router redirect"))
def watch_rd_src(msg: NdMessage, ctx: Context) -> int:
    """Which half of the (MAC, LLA) pair is unknown decides the reason."""
    state, mac, src = ctx.state, msg.eth_src, msg.src
    if (mac, src) in state.router_by_pair:
        return 0
    known_mac, known_lla = mac in state.router_macs, src in state.router_llas
    who = f"{mac_str(mac)} {ip_full(src)}"
    if known_mac and known_lla:
        ctx.alert(HIGH, "wrong couple IP/MAC in RD", f"wrong couple IP/MAC {who} in RD")
    elif known_mac:
        ctx.alert(HIGH, "wrong router redirect ip", f"wrong router redirect ip {who}")
    elif known_lla:
        ctx.alert(HIGH, "wrong router redirect mac", f"wrong router redirect mac {who}")
    else:
        ctx.alert(HIGH, "wrong router redirect", f"wrong router redirect {who}")
    return 2
