"""Neighbour tracking: NDPMon's ``new_station()`` (``monitoring.c:500-781``), O(1) here.

It runs for RS and NS with a source other than ``::``, for RAs the router checks let
through, and for NAs (COMPATIBILITY.md §3.1 rows 10, 12, 13, 17); an NA from ``::`` never gets
here (it is malformed, RFC 4861 §4.4), where NDPMon filed it under the LLA ``::``.
Three lookups decide: the Ethernet source is some neighbour's current MAC (``by_mac``),
the IPv6 source is some neighbour's link-local address (``by_lla``) or one of its global
addresses (``by_ip``).
The reasons, priorities and message texts are the original's (COMPATIBILITY.md §2.3), including
the newline that ends ``new IP`` and ``new lla``.

Two alerts are ndpmon's own (COMPATIBILITY.md §2.8), raised after the original's:
``address conflict`` when another station takes an address whose holder is still alive
(NDPMon said only a low ``changed ethernet address`` and then nothing, while the
holder's traffic went to the taker), and ``neighbor cache poisoning`` when an NS or RS
binds its source to a MAC that is not the one the cache has for it. Their memory is the
cache's own (when each address was last heard from its holder), capped as the cache is.
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
#: "Shortly" of ``address conflict`` (seconds): an address taken by another station while
#: its holder was heard from it this recently (it sent ND from the address, or answered
#: for it), or whose holder speaks for it again this soon after, is in conflict. A busy
#: host is heard every 15-45 s (RFC 4861 §10 REACHABLE_TIME: its router re-solicits it).
CONFLICT_WINDOW = 60.0


@check("new_station", (RS, RA, NS, NA), skip_unspecified=True,
       reasons=(reasons.NEW_STATION, reasons.NEW_LLA, reasons.NEW_IP, reasons.CHANGED_ETHERNET,
                reasons.WRONG_COUPLE_MAC_LLA, reasons.FLIP_FLOP, reasons.REUSED_OLD_ETHERNET,
                reasons.NEW_ACTIVITY, reasons.ADDRESS_CONFLICT, reasons.NEIGHBOR_POISONING))
def new_station(msg: NdMessage, ctx: Context) -> int:
    """Learn who is on the link and raise an alert when a MAC or address changes hands."""
    src = msg.src
    if src[0] == 0xFF:  # multicast sources are ignored (ip multicast says it)
        return PASS
    mac = msg.eth_src
    if msg.type == NA:
        if msg.target != src:  # answers for an address it is not sent from
            return _answering(msg, ctx, src)
    elif msg.slla != mac and msg.slla is not None and msg.type != RA:
        return _solicitation(msg, ctx, src, msg.slla)
    # the body of _station, inline: the path of every frame of a flood
    cache = ctx.state.neighbors
    local = is_link_local(src)
    nb = cache.by_mac.get(mac)
    owner = cache.by_lla.get(src) if local else cache.by_ip.get(src)
    if nb is None and owner is None:
        return _new(msg, ctx, mac, src, local)
    if nb is None:
        return _mac_changed(msg, ctx, owner, mac, src)
    if local:
        return _known_lla(msg, ctx, nb, owner, src)
    return _known_ip(msg, ctx, nb, owner, src)


def _station(msg: NdMessage, ctx: Context, src: bytes) -> int:
    """NDPMon's new_station proper, for a unicast source (inline in new_station)."""
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
    old_mac, held = owner.mac, owner.addresses.get(src)
    cache.move_address(src, nb, now)
    ctx.alert(LOW, reasons.CHANGED_ETHERNET,
              f"changed ethernet address {mac_str(old_mac)} to {mac_str(nb.mac)} "
              f"{ip_short(src)}", mac2=old_mac)
    if held is not None and _alive(ctx, held.lastseen, nb.mac, src):
        _conflict(ctx, old_mac, nb.mac, src, held.lastseen, "source")
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


