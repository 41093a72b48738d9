"""ND floods: more RAs, RSs, NSs, NAs or Redirects on a link than a LAN sends.

A flood is an attack of its own (RFC 6583 §4: a neighbour-cache exhaustion makes the
router solicit every address of a /64; THC's flood_router26 and flood_advertise6 swamp
every host's kernel), and the per-message alerts it causes say what each frame is, not
that there are a hundred thousand of them. This check counts each message type per probe
in fixed windows of ``<limits rate_window>`` seconds and raises one ``ND flood`` alert
per type and window when the count passes ``rate * window``, naming the top sources of
the window's second half (counted from half the limit on, see ndpmon/state/rates.py).

The defaults are well above a LAN of a few hundred hosts (RFC 4861 §10: a router sends
an unsolicited RA every 4-1800 s and at most one solicited RA per 3 s; a host sends a
few NS per new peer and one NUD probe per peer and reachable time): RA 10/s, RS 50/s,
NS 100/s, NA 100/s, Redirect 20/s; 0 turns a type off. A Linux router whose neighbour
table is full (1024 entries by default) solicits at most about 1000 addresses a second
during a cache exhaustion, so the NS limit must stay well below that to see one; raise
it on a segment with thousands of hosts.

State per probe: one counter per type and at most ``MAX_SOURCES`` source MACs per type
per window (later new sources are counted together), so a flood from random MACs costs
bounded memory.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import mac_str
from ndpmon.codec.message import TYPE_NAMES, NdMessage
from ndpmon.checks.registry import HIGH, PASS, check
from ndpmon.checks.context import Context
from ndpmon.state.rates import MAX_SOURCES

__all__ = ["watch_rates"]

#: Live capture reads its lanes out of each other's order, so a frame older than the
#: current window counts in it; only a clock set back by more than this starts a new one.
CLOCK_SET_BACK = 3600.0


@check("watch_rates", reasons=(reasons.ND_FLOOD,))
def watch_rates(msg: NdMessage, ctx: Context) -> int:
    """RFC 6583 §4, RFC 4861 §10: a message rate no LAN needs is an attack."""
    rates, now, kind = ctx.state.rates, ctx.now, msg.type
    if now >= rates.end or now < rates.start - CLOCK_SET_BACK:
        rates.open(now)  # a frame read out of order (another capture lane) counts here
    counts = rates.counts  # counted here, not in a method: every ND message comes here
    count = counts[kind] = counts.get(kind, 0) + 1
    if count <= rates.half[kind] or rates.over_half(kind, msg.eth_src, count) is None:
        return PASS
    name = TYPE_NAMES[kind]
    seen = len(rates.sources[kind])
    top = ", ".join(f"{mac_str(m)} x{n}" for m, n in rates.top(kind))
    ctx.alert(HIGH, reasons.ND_FLOOD,
              f"ND flood: {count} {name} in {rates.window:g} s (limit "
              f"{rates.rates[kind]:g}/s); {'at least ' if seen >= MAX_SOURCES else ''}"
              f"{seen} source{'' if seen == 1 else 's'} in its second half, top: {top}",
              count=count, window=rates.window)
    return PASS
