"""ND floods: more RAs, RSs, NSs, NAs or Redirects on a link than a LAN sends.

A flood is an attack of its own (RFC 6583 §4: a neighbour-cache exhaustion makes the
router solicit every address of a /64; THC's flood_router26 and flood_advertise6 swamp
every host's kernel), and the per-message alerts it causes say what each frame is, not
that there are a hundred thousand of them. This check counts each message type per probe
in fixed windows of ``<limits rate_window>`` seconds and raises one ``ND flood`` alert
per type and window when the count passes ``rate * window``. It describes the senders of
the window's second half (from half the limit on, see ndpmon/state/rates.py): how many
source MACs, the busiest ones (unless there are many and each sent once: a flood from
random MACs), how many vendor prefixes and locally administered MACs those are, and the
prefix that all IPv6 sources, and all targets, share: ``ND flood: 1001 NA in 10 s (limit
100/s); 500 sources in its second half; MACs: 500 vendor prefixes, 251 locally
administered; from 2001:db8:1::/64; targets in 2001:db8:1::/64``.

The defaults are well above a LAN of a few hundred hosts (RFC 4861 §10: a router sends
an unsolicited RA every 4-1800 s and at most one solicited RA per 3 s; a host sends a
few NS per new peer and one NUD probe per peer and reachable time): RA 10/s, RS 50/s,
NS 100/s, NA 100/s, Redirect 20/s; 0 turns a type off. A Linux router whose neighbour
table is full (1024 entries by default) solicits at most about 1000 addresses a second
during a cache exhaustion, so the NS limit must stay well below that to see one; raise
it on a segment with thousands of hosts.

State per probe: one counter per type and at most ``MAX_SOURCES`` source MACs per type
per window (later new ones make the count ``at least``), two addresses and two lengths,
so a flood from random MACs costs bounded memory.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.codec.message import TYPE_NAMES, NdMessage
from ndpmon.checks.registry import HIGH, PASS, check
from ndpmon.checks.context import Context
from ndpmon.state.rates import MAX_SOURCES, TOP, Senders

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
    if count <= rates.half[kind]:
        return PASS
    senders = rates.over_half(kind, count, msg.eth_src, msg.src, msg.target)
    if senders is None:
        return PASS
    seen = len(senders.macs)
    ctx.alert(HIGH, reasons.ND_FLOOD,
              f"ND flood: {count} {TYPE_NAMES[kind]} in {rates.window:g} s (limit "
              f"{rates.rates[kind]:g}/s); {'at least ' if seen >= MAX_SOURCES else ''}"
              f"{seen} source{'' if seen == 1 else 's'} in its second half"
              f"{describe(senders)}", count=count, window=rates.window, sources=seen)
    return PASS


def describe(senders: Senders) -> str:
    """The busiest sources (unless there are many and each sent once), what their MACs
    have in common, and the prefixes their addresses and targets share."""
    top, seen = senders.top(), len(senders.macs)
    text = ""
    if seen <= TOP or top[0][1] > 1:
        text = ", top: " + ", ".join(f"{mac_str(m)} x{n}" for m, n in top)
    if seen > 1:
        text += "; MACs: " + _vendors(senders.macs)
    text += "; from " + _prefix(senders.src, senders.src_bits)
    if senders.target >= 0:
        text += ("; target " if senders.target_bits == 128 else "; targets in ") + \
            _prefix(senders.target, senders.target_bits)
    return text


def _vendors(macs) -> str:
    """``3 vendor prefixes, 2 locally administered``: random MACs have many of both."""
    prefixes = {mac[:3] for mac in macs}
    local = sum(1 for mac in macs if mac[0] & 2)
    text = (f"1 vendor prefix ({'%x:%x:%x' % tuple(next(iter(prefixes)))})"
            if len(prefixes) == 1 else f"{len(prefixes)} vendor prefixes")
    if local:
        text += ", all locally administered" if local == len(macs) else \
            f", {local} locally administered"
    return text


def _prefix(first: int, bits: int) -> str:
    """``2001:db8::/64``, or the address alone when all were the same."""
    shift = 128 - bits
    text = ip_short(((first >> shift) << shift).to_bytes(16, "big"))
    return text if bits == 128 else f"{text}/{bits}"
