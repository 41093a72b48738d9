"""Frame bytes to an ND message: a pure function, every length checked against the buffer.

NDPMon walked options with ``while (type != 0) pos += len*8`` and no bound, so one option
of length 0 hung it for ever (COMPATIBILITY.md §7.1). Here each step of every loop advances by at
least one byte and every read is bounded by the end of the IPv6 payload, so ``decode`` returns for
any input, in time linear in its length. It never raises for packet content.

Layers: Ethernet II with up to two 802.1Q/802.1ad tags; IPv6 with its extension-header
chain (hop-by-hop, routing, fragment, destination options, AH); ICMPv6 RS, RA, NS, NA and
Redirect with all their options. The RFC 4861 validity rules (§6.1.1, §6.1.2, §7.1.1,
§7.1.2, §8.1) are checked here and the first one broken is put in ``msg.malformed``.
"""

from __future__ import annotations

import struct

from ndpmon.codec.addr import UNSPECIFIED, is_link_local
from ndpmon.codec.message import (
    EXT_AH, EXT_DESTINATION, EXT_FRAGMENT, EXT_HOP_BY_HOP, EXT_ROUTING,
    NA, NS, RA, REDIRECT, RS, ND_TYPES, NA_SOLICITED,
    Dnssl, Fragment, LinkLayer, Mtu, NdMessage, NotND, PrefixInfo, Rdnss, Redirected, RouteInfo,
    Unknown,
)

__all__ = ["decode"]

ETH_IPV6 = 0x86DD
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
EXT_SIMPLE = frozenset((EXT_HOP_BY_HOP, EXT_ROUTING, EXT_DESTINATION))  # length in 8 bytes
ICMPV6 = 58

_RA = struct.Struct("!BBHII")
_PIO = struct.Struct("!BBIII16s")
_RIO = struct.Struct("!BBI")
_U32 = struct.Struct("!I")
_H = struct.Struct("!H")

# minimum ICMPv6 lengths, RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1
MIN_LEN = {RS: 8, RA: 16, NS: 24, NA: 24, REDIRECT: 40}


def decode(frame: bytes) -> NdMessage | NotND:
    """Decode one Ethernet frame; return the ND message or why it is not one."""
    n = len(frame)
    if n < 14:
        return NotND("truncated Ethernet header")
    etype = frame[12] << 8 | frame[13]
    if etype == ETH_IPV6:  # untagged: the common case
        if n >= 78 and frame[20] == ICMPV6 and (frame[54] == NS or frame[54] == NA):
            msg = _ns_na(frame, n)
            if msg is not None:
                return msg
        return _ipv6(frame, 14, None)
    pos, vlan = 14, None
    for _ in range(2):
        if etype not in VLAN_TAGS:
            break
        if n < pos + 4:
            return NotND("truncated 802.1Q tag")
        vlan = (frame[pos] << 8 | frame[pos + 1]) & 0x0FFF
        etype = frame[pos + 2] << 8 | frame[pos + 3]
        pos += 4
    if etype != ETH_IPV6:
        return NotND("not IPv6")
    return _ipv6(frame, pos, vlan)


def _ipv6(frame: bytes, pos: int, vlan: int | None) -> NdMessage | NotND:
    if len(frame) < pos + 40:
        return NotND("truncated IPv6 header")
    if frame[pos] >> 4 != 6:
        return NotND("IP version is not 6")
    plen = frame[pos + 4] << 8 | frame[pos + 5]
    end = pos + 40 + plen
    if end > len(frame):
        return NotND("IPv6 payload length runs past the frame")
    nh, hlim = frame[pos + 6], frame[pos + 7]
    src, dst = frame[pos + 8:pos + 24], frame[pos + 24:pos + 40]
    pos += 40
    ext, frag = (), None
    if nh != ICMPV6:
        try:
            pos, ext, frag = _ext_chain(frame, pos, end, nh)
        except _Stop as stop:
            return _not_nd(stop, frame, src, dst, end, vlan)
    if pos + 4 > end or frame[pos] not in ND_TYPES:
        reason = ("truncated ICMPv6 header" if pos + 4 > end
                  else f"ICMPv6 type {frame[pos]}")
        return _not_nd(_Stop(reason, frag, ext, pos + 4 > end), frame, src, dst, end, vlan)
    msg = NdMessage(frame[0:6], frame[6:12], vlan, src, dst, hlim, ext, frag is not None,
                    frame[pos], frame[pos + 1])
    msg.plen = plen
    _icmp(msg, frame, pos, end, frag is not None and frag[2])
    return msg