# -- ndpmon's own: conflicts and poisoning ---------------------------------------------

def _alive(ctx: Context, heard: float, taker: bytes, addr: bytes) -> bool:
    """RFC 4862 §5.4: was the holder of ``addr`` heard within CONFLICT_WINDOW, and not
    before a DAD probe of ``addr`` by ``taker`` that it left unanswered?

    A new holder that probed first and got no answer took a free address (a replaced
    NIC, a migrated VM); a holder that answered the probe, or was never probed, is alive.
    """
    if ctx.now - heard > CONFLICT_WINDOW:
        return False
    probe = ctx.state.dad.get(addr)
    return probe is None or probe[0] != taker or probe[1] <= heard


def _conflict(ctx: Context, holder: bytes, taker: bytes, addr: bytes, heard: float,
              via: str) -> None:
    """Raise ``address conflict``: ``taker`` uses ``addr`` while ``holder`` is alive."""
    ctx.alert(HIGH, reasons.ADDRESS_CONFLICT, Text(_conflict_text, holder, taker, addr),
              mac2=holder, ipv6=addr, via=via, taker=taker, heard_ago=round(ctx.now - heard, 3))


def _conflict_text(holder: bytes, taker: bytes, addr: bytes) -> str:
    """The message of ``address conflict`` (made when read: one per claim of a flood)."""
    return f"address conflict between {mac_str(holder)} and {mac_str(taker)} for {ip_short(addr)}"


def _answering(msg: NdMessage, ctx: Context, src: bytes) -> int:
    """RFC 4861 §7.2.4-§7.2.5: an NA for a target other than its source.

    From the target's holder, the holder is heard for it; from another station, naming
    another MAC than the holder's, it claims the target: a conflict if the holder is alive.
    """
    result = _station(msg, ctx, src)
    cache, target = ctx.state.neighbors, msg.target
    local = is_link_local(target)
    holder = cache.by_lla.get(target) if local else cache.by_ip.get(target)
    if holder is None:
        return result
    taker = msg.tlla
    if holder.mac == msg.eth_src:
        if not local:
            cache.see_address(holder, target, ctx.now)
    elif taker is not None and taker != holder.mac:  # none: nothing bound (§7.2.5)
        held = holder.addresses.get(target)
        heard = holder.lastseen if local or held is None else held.lastseen
        if _alive(ctx, heard, taker, target):
            _conflict(ctx, holder.mac, taker, target, heard, "target")
    return result


def _solicitation(msg: NdMessage, ctx: Context, src: bytes, slla: bytes) -> int:
    """RFC 4861 §7.2.3 (NS), §6.2.6 (RS): the receiver binds the source to the Source
    Link-Layer option. One that is not the Ethernet source (``ethernet mismatch``, low)
    and names another MAC than the cache has for the source, or another known station's
    MAC, poisons that entry: ``neighbor cache poisoning``, after NDPMon's alerts."""
    cache = ctx.state.neighbors
    holder = cache.by_lla.get(src) if is_link_local(src) else cache.by_ip.get(src)
    owner = holder.mac if holder is not None else None
    poisoned = slla != owner if owner is not None else slla in cache.by_mac
    result = _station(msg, ctx, src)
    if poisoned:
        ctx.alert(HIGH, reasons.NEIGHBOR_POISONING,
                  Text(_poisoning_text, msg.type_name, msg.eth_src, src, slla, owner),
                  mac2=slla, owner=owner)
    return result


def _poisoning_text(kind: str, mac: bytes, src: bytes, slla: bytes, owner: bytes | None
                    ) -> str:
    """The message of ``neighbor cache poisoning`` (made when read: one per frame of a
    flood)."""
    why = f"not to its owner {mac_str(owner)}" if owner else "another station's MAC"
    return (f"neighbor cache poisoning: {kind} from {mac_str(mac)} binds {ip_short(src)} "
            f"to {mac_str(slla)}, {why}")
