"""Redirect check: NDPMon's ``watch_rd_src()`` (``monitoring_rd.c:39-106``).

RFC 4861 §8.1: a host accepts a Redirect only from its current first-hop router, so a
Redirect is legitimate only from a configured (MAC, link-local address) pair.
"""

from __future__ import annotations

from ..ndmsg import REDIRECT, NdMessage
from . import check
from .context import Context, unknown_pair


UNKNOWN_REDIRECTOR = (("wrong couple IP/MAC in RD", "wrong router redirect ip",
                       "wrong router redirect mac", "wrong router redirect"),
                      ("wrong couple IP/MAC {} in RD", "wrong router redirect ip {}",
                       "wrong router redirect mac {}", "wrong router redirect {}"))


@check("watch_rd_src", (REDIRECT,), reasons=UNKNOWN_REDIRECTOR[0])
def watch_rd_src(msg: NdMessage, ctx: Context) -> int:
    """Only a configured (MAC, LLA) pair may redirect; the unknown half names the reason."""
    if (msg.eth_src, msg.src) in ctx.state.router_by_pair:
        return 0
    return unknown_pair(msg, ctx, *UNKNOWN_REDIRECTOR)