def _ns_na(frame: bytes, n: int) -> NdMessage | None:
    """An untagged NS or NA without extension headers, with no option or one link-layer
    option: what a flood is made of, decoded in one step (None: any other shape, for the
    general path). The same fields, checks and faults as ``_ipv6`` and ``_icmp``."""
    plen = frame[18] << 8 | frame[19]
    if frame[14] >> 4 != 6 or 54 + plen > n or not (
            plen == 24 or plen == 32 and frame[79] == 1 and (frame[78] == 1 or frame[78] == 2)):
        return None
    t = frame[54]
    msg = NdMessage(frame[0:6], frame[6:12], None, frame[22:38], frame[38:54], frame[21], (),
                    False, t, frame[55])
    msg.plen = plen
    msg.checksum_ok = (int.from_bytes(frame[22:54 + plen], "big") + plen + ICMPV6) \
        % 0xFFFF == 0
    msg.target = frame[62:78]
    if t == NA:
        msg.na_flags = frame[58]
    if plen == 32:
        otype, mac = frame[78], frame[80:86]
        msg.options = (LinkLayer(otype, mac),)
        if otype == 1:
            msg.slla = mac
        else:
            msg.tlla = mac
    msg.malformed = _validity(msg)
    return msg


class _Stop(Exception):
    """Why the walk to the ICMPv6 header ended early, with the fragment header seen."""

    def __init__(self, reason: str, frag: tuple | None = None, ext: tuple = (),
                 cut: bool = True) -> None:
        self.reason, self.frag, self.ext, self.cut = reason, frag, tuple(ext), cut


def _not_nd(stop: _Stop, frame: bytes, src: bytes, dst: bytes, end: int,
            vlan: int | None) -> NotND:
    """NotND, or a Fragment when the frame is part of a fragmented packet (not atomic)."""
    frag = stop.frag
    if frag is None or (frag[1] == 0 and not frag[2]):
        return NotND(stop.reason)
    ident, offset, more, data = frag
    incomplete = offset == 0 and stop.cut
    reason = "incomplete header chain" if incomplete else stop.reason
    return Fragment(reason, frame[6:12], src, dst, ident, offset, end - data, more,
                    incomplete, stop.ext, vlan)


def _ext_chain(frame: bytes, pos: int, end: int, nh: int):
    """Walk the extension headers (RFC 8200 §4) up to ICMPv6.

    Returns (ICMPv6 offset, header types, fragment) where fragment is None or
    (identification, offset in bytes, more fragments follow, offset of its data);
    raises _Stop when the walk cannot reach ICMPv6. Each header is at least 8 bytes,
    so the walk ends.
    """
    ext: list[int] = []
    frag = None
    while nh != ICMPV6:
        if nh in EXT_SIMPLE or nh == EXT_AH:
            if pos + 8 > end:
                raise _Stop("truncated extension header", frag, ext)
            size = (frame[pos + 1] + 2) * 4 if nh == EXT_AH else (frame[pos + 1] + 1) * 8
        elif nh == EXT_FRAGMENT:
            if pos + 8 > end:
                raise _Stop("truncated fragment header", frag, ext)
            offmf = frame[pos + 2] << 8 | frame[pos + 3]
            frag = (frame[pos + 4:pos + 8], (offmf >> 3) * 8, bool(offmf & 1), pos + 8)
            if offmf >> 3:
                raise _Stop("non-first fragment", frag, ext + [nh], cut=False)
            size = 8
        else:
            raise _Stop(f"next header {nh}", frag, ext, cut=False)
        ext.append(nh)
        nh = frame[pos]
        pos += size
        if pos > end:
            raise _Stop("extension header runs past the payload", frag, ext)
    return pos, tuple(ext), frag


