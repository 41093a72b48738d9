"""The ND proxy's pure part: whether and how to answer a Neighbor Solicitation.

``decide(msg, iface, settings, caches, now)`` is a function of the decoded NS (from
ndpmon.codec.decode), the outside interface it came in on (its MAC and addresses, as data),
the proxy settings (ndpmon.proxy.npd6conf), the neighbour caches of the inside probes and
the packet's time. It returns an ``Answer`` (what the NA must say) or the reason the
NS is ignored, which the plugin counts. The plugin (plugins/ndproxy.py) does the I/O.

An answer is what npd6 sends (RFC 4861 §7.2.8 proxy NAs, §7.2.4 answers): to the NS's
source (its link-layer address from the Source Link-Layer option, else the frame's
source), from the interface's link-local address if the NS came from a link-local one
and else from a global address of the interface, hop limit ``maxHops``, Solicited set,
Override clear (a proxy must not override the real owner, §7.2.8), Router as
``routerNA`` says, and the interface's MAC as Target Link-Layer option for a multicast
NS (or always with ``linkOption``).

Unlike npd6 1.1.0, NS that RFC 4861 §7.1.1 makes hosts discard (hop limit not 255, bad
checksum, code not 0, and the other validity rules) are ignored, and ``ignoreLocal``
covers every address of the interface. Discovery mode answers only for addresses the
inside probes' neighbour caches saw alive within ``discovery`` seconds.

``NaBuilder`` makes the answer's bytes: scapy builds a template once per (interface,
flags, option), then each answer patches addresses and the checksum into a copy
(``bench/bench_ndproxy.py``: 2.5 µs instead of 385 µs with scapy per NA).
"""

from __future__ import annotations

import struct
from typing import Iterable, NamedTuple

from ndpmon.codec.addr import UNSPECIFIED, in_prefix, is_link_local
from ndpmon.codec.message import NA_ROUTER, NA_SOLICITED, NS, NdMessage
from ndpmon.proxy.npd6conf import ProxySettings
from ndpmon.state.neighbors import NeighborCache

__all__ = ["Iface", "Answer", "decide", "alive", "listed", "flags", "NaBuilder", "REASONS",
           "na_checksum"]

#: Why an NS is not answered (the plugin's counters), in the order they are tested;
#: the last one is the plugin's (the interface's MAC cannot be read).
REASONS = ("malformed", "hop limit", "dad", "vlan", "target is destination",
           "not for prefix", "own address", "blacklisted", "not whitelisted",
           "not seen alive", "interface unknown")


class Iface(NamedTuple):
    """An outside interface as the I/O side read it: MAC, link-local, all addresses."""

    name: str
    mac: bytes
    lla: bytes | None
    addresses: frozenset[bytes]
    globals_: tuple[bytes, ...] = ()


class Answer(NamedTuple):
    """The NA to send on ``iface``."""

    iface: str
    eth_dst: bytes
    src: bytes
    dst: bytes
    target: bytes
    flags: int
    tlla: bool
    hlim: int


def listed(settings: ProxySettings, target: bytes) -> bool:
    """Is ``target`` an addrlist entry (an address, or inside a CIDR block)?"""
    return any(in_prefix(target, prefix, length) for prefix, length in settings.addrlist)


def alive(caches: Iterable[NeighborCache], target: bytes, now: float,
          window: float) -> bool:
    """Did an inside probe see ``target`` as the source of an ND message within
    ``window`` seconds before ``now``?"""
    for cache in caches:
        owner = cache.by_ip.get(target)
        if owner is not None:
            entry = owner.addresses.get(target)
            if entry is not None and now - entry.lastseen <= window:
                return True
        owner = cache.by_lla.get(target)
        if owner is not None and now - owner.lastseen <= window:
            return True
    return False


def decide(msg: NdMessage, iface: Iface, settings: ProxySettings,
           caches: Iterable[NeighborCache], now: float) -> Answer | str:
    """The answer to ``msg`` seen on ``iface``, or why there is none (REASONS)."""
    if msg.type != NS or msg.malformed or msg.checksum_ok is False or msg.fragment:
        return "malformed"  # RFC 4861 §7.1.1: hosts discard it, so do we
    if msg.hlim != 255:
        return "hop limit"
    if msg.src == UNSPECIFIED:
        return "dad"  # RFC 4862 §5.4.3: nobody answers a DAD probe for someone else
    if msg.vlan is not None:
        return "vlan"
    target = msg.target
    if target == msg.dst:
        return "target is destination"  # NUD to the target itself: npd6 ignores it
    if not any(p.iface == iface.name and in_prefix(target, p.prefix, p.length)
               for p in settings.pairs):
        return "not for prefix"
    if settings.ignore_local and target in iface.addresses:
        return "own address"  # the kernel answers for its own addresses
    if settings.listtype == "black" and listed(settings, target):
        return "blacklisted"
    if settings.listtype == "white" and not listed(settings, target):
        return "not whitelisted"
    if settings.discovery is not None and not alive(caches, target, now,
                                                    settings.discovery):
        return "not seen alive"
    return _answer(msg, iface, settings)


def _answer(msg: NdMessage, iface: Iface, settings: ProxySettings) -> Answer:
    src = msg.src
    own = iface.lla if is_link_local(src) or not iface.globals_ else iface.globals_[0]
    return Answer(iface.name, msg.slla or msg.eth_src, own or iface.lla or UNSPECIFIED, src,
                  msg.target, flags(settings), msg.dst[0] == 0xFF or settings.link_option,
                  settings.max_hops)


def flags(settings: ProxySettings) -> int:
    """The NA flags byte: Solicited, Router as ``routerNA`` says, never Override."""
    return NA_SOLICITED | (NA_ROUTER if settings.router_na else 0)


def na_checksum(src: bytes, dst: bytes, icmp: bytes) -> int:
    """The ICMPv6 checksum (RFC 4443 §2.3) of ``icmp`` (checksum field zero)."""
    data = src + dst + struct.pack("!I3xB", len(icmp), 58) + icmp
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class NaBuilder:
    """NAs from per-(MAC, flags, option, hop limit) templates built once with scapy."""

    def __init__(self) -> None:
        self.templates: dict[tuple[bytes, int, bool, int], bytes] = {}

    def build(self, answer: Answer, mac: bytes) -> bytes:
        """The frame of ``answer`` from ``mac``."""
        key = (mac, answer.flags, answer.tlla, answer.hlim)
        template = self.templates.get(key)
        if template is None:
            from ndpmon.capture import craft

            template = self.templates[key] = craft.proxy_na(
                mac, UNSPECIFIED, UNSPECIFIED, UNSPECIFIED, answer.flags, answer.tlla, answer.hlim,
                b"\0" * 6)
        icmp = bytearray(template[54:])
        icmp[2:4] = b"\0\0"
        icmp[8:24] = answer.target
        icmp[2:4] = na_checksum(answer.src, answer.dst, bytes(icmp)).to_bytes(2, "big")
        return b"".join((answer.eth_dst, template[6:22], answer.src, answer.dst,
                         bytes(icmp)))
