"""The frames of NDPMon's countermeasures, built with scapy (COMPATIBILITY.md §4.10).

NDPMon built them by hand in C (``icmp_lib*.c``); scapy builds and checksums them here.
Building costs about a millisecond, which is fine for a reply to an alert (a guard
limits how many), and never on the per-frame path: decoding stays in ndpmon.codec.decode.

Every frame goes to all nodes (``ff02::1``, ``33:33:00:00:00:01``) with hop limit 255,
from the addresses of the router (or neighbour) it speaks for, so that hosts accept it
(RFC 4861 §6.1.2, §7.1.2). A parameter the config leaves out is sent as 0, as NDPMon did.

One answer is one frame: what a router's RA withdraws (bogus prefixes, routes, servers,
domains at lifetime 0) rides in that RA, as many as fit in ``MTU`` (an attack frame can
name hundreds; NDPMon sent one frame for each).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

from ndpmon.config.model import Router

__all__ = ["kill_router", "router_ra", "kill_prefix", "Stale", "neighbor_na", "presence",
           "proxy_na", "ALL_NODES", "PRESENCE_TYPE", "PRESENCE_CODE", "MTU"]

ALL_NODES, ALL_NODES_MAC = "ff02::1", "33:33:00:00:00:01"
PRESENCE_TYPE = PRESENCE_CODE = 200  # NDPMon's presence message (icmp_lib_nd.h)
PIO_LA = 0xC0  # on-link and autonomous flags
# Lifetimes sent for a configured prefix that has none (RFC 4861 §6.2.1 defaults)
DEFAULT_VALID, DEFAULT_PREFERRED = 2592000, 604800
MTU = 1500  # IPv6 packet size an answer keeps to (the minimum Ethernet MTU)


@dataclass(frozen=True)
class Stale:
    """What an RA withdraws (lifetime 0): prefixes and routes as (prefix, length),
    recursive DNS servers, search domains (as the decoder gives them)."""

    prefixes: Sequence[tuple[bytes, int]] = ()
    routes: Sequence[tuple[bytes, int]] = ()
    servers: Sequence[bytes] = ()
    domains: Sequence[str] = ()

    def options(self, room: int) -> bytes:
        """The withdrawing options, in that order, as many as fit in ``room`` bytes."""
        out = b""
        for option in self._each():
            if len(out) + len(option) > room:
                return out
            out += option
        return out + _dnssl_option(self.domains, room - len(out))

    def _each(self) -> Iterable[bytes]:
        for prefix, length in self.prefixes:
            yield struct.pack("!BBBBIII", 3, 4, length, PIO_LA, 0, 0, 0) + prefix
        for prefix, length in self.routes:
            units = 1 if length == 0 else 2 if length <= 64 else 3
            yield struct.pack("!BBBBI", 24, units, length, 0, 0) + prefix[:8 * (units - 1)]
        for i in range(0, len(self.servers), 8):
            chunk = self.servers[i:i + 8]
            yield struct.pack("!BBHI", 25, 1 + 2 * len(chunk), 0, 0) + b"".join(chunk)


def _dnssl_option(domains: Sequence[str], room: int) -> bytes:
    """One DNSSL option withdrawing (lifetime 0) as many of ``domains`` as fit in ``room``
    bytes (RFC 8106 §5.2: names in label form, zero-padded to 8 bytes); b"" if none."""
    names = b""
    for domain in domains:
        labels = [part.encode("latin-1", "replace")[:63] for part in domain.split(".") if part]
        if not labels:
            continue
        name = b"".join(bytes((len(label),)) + label for label in labels) + b"\0"
        if -(-(8 + len(names + name)) // 8) * 8 > min(room, 255 * 8):
            break
        names += name
    if not names:
        return b""
    size = -(-(8 + len(names)) // 8) * 8
    return (struct.pack("!BBHI", 31, size // 8, 0, 0) + names).ljust(size, b"\0")


def _text(addr: bytes, family: int = socket.AF_INET6) -> str:
    return socket.inet_ntop(family, addr)


def _mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def _ra(mac: bytes, lla: bytes, chlim: int = 64, flags: int = 0, lifetime: int = 0,
        reachable: int = 0, retrans: int = 0):
    from scapy.layers.inet6 import ICMPv6ND_RA, IPv6
    from scapy.layers.l2 import Ether

    return (Ether(src=_mac(mac), dst=ALL_NODES_MAC) / IPv6(src=_text(lla), dst=ALL_NODES,
                                                           hlim=255)
            / ICMPv6ND_RA(chlim=chlim, M=flags >> 7 & 1, O=flags >> 6 & 1, H=flags >> 5 & 1,
                          prf=flags >> 3 & 3, routerlifetime=lifetime,
                          reachabletime=reachable, retranstimer=retrans))


def _router_header(router: Router):
    return _ra(router.mac, router.lla, router.curhoplimit or 0, router.flags or 0,
               router.router_lifetime or 0, router.reachable_timer or 0,
               router.retrans_timer or 0)


def kill_router(mac: bytes, lla: bytes) -> bytes:
    """kill_illegitimate_router: an RA from the rogue with router lifetime 0 (hosts
    drop it from their default routers, RFC 4861 §6.3.4), hop limit 64, no options."""
    return bytes(_ra(mac, lla))


def router_ra(router: Router, *, dns: bool = False, routes: bool = False,
              stale: Stale | None = None) -> bytes:
    """propagate_router_params (and _dns, _routes): an RA with the configured router's
    parameters, prefixes and MTU, plus its RDNSS and DNSSL or its routes, and what
    ``stale`` withdraws (as much as fits in ``MTU``)."""
    from scapy.layers.inet6 import ICMPv6NDOptMTU, ICMPv6NDOptSrcLLAddr

    pkt = _router_header(router) / ICMPv6NDOptSrcLLAddr(lladdr=_mac(router.mac))
    if router.mtu:
        pkt = pkt / ICMPv6NDOptMTU(mtu=router.mtu)
    for prefix in router.prefixes:
        valid = DEFAULT_VALID if prefix.valid is None else prefix.valid
        preferred = DEFAULT_PREFERRED if prefix.preferred is None else prefix.preferred
        flags = PIO_LA if prefix.flags is None else prefix.flags
        pkt = pkt / _pio(prefix.address, prefix.length, flags, valid, preferred)
    if dns:
        for server, lifetime in router.rdnss:
            pkt = pkt / _rdnss([server], lifetime)
        for domain, lifetime in router.dnssl:
            pkt = pkt / _dnssl([domain], lifetime)
    if routes:
        for route in router.routes:
            pkt = pkt / _rio(route.address, route.length, route.pref, route.lifetime)
    return _with_stale(pkt, stale)


def _with_stale(pkt, stale: Stale | None) -> bytes:
    """``pkt`` with ``stale``'s options appended (checksum and lengths over all)."""
    if stale is None:
        return bytes(pkt)
    from scapy.packet import Raw

    room = MTU - (len(bytes(pkt)) - 14)
    options = stale.options(room)
    return bytes(pkt / Raw(load=options)) if options else bytes(pkt)