def _icmp(msg: NdMessage, frame: bytes, pos: int, end: int, partial: bool) -> None:
    """Fill the ND body and options of ``msg``; set ``malformed`` on the first fault."""
    length = end - pos
    if not partial:
        if msg.ext:
            msg.checksum_ok = _checksum_ok(msg, frame, pos, end)
        else:  # _checksum_ok inline: every frame comes here
            value = int.from_bytes(frame[pos - 32:end], "big")
            if length & 1:
                value <<= 8
            msg.checksum_ok = (value + length + ICMPV6) % 0xFFFF == 0
    t = msg.type
    body = MIN_LEN[t]
    if length < body:
        msg.malformed = f"ICMPv6 length {length} < {body}"
        return
    if t == RA:
        (msg.chlim, msg.ra_flags, msg.routerlifetime, msg.reachabletime,
         msg.retranstimer) = _RA.unpack_from(frame, pos + 4)
    elif t != RS:
        msg.target = frame[pos + 8:pos + 24]
        if t == NA:
            msg.na_flags = frame[pos + 4]
        elif t == REDIRECT:
            msg.rd_dst = frame[pos + 24:pos + 40]
    fault = _options(msg, frame, pos + body, end, partial)
    msg.malformed = fault or _validity(msg)


def _checksum_ok(msg: NdMessage, frame: bytes, pos: int, end: int) -> bool:
    """RFC 4443 §2.3 checksum over the pseudo-header (RFC 8200 §8.1) and the message.

    The ones' complement sum of 16-bit words is congruent to the big-endian value of the
    bytes modulo 0xFFFF (2**16 = 1 mod 0xFFFF), and a correct checksum makes it 0. An
    odd length is padded with a zero byte (a shift by 8 bits). Without extension
    headers the addresses and the message are contiguous in the frame: one conversion.
    """
    length = end - pos
    if msg.ext:
        value = (int.from_bytes(msg.src + msg.dst, "big") << (8 * length)) | \
            int.from_bytes(frame[pos:end], "big")
    else:
        value = int.from_bytes(frame[pos - 32:end], "big")
    if length & 1:
        value <<= 8
    return (value + length + ICMPV6) % 0xFFFF == 0


def _options(msg: NdMessage, frame: bytes, pos: int, end: int, partial: bool) -> str | None:
    """Decode the options (RFC 4861 §4.6); return the first message-level fault or None.

    A length of 0 or an option running past the message invalidates the whole message
    (§6.1.1-§8.1: hosts drop it). An option whose own fields are wrong (a short prefix
    option, a prefix length over 128) is skipped, as hosts skip it (RFC 4191 §3.1), and
    noted in ``msg.opt_fault``. In the first fragment of a message the options end where
    the fragment ends.
    """
    opts, fault = [], None
    while pos < end:
        if pos + 2 > end:
            fault = None if partial else "truncated option header"
            break
        otype, olen = frame[pos], frame[pos + 1] * 8
        if olen == 0:
            fault = f"option type {otype} has length 0"
            break
        if pos + olen > end:
            fault = None if partial else f"option type {otype} runs past the message"
            break
        if otype == 1 or otype == 2:  # the common case, inline
            mac = frame[pos + 2:pos + 8]
            opts.append(LinkLayer(otype, mac))
            if otype == 1 and msg.slla is None:
                msg.slla = mac
            elif otype == 2 and msg.tlla is None:
                msg.tlla = mac
        else:
            opt = _option(otype, frame[pos:pos + olen])
            if type(opt) is str:
                msg.opt_fault = msg.opt_fault or opt
            else:
                opts.append(opt)
        pos += olen
    msg.options = tuple(opts)
    return fault


