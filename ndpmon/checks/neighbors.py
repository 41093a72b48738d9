"""Neighbour tracking: NDPMon's ``new_station()`` (``monitoring.c:500-781``), O(1) here.

It runs for RS and NS with a source other than ``::``, for RAs the router checks let
through, and for NAs (COMPATIBILITY.md §3.1 rows 10, 12, 13, 17); an NA from ``::`` never gets
here (it is malformed, RFC 4861 §4.4), where NDPMon filed it under the LLA ``::``.
Three lookups decide: the Ethernet source is some neighbour's current MAC (``by_mac``),
the IPv6 source is some neighbour's link-local address (``by_lla``) or one of its global
addresses (``by_ip``).
The reasons, priorities and message texts are the original's (COMPATIBILITY.md §2.3), including
the newline that ends ``new IP`` and ``new lla``.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import UNSPECIFIED, ip_short, is_link_local, mac_str
from ndpmon.codec.message import NA, NS, RA, RS, NdMessage
from ndpmon.state.neighbors import Neighbor
from ndpmon.checks.alert import Text
from ndpmon.checks.registry import HIGH, LOW, PASS, STOP, check
from ndpmon.checks.context import Context

#: A neighbour silent for longer than this comes back with ``new activity`` (6 x 30 days).
NEW_ACTIVITY_AFTER = 6 * 30 * 24 * 3600


@check("new_station", (RS, RA, NS, NA), skip_unspecified=True,
       reasons=(reasons.NEW_STATION, reasons.NEW_LLA, reasons.NEW_IP, reasons.CHANGED_ETHERNET,
                reasons.WRONG_COUPLE_MAC_LLA, reasons.FLIP_FLOP, reasons.REUSED_OLD_ETHERNET,
                reasons.NEW_ACTIVITY))
def new_station(msg: NdMessage, ctx: Context) -> int:
    """Learn who is on the link and raise an alert when a MAC or address changes hands."""
    src = msg.src
    if src[0] == 0xFF:  # multicast sources are ignored (ip multicast says it)
        return PASS
    cache = ctx.state.neighbors
    mac, local = msg.eth_src, is_link_local(src)
    nb = cache.by_mac.get(mac)
    owner = cache.by_lla.get(src) if local else cache.by_ip.get(src)
    if nb is None and owner is None:
        return _new(msg, ctx, mac, src, local)
    if nb is None:
        return _mac_changed(msg, ctx, owner, mac, src)
    if local:
        return _known_lla(msg, ctx, nb, owner, src)
    return _known_ip(msg, ctx, nb, owner, src)


def _new(msg: NdMessage, ctx: Context, mac: bytes, src: bytes, local: bool) -> int:
    """Neither the MAC nor the address is known: a new station."""
    if local:
        ctx.state.neighbors.add(mac, src, ctx.now)
    else:
        ctx.state.neighbors.add(mac, UNSPECIFIED, ctx.now, src)
    ctx.alert(LOW, reasons.NEW_STATION, Text(_new_station_text, mac, src))
    return PASS


def _new_station_text(mac: bytes, src: bytes) -> str:
    """The message of ``new station``, made when an output reads it (one per frame of a
    flood from random sources)."""
    return f"new station {mac_str(mac)} {ip_short(src)}"


def _known_lla(msg: NdMessage, ctx: Context, nb: Neighbor, owner: Neighbor | None,
               src: bytes) -> int:
    """Known MAC, link-local source: same LLA, a new one, or another station's LLA."""
    if owner is None:
        ctx.state.neighbors.set_lla(nb, src)
        _seen(ctx, nb)  # NDPMon resets the timer (new activity) before this alert
        ctx.alert(LOW, reasons.NEW_LLA, f"new lla {mac_str(nb.mac)} {ip_short(src)}\n")
        return PASS
    if owner is not nb:
        ctx.alert(HIGH, reasons.WRONG_COUPLE_MAC_LLA,
                  f"wrong couple MAC/LLA in icmp6 {mac_str(nb.mac)} {ip_short(src)}",
                  mac2=owner.mac)
        # NDPMon returned 0 here but 2 for the other spoofing alerts; the value is not
        # read (new_station is not stop_on_error), so it says what the others say.
        return STOP
    return _seen(ctx, nb)


def _known_ip(msg: NdMessage, ctx: Context, nb: Neighbor, owner: Neighbor | None,
              src: bytes) -> int:
    """Known MAC, global source: a new address, a known one, or one that moved here."""
    cache, now = ctx.state.neighbors, ctx.now
    if owner is None:
        cache.add_address(nb, src, now)
        _seen(ctx, nb)  # NDPMon resets the timer (new activity) before this alert
        ctx.alert(LOW, reasons.NEW_IP, f"new IP {mac_str(nb.mac)} {ip_short(src)}\n")
        return PASS
    if owner is nb:
        cache.see_address(nb, src, now)
        return _seen(ctx, nb)
    old_mac = owner.mac
    cache.move_address(src, nb, now)
    ctx.alert(LOW, reasons.CHANGED_ETHERNET,
              f"changed ethernet address {mac_str(old_mac)} to {mac_str(nb.mac)} "
              f"{ip_short(src)}", mac2=old_mac)
    return STOP


def _mac_changed(msg: NdMessage, ctx: Context, owner: Neighbor, mac: bytes,
                 src: bytes) -> int:
    """An unknown MAC uses a known station's address: flip flop, reuse or change."""
    current = owner.mac
    if mac in owner.old_macs and mac == owner.previous_mac:
        ctx.alert(HIGH, reasons.FLIP_FLOP,
                  f"flip flop between {mac_str(current)} and {mac_str(mac)} for "
                  f"{ip_short(src)}", mac2=current)
    elif mac in owner.old_macs:
        ctx.alert(HIGH, reasons.REUSED_OLD_ETHERNET,
                  f"reused old ethernet address {mac_str(mac)} instead of "
                  f"{mac_str(current)} for {ip_short(src)}", mac2=current)
    else:
        ctx.alert(HIGH, reasons.CHANGED_ETHERNET,
                  f"changed ethernet address {mac_str(current)} to {mac_str(mac)} "
                  f"{ip_short(src)}", mac2=current)
    ctx.state.neighbors.set_mac(owner, mac)
    return STOP


def _seen(ctx: Context, nb: Neighbor) -> int:
    """NDPMon's timer reset, with ``new activity`` after six months of silence."""
    now = ctx.now
    quiet = now - nb.lastseen
    ctx.state.neighbors.touch(nb, now)
    if quiet <= NEW_ACTIVITY_AFTER:
        return PASS
    ctx.alert(LOW, reasons.NEW_ACTIVITY, f"new activity from: {mac_str(nb.mac)} {ip_short(nb.lla)}",
              ipv6=nb.lla, silent_days=int(quiet // 86400))
    return PASS