def _pio(prefix: bytes, length: int, flags: int, valid: int, preferred: int):
    from scapy.layers.inet6 import ICMPv6NDOptPrefixInfo

    return ICMPv6NDOptPrefixInfo(prefix=_text(prefix), prefixlen=length, L=flags >> 7 & 1,
                                 A=flags >> 6 & 1, R=flags >> 5 & 1,
                                 validlifetime=valid, preferredlifetime=preferred)


def _rio(prefix: bytes, length: int, pref_byte: int, lifetime: int):
    from scapy.layers.inet6 import ICMPv6NDOptRouteInfo

    return ICMPv6NDOptRouteInfo(prefix=_text(prefix), plen=length, prf=pref_byte >> 3 & 3,
                                rtlifetime=lifetime)


def _rdnss(servers: Iterable[bytes], lifetime: int):
    from scapy.layers.inet6 import ICMPv6NDOptRDNSS

    return ICMPv6NDOptRDNSS(dns=[_text(s) for s in servers], lifetime=lifetime)


def _dnssl(domains: Iterable[str], lifetime: int):
    from scapy.layers.inet6 import ICMPv6NDOptDNSSL

    return ICMPv6NDOptDNSSL(searchlist=list(domains), lifetime=lifetime)


def kill_prefix(router: Router, prefixes: Sequence[tuple[bytes, int]]) -> bytes:
    """kill_wrong_prefix: the router's RA with the bogus prefixes at lifetimes 0 (hosts
    deprecate them, RFC 4862 §5.5.3 e)."""
    return _with_stale(_router_header(router), Stale(prefixes=prefixes))


def neighbor_na(address: bytes, mac: bytes) -> bytes:
    """propagate_neighbor_mac: an unsolicited NA with the Override flag telling every
    node that ``address`` is at ``mac`` again (RFC 4861 §7.2.6)."""
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr, ICMPv6ND_NA, IPv6
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=_mac(mac), dst=ALL_NODES_MAC)
                 / IPv6(src=_text(address), dst=ALL_NODES, hlim=255)
                 / ICMPv6ND_NA(tgt=_text(address), R=0, S=0, O=1)
                 / ICMPv6NDOptDstLLAddr(lladdr=_mac(mac)))


def presence(mac: bytes, lla: bytes, version: tuple[int, int, int], flags: int) -> bytes:
    """indicate_ndpmon_presence: ICMPv6 type 200 code 200 to all nodes, the data being
    the version (major, minor, build) and the flags byte (icmp_lib_nd.h)."""
    from scapy.layers.inet6 import ICMPv6Unknown, IPv6
    from scapy.layers.l2 import Ether

    data = bytes((*version, flags))
    return bytes(Ether(src=_mac(mac), dst=ALL_NODES_MAC)
                 / IPv6(src=_text(lla), dst=ALL_NODES, hlim=255)
                 / ICMPv6Unknown(type=PRESENCE_TYPE, code=PRESENCE_CODE, msgbody=data))


def proxy_na(mac: bytes, src: bytes, dst: bytes, target: bytes, flags: int, tlla: bool,
             hlim: int = 255, eth_dst: bytes = b"") -> bytes:
    """An ND proxy's answer (RFC 4861 §7.2.8): an NA for ``target`` from the proxy's
    ``mac`` and address ``src`` to the solicitor ``dst`` (``eth_dst``), with the NA
    ``flags`` byte (Router, Solicited; never Override) and, if ``tlla``, the proxy's MAC
    as Target Link-Layer option. The reference builder: ndpmon.proxy.decide patches copies."""
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr, ICMPv6ND_NA, IPv6
    from scapy.layers.l2 import Ether

    pkt = (Ether(src=_mac(mac), dst=_mac(eth_dst or bytes(6)))
           / IPv6(src=_text(src), dst=_text(dst), hlim=hlim)
           / ICMPv6ND_NA(tgt=_text(target), R=flags >> 7 & 1, S=flags >> 6 & 1,
                         O=flags >> 5 & 1))
    if tlla:
        pkt = pkt / ICMPv6NDOptDstLLAddr(lladdr=_mac(mac))
    return bytes(pkt)