def _option(otype: int, body: bytes):
    """One option other than link-layer from its bytes (length checked); a str is a fault."""
    n = len(body)
    if otype == 3:
        if n != 32:
            return f"prefix information option length {n} != 32"
        plen, flags, valid, pref, res2, prefix = _PIO.unpack_from(body, 2)
        if plen > 128:
            return f"prefix length {plen} > 128"
        return PrefixInfo(plen, flags, valid, pref, res2, prefix)
    if otype == 4:
        return Redirected(body[8:])
    if otype == 5:
        return Mtu(_U32.unpack_from(body, 4)[0])
    if otype == 24:
        return _route_info(body)
    if otype == 25:
        lifetime = _U32.unpack_from(body, 4)[0]
        return Rdnss(lifetime, tuple(body[i:i + 16] for i in range(8, n - 15, 16)))
    if otype == 31:
        return _dnssl(body)
    return Unknown(otype, body[2:])


def _route_info(body: bytes):
    """Route Information option, RFC 4191 §2.3: 1 to 3 units, prefix bits must fit."""
    n = len(body)
    if n > 24:
        return f"route information option length {n} > 24"
    plen, pref, lifetime = _RIO.unpack_from(body, 2)
    if plen > 128 or (plen > 64 and n < 24) or (plen > 0 and n < 16):
        return f"route information option length {n} too short for /{plen}"
    return RouteInfo(plen, pref, lifetime, body[8:24].ljust(16, b"\0"))


def _dnssl(body: bytes) -> Dnssl:
    """DNSSL option, RFC 8106 §5.2: domain names in RFC 1035 §3.1 label form, 0-padded."""
    lifetime = _U32.unpack_from(body, 4)[0]
    domains: list[str] = []
    labels: list[str] = []
    pos, end = 8, len(body)
    while pos < end:
        size = body[pos]
        if size == 0:
            if not labels:  # padding after the last name
                if any(body[pos:end]):
                    return Dnssl(lifetime, tuple(domains), "data after the padding")
                break
            domains.append(".".join(labels))
            labels = []
            pos += 1
            continue
        if size > 63:
            return Dnssl(lifetime, tuple(domains), f"label length {size} > 63")
        if pos + 1 + size > end:
            return Dnssl(lifetime, tuple(domains), "label runs past the option")
        labels.append(body[pos + 1:pos + 1 + size].decode("latin-1").lower())
        pos += 1 + size
    if labels:
        return Dnssl(lifetime, tuple(domains), "name not terminated")
    return Dnssl(lifetime, tuple(domains), None)


def _validity(msg: NdMessage) -> str | None:
    """The RFC 4861 validity rules beyond lengths (hop limit has its own NDPMon check)."""
    if msg.checksum_ok is False:
        return "bad ICMPv6 checksum"
    if msg.code != 0:
        return f"ICMPv6 code {msg.code}"
    t = msg.type
    if msg.src == UNSPECIFIED and msg.slla is not None and t in (RS, NS):
        return "source link-layer option from the unspecified address"  # §6.1.1, §7.1.1
    if t == RA or t == REDIRECT:
        if not is_link_local(msg.src):
            return "source is not link-local"  # §6.1.2, §8.1
    if t == NS:
        if msg.target[0] == 0xFF:
            return "target is multicast"  # §7.1.1
        if msg.src == UNSPECIFIED and msg.dst[:13] != SOLICITED_NODE:
            return "DAD solicitation not sent to a solicited-node address"  # §7.1.1
    elif t == NA:
        if msg.src == UNSPECIFIED:
            return "advertisement from the unspecified address"  # §4.4, §7.2.4
        if msg.dst[0] == 0xFF and msg.na_flags & NA_SOLICITED:
            return "solicited flag set on a multicast advertisement"  # §7.1.2
    elif t == REDIRECT:
        if msg.rd_dst[0] == 0xFF:
            return "destination is multicast"  # §8.1
        # §8.1 also wants the target to be link-local or the destination. Not applied:
        # NDPMon raised its redirect alerts for such Redirects (golden frame 21), and a
        # Redirect from a non-router is worth its high-priority alert even if ignored.
    return None


SOLICITED_NODE = bytes.fromhex("ff0200000000000000000001ff")  # ff02::1:ff00:0/104
