"""Checks that apply to every ND message: NDPMon's general checks and our two new ones.

NDPMon's ``monitoring.c:307-498`` (COMPATIBILITY.md §2.2, "General checks"): ethernet mismatch,
ethernet broadcast, ip multicast, bogon, hop limit; reason strings and message texts are
the original's. New here: ND behind extension headers or in fragments (RFC 6980, used to
evade RA-Guard, RFC 7113) and messages that break RFC 4861's validity rules.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import UNSPECIFIED, ip_full, ip_short, is_local_scope, mac_str
from ndpmon.codec.message import NA, REDIRECT, NdMessage, header_chain
from ndpmon.checks.alert import Text
from ndpmon.checks.registry import HIGH, LOW, PASS, STOP, check
from ndpmon.checks.context import Context

BAD_SOURCE_MACS = (bytes(6), b"\xff" * 6)


@check("watch_ext_headers",
       reasons=(reasons.BEHIND_EXT_HEADERS, reasons.FRAGMENTED_ND))
def ext_headers(msg: NdMessage, ctx: Context) -> int:
    """RFC 6980 §5: hosts MUST drop fragmented ND; headers before ND evade RA-Guard."""
    if not msg.ext:
        return PASS
    chain = header_chain(msg.ext)
    head = f"{mac_str(msg.eth_src)} {ip_full(msg.src)} {msg.type_name} headers={chain}"
    if msg.fragment:
        ctx.alert(HIGH, reasons.FRAGMENTED_ND, f"fragmented ND message {head}",
                  headers=chain)
    else:
        ctx.alert(HIGH, reasons.BEHIND_EXT_HEADERS,
                  f"ND message behind extension headers {head}", headers=chain)
    return PASS


@check("watch_malformed", stop_on_error=True, reasons=(reasons.MALFORMED,))
def malformed(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: hosts silently discard these.

    Such a message changes no host's state, so no other check runs on it (as for
    NDPMon's STOP_ON_ERROR); the alert says someone on the link sends broken ND. A
    message with only a broken option is still accepted by hosts (the option is
    skipped, RFC 4191 §3.1): it is reported and the other checks run.
    """
    fault = msg.malformed or msg.opt_fault
    if fault is None:
        return PASS
    ctx.alert(LOW, reasons.MALFORMED,
              f"malformed ND message {mac_str(msg.eth_src)} {ip_full(msg.src)} "
              f"{msg.type_name}: {fault}", fault=fault)
    return STOP if msg.malformed else PASS


@check("watch_eth_mismatch", reasons=(reasons.ETHERNET_MISMATCH,))
def eth_mismatch(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §4.6.1: the link-layer option should name the sender's own MAC.

    RS/RA/NS: the first Source Link-Layer option; NA: the first Target Link-Layer option;
    Redirects are not checked (as in NDPMon, ``monitoring.c:307-367``).
    """
    if msg.type == REDIRECT:
        return PASS
    opt = msg.tlla if msg.type == NA else msg.slla
    if opt is None or opt == msg.eth_src:
        return PASS
    ctx.alert(LOW, reasons.ETHERNET_MISMATCH,
              f"ethernet mismatch {mac_str(opt)} {mac_str(msg.eth_src)} {ip_full(msg.src)}",
              mac2=opt)
    return PASS


@check("watch_eth_broadcast", reasons=(reasons.ETHERNET_BROADCAST,))
def eth_broadcast(msg: NdMessage, ctx: Context) -> int:
    """IEEE 802: a source MAC is never all-zero, broadcast or multicast (group bit).

    NDPMon caught 00:..:00, ff:..:ff and exactly 33:33:0:0:0:1; we catch every group
    address (COMPATIBILITY.md §2.2 notes the others were missed).
    """
    mac = msg.eth_src
    if not (mac[0] & 1 or mac in BAD_SOURCE_MACS):
        return PASS
    ctx.alert(LOW, reasons.ETHERNET_BROADCAST,
              f"ethernet broadcast {mac_str(mac)} {ip_full(msg.src)}")
    return PASS


@check("watch_ip_broadcast", reasons=(reasons.IP_MULTICAST,))
def ip_multicast(msg: NdMessage, ctx: Context) -> int:
    """RFC 4291 §2.7: multicast addresses must not be used as source addresses."""
    if msg.src[0] != 0xFF:
        return PASS
    ctx.alert(LOW, reasons.IP_MULTICAST, f"ip multicast {mac_str(msg.eth_src)} {ip_full(msg.src)}")
    return PASS


@check("watch_bogon", reasons=(reasons.BOGON,))
def bogon(msg: NdMessage, ctx: Context) -> int:
    """A global source outside every prefix the probe's routers advertise (RFC 4861 §6.3.4).

    Multicast, link- and site-local sources and ``::`` are not global, so never bogons.
    NDPMon compared 64 bits whatever the prefix length; we honour the configured length.
    """
    src = msg.src
    if src[0] == 0xFF or is_local_scope(src) or src == UNSPECIFIED or src in ctx.state.onlink:
        return PASS
    ctx.alert(LOW, reasons.BOGON, Text(_bogon_text, msg.eth_src, src))
    return PASS


def _bogon_text(mac: bytes, src: bytes) -> str:
    """The message of ``bogon`` (made when read: one per frame of a flood from random
    prefixes)."""
    return f"bogon {mac_str(mac)} {ip_short(src)}"


@check("watch_hop_limit", reasons=(reasons.WRONG_HOP_LIMIT,))
def hop_limit(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §6.1/§7.1/§8.1: ND is sent with hop limit 255, proof it was not routed."""
    if msg.hlim == 255:
        return PASS
    ctx.alert(LOW, reasons.WRONG_HOP_LIMIT, f"IPv6 Hop Limit {msg.hlim}", hlim=msg.hlim)
    return PASS
