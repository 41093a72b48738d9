"""Build samples/demo.pcap: a short LAN story for the README's demo command.

The link is the one of the shipped config_ndpmon.xml (router 0:0:5e:0:53:1 announcing
2001:db8:1::/64). Deterministic: fixed addresses (RFC 3849 / RFC 7042 documentation
ranges) and timestamps, so running it again gives the same bytes.
Run: ``python samples/make_demo.py`` (needs scapy).
"""

from __future__ import annotations

import os

from scapy.layers.inet6 import (
    ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6NDOptDNSSL,
    ICMPv6NDOptDstLLAddr, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo, ICMPv6NDOptRDNSS,
    ICMPv6NDOptRouteInfo, ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrHopByHop,
)
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

R_MAC, R_LLA = "00:00:5e:00:53:01", "fe80::200:5eff:fe00:5301"
A_MAC, A_LLA, A_GUA = "00:00:5e:00:53:0a", "fe80::200:5eff:fe00:530a", "2001:db8:1::a"
B_MAC, B_LLA = "00:00:5e:00:53:0b", "fe80::200:5eff:fe00:530b"
EVIL_MAC, EVIL_LLA = "00:00:5e:00:53:66", "fe80::666"
ALL_NODES_MAC = "33:33:00:00:00:01"


def ra(mac: str = R_MAC, lla: str = R_LLA, prefix: str = "2001:db8:1::", hbh: bool = False):
    """A Router Advertisement as the shipped config expects it (or not)."""
    ip = IPv6(src=lla, dst="ff02::1", hlim=255)
    if hbh:
        ip = ip / IPv6ExtHdrHopByHop()
    return (Ether(src=mac, dst=ALL_NODES_MAC) / ip
            / ICMPv6ND_RA(chlim=64, routerlifetime=1800)
            / ICMPv6NDOptSrcLLAddr(lladdr=mac) / ICMPv6NDOptMTU(mtu=1500)
            / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, validlifetime=2592000,
                                    preferredlifetime=604800)
            / ICMPv6NDOptRDNSS(lifetime=900, dns=["2001:db8:1::53"])
            / ICMPv6NDOptDNSSL(lifetime=900, searchlist=["example.com"])
            / ICMPv6NDOptRouteInfo(plen=48, prefix="2001:db8:2::", rtlifetime=1800))


def ns(mac: str, src: str, target: str):
    """A Neighbor Solicitation with a Source Link-Layer option."""
    return (Ether(src=mac, dst="33:33:ff:00:53:01")
            / IPv6(src=src, dst="ff02::1:ff00:5301", hlim=255)
            / ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=mac))


def na(mac: str, src: str, target: str, override: int = 1):
    """An unsolicited Neighbor Advertisement to all nodes."""
    return (Ether(src=mac, dst=ALL_NODES_MAC) / IPv6(src=src, dst="ff02::1", hlim=255)
            / ICMPv6ND_NA(tgt=target, R=0, S=0, O=override)
            / ICMPv6NDOptDstLLAddr(lladdr=mac))


def story() -> list:
    """The frames, in order, each a small scene."""
    zero_len = bytes(na(B_MAC, B_LLA, B_LLA))[:-8] + b"\x02\x00" + bytes(6)
    return [
        ra(),                                              # the legitimate router
        ns(A_MAC, A_LLA, R_LLA),                           # host A appears
        ns(A_MAC, A_GUA, R_LLA),                           # A's global address
        ns(B_MAC, B_LLA, R_LLA),                           # host B appears
        Ether(src=A_MAC, dst=R_MAC) / IPv6(src=A_GUA, dst="2001:db8:2::1")
        / ICMPv6EchoRequest(),                             # not ND: ignored
        ra(EVIL_MAC, EVIL_LLA, "2001:db8:bad::"),          # a rogue router
        na(EVIL_MAC, A_LLA, A_LLA),                        # spoofing A's address
        ra(prefix="2001:db8:bad::"),                       # the router, wrong prefix
        ra(EVIL_MAC, EVIL_LLA, hbh=True),                  # rogue RA behind hop-by-hop
        Ether(zero_len),                                   # length 0: COMPATIBILITY.md §7.1
    ]


def main() -> None:
    frames = story()
    for i, frame in enumerate(frames):
        frame.time = 1767225600 + i  # 2026-01-01T00:00:00Z + i seconds
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.pcap")
    wrpcap(out, frames)
    print(f"wrote {out}: {len(frames)} frames")


if __name__ == "__main__":
    main()
