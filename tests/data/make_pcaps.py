#!/usr/bin/env python3
"""Deterministic generator of the sample captures in ``tests/data/pcaps`` (STYLE point 12).

Each sample is one pcap plus ``<name>.json`` beside it: a description, the probe, the
name of a config scenario (``configs.json``, turned into model objects by
``tests/conftest.py``), an optional initial neighbour cache and the expected alerts
as ``[frame_index (0-based), priority, reason, message]`` rows, optionally followed by a
dict that must be a subset of the alert's ``extra`` (plus its probe under ``probe``).
``clean_for`` lists the reasons the sample is a near miss for; ``xfail`` marks a known
disagreement between the code and the reference.

The expected alerts are written from the NDPMon 2.1 alert catalogue (COMPATIBILITY.md §2, §3.1)
and the RFCs, with this file's own formatters, never from ndpmon's output. Addresses are
in 2001:db8::/32 and fe80::/10, MACs in 00:00:5e:00:53:xx (RFC 7042) where possible,
timestamps are fixed: running this twice writes identical bytes.

Run: ``python tests/data/make_pcaps.py [outdir]``.
"""

from __future__ import annotations

import ipaddress
import json
import struct
import sys
from pathlib import Path

from scapy.data import DLT_EN10MB
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLReport2,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDNSSL,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS,
    ICMPv6NDOptRouteInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    PadN,
    RouterAlert,
    fragment6,
)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import RawPcapWriter

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
DAY = 86400
PROBE = "lan0"
OUT = Path(__file__).resolve().parent / "pcaps"

# --- the cast: routers, hosts, an attacker, a prober ------------------------------------
R, R2, A, B, C, D, P, X = 0x01, 0x02, 0x0A, 0x0B, 0x0C, 0x0D, 0x50, 0x66


def mac(n: int) -> str:
    """A documentation MAC (RFC 7042 §2.1.2)."""
    return f"00:00:5e:00:53:{n:02x}"


def lla(n: int) -> str:
    """The modified EUI-64 link-local address of ``mac(n)`` (RFC 4291 appendix A)."""
    return f"fe80::200:5eff:fe00:53{n:02x}"


def gua(host: str) -> str:
    """A global address in the on-link prefix 2001:db8:1::/64."""
    return f"2001:db8:1::{host}"


# --- independent text formatters (COMPATIBILITY.md §1.2) --------------------------------------
def ether(text: str) -> str:
    """ether_ntoa: lower-case hex, no zero padding."""
    return ":".join(f"{int(part, 16):x}" for part in text.split(":"))


def full(addr: str) -> str:
    """ipv6_ntoa: eight groups, uncompressed, no leading zeros."""
    groups = ipaddress.IPv6Address(addr).exploded.split(":")
    return ":".join(f"{int(g, 16):x}" for g in groups)


def short(addr: str) -> str:
    """inet_ntop: the compressed form."""
    return str(ipaddress.IPv6Address(addr))


LOW, HIGH = "low", "high"

# --- config scenarios -------------------------------------------------------------------
PARAMS = {"curhoplimit": 64, "flags": 0, "router_lifetime": 1800, "reachable_timer": 0,
          "retrans_timer": 0, "mtu": 1500}
PREFIX1 = {"prefix": "2001:db8:1::", "mask": 64, "flags": 0xC0, "valid": 2592000,
           "preferred": 604800}
ROUTER1 = {
    "mac": mac(R), "lla": lla(R), "params": PARAMS, "params_volatile": False,
    "addresses": [gua("1")], "prefixes": [PREFIX1],
    "rdnss": [["2001:db8:1::53", 900]], "dnssl": [["example.com", 900]],
    "routes": [{"prefix": "2001:db8:2::", "mask": 48, "pref": 0, "lifetime": 1800}],
}
PREFIX20 = dict(PREFIX1, prefix="2001:db8:20::")
SHORT_PREFIX = dict(PREFIX1, valid=600, preferred=300)
ROUTER2 = {"mac": mac(R2), "lla": lla(R2), "params": {}, "params_volatile": True,
           "prefixes": [PREFIX1]}
CONFIGS = {
    "router1": {"routers": [ROUTER1]},
    "router1_volatile": {"routers": [dict(ROUTER1, params_volatile=True)]},
    "router1_mtu0": {"routers": [dict(ROUTER1, params=dict(PARAMS, mtu=0))]},
    "two_routers": {"routers": [ROUTER1, ROUTER2]},
    "router1_max3": {"routers": [ROUTER1], "limits": {"max_neighbors": 3, "max_addresses": 64}},
    "router1_addr2": {"routers": [ROUTER1], "limits": {"max_addresses": 2}},
    "router1_proxy": {"routers": [ROUTER1],
                      "proxies": [{"mac": mac(D), "prefix": "2001:db8:1::/64"}]},
    "router1_rates": {"routers": [ROUTER1],
                      "limits": {"ra_rate": 1, "ns_rate": 1, "rate_window": 2}},
    # a trunk: lan0 (untagged) and its VLANs 10, 20 and 100, the same router on each,
    # advertising 2001:db8:20::/64 on VLAN 20 (a router on a stick: one MAC, fe80::..01)
    "trunk": {"routers": [ROUTER1], "probes": {
        f"{PROBE}.10": {"routers": [ROUTER1]},
        f"{PROBE}.20": {"routers": [dict(ROUTER1, prefixes=[PREFIX20])]},
        f"{PROBE}.100": {"routers": [ROUTER1]}}},
    # radvd "AdvValidLifetime 600; AdvPreferredLifetime 300;", learned as such
    "router1_short": {"routers": [dict(ROUTER1, prefixes=[SHORT_PREFIX])]},
    "router1_short_volatile": {"routers": [dict(ROUTER1, prefixes=[SHORT_PREFIX],
                                                params_volatile=True)]},
}


def neighbour(n: int, *addresses: str, lastseen: float = T0 - 3600, **more) -> dict:
    """A cache entry for host ``n`` (its MAC and EUI-64 LLA, global addresses)."""
    return dict({"mac": mac(n), "lla": lla(n), "addresses": list(addresses),
                 "lastseen": lastseen}, **more)


CACHE = [neighbour(R, gua("1")), neighbour(A, gua("a")), neighbour(B, gua("b"))]

# --- frame builders ---------------------------------------------------------------------
ALL_NODES, ALL_ROUTERS = "ff02::1", "ff02::2"


def solicited(addr: str) -> str:
    """The solicited-node multicast address of ``addr`` (RFC 4291 §2.7.1)."""
    low = ipaddress.IPv6Address(addr).packed[13:]
    return str(ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + low))


def eth_dst(ip: str) -> str:
    """RFC 2464 §7: 33:33 + the low 32 bits for multicast; the router's MAC otherwise."""
    packed = ipaddress.IPv6Address(ip).packed
    if packed[0] == 0xFF:
        return "33:33:" + ":".join(f"{b:02x}" for b in packed[12:])
    return mac(R)


def frame(src_mac: str, src: str, dst: str, icmp, *, hlim: int = 255, ext=None,
          vlans: tuple = (), l2dst: str | None = None) -> bytes:
    """Ethernet [802.1ad/802.1Q] / IPv6 [/ extension headers] / ``icmp`` as bytes."""
    pkt = Ether(src=src_mac, dst=l2dst or eth_dst(dst))
    for i, vid in enumerate(vlans):
        if len(vlans) == 2 and i == 0:
            pkt = pkt / Dot1AD(vlan=vid)
        else:
            pkt = pkt / Dot1Q(vlan=vid, prio=5)
    ip = IPv6(src=src, dst=dst, hlim=hlim, fl=0, tc=0)
    if ext is not None:
        ip = ip / ext
    return bytes(pkt / ip / icmp)


def checksum(src: str, dst: str, body: bytes) -> int:
    """RFC 4443 §2.3 over the RFC 8200 §8.1 pseudo-header (own code, not the decoder's)."""
    data = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
            + struct.pack("!I3xB", len(body), 58) + body + b"\0" * (len(body) & 1))
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF) or 0xFFFF


def raw_icmp(src_mac: str, src: str, dst: str, body: bytes, *, hlim: int = 255) -> bytes:
    """An ICMPv6 message from raw bytes with a correct checksum (for malformed ones)."""
    body = body[:2] + struct.pack("!H", checksum(src, dst, body[:2] + b"\0\0" + body[4:]))\
        + body[4:]
    return bytes(Ether(src=src_mac, dst=eth_dst(dst))
                 / IPv6(src=src, dst=dst, nh=58, hlim=hlim, fl=0) / Raw(body))


def slla(n_or_mac) -> ICMPv6NDOptSrcLLAddr:
    return ICMPv6NDOptSrcLLAddr(lladdr=n_or_mac if isinstance(n_or_mac, str) else mac(n_or_mac))


def tlla(n_or_mac) -> ICMPv6NDOptDstLLAddr:
    return ICMPv6NDOptDstLLAddr(lladdr=n_or_mac if isinstance(n_or_mac, str) else mac(n_or_mac))


def ns(n: int, src: str, target: str, *opts, src_mac: str | None = None, **kw) -> bytes:
    """NS from host ``n`` (with its SLLA unless ``opts`` are given explicitly)."""
    dst = kw.pop("dst", solicited(target))
    body = ICMPv6ND_NS(tgt=target)
    for opt in opts if opts else (slla(n),):
        if opt is not None:
            body = body / opt
    return frame(src_mac or mac(n), src, dst, body, **kw)


def dad(n: int, target: str, **kw) -> bytes:
    """A DAD probe (RFC 4862 §5.4.2): NS from ::, no SLLA, to the solicited-node group."""
    return frame(mac(n), "::", solicited(target), ICMPv6ND_NS(tgt=target), **kw)


def na(n: int, src: str, target: str, *, R: int = 0, S: int = 0, O: int = 0,
       opts=None, src_mac: str | None = None, dst: str = ALL_NODES, **kw) -> bytes:
    """NA from host ``n`` (with its TLLA unless ``opts`` are given)."""
    body = ICMPv6ND_NA(R=R, S=S, O=O, tgt=target)
    for opt in (tlla(n),) if opts is None else opts:
        body = body / opt
    return frame(src_mac or mac(n), src, dst, body, **kw)


def rs(n: int, src: str, *opts, **kw) -> bytes:
    body = ICMPv6ND_RS()
    for opt in opts:
        body = body / opt
    return frame(mac(n), src, ALL_ROUTERS, body, **kw)


def pio(prefix: str = "2001:db8:1::", plen: int = 64, *, flags: int = 0xC0,
        valid: int = 2592000, preferred: int = 604800, res2: int = 0):
    return ICMPv6NDOptPrefixInfo(prefixlen=plen, L=flags >> 7, A=flags >> 6 & 1,
                                 R=flags >> 5 & 1, res1=flags & 0x1F, validlifetime=valid,
                                 preferredlifetime=preferred, res2=res2, prefix=prefix)


def rdnss(*servers: str, lifetime: int = 900):
    return ICMPv6NDOptRDNSS(lifetime=lifetime, dns=list(servers))


def dnssl(*names: str, lifetime: int = 900):
    return ICMPv6NDOptDNSSL(lifetime=lifetime, searchlist=list(names))


def raw_dnssl(data: bytes, lifetime: int = 900) -> Raw:
    """A DNSSL option with hand-made name bytes, zero-padded to 8 bytes."""
    data += b"\0" * (-(len(data) + 8) % 8)
    return Raw(struct.pack("!BBHI", 31, (len(data) + 8) // 8, 0, lifetime) + data)


def rio(prefix: str = "2001:db8:2::", plen: int = 48, *, pref: int = 0,
        lifetime: int = 1800):
    return ICMPv6NDOptRouteInfo(plen=plen, prf=pref >> 3 & 3, res1=pref >> 5,
                                res2=pref & 7, rtlifetime=lifetime, prefix=prefix)


LEGIT_OPTS = (slla(R), ICMPv6NDOptMTU(mtu=1500), pio(), rdnss("2001:db8:1::53"),
              dnssl("example.com"), rio())


def ra_body(*, chlim: int = 64, flags: int = 0, rl: int = 1800, reach: int = 0,
            retrans: int = 0, opts=LEGIT_OPTS):
    body = ICMPv6ND_RA(chlim=chlim, M=flags >> 7, O=flags >> 6 & 1, H=flags >> 5 & 1,
                       prf=flags >> 3 & 3, P=flags >> 2 & 1, res=flags & 3,
                       routerlifetime=rl, reachabletime=reach, retranstimer=retrans)
    for opt in opts:
        body = body / opt
    return body


def ra(n: int = R, src: str | None = None, *, src_mac: str | None = None, opts=None,
       ext=None, vlans=(), hlim: int = 255, **params) -> bytes:
    """RA from router ``n``; by default the legitimate RA of ROUTER1 (with n's SLLA)."""
    if opts is None:
        opts = (slla(src_mac or mac(n)),) + LEGIT_OPTS[1:]
    return frame(src_mac or mac(n), src or lla(n), ALL_NODES, ra_body(opts=opts, **params),
                 ext=ext, vlans=vlans, hlim=hlim)


def redirect(n: int, src: str, target: str, dest: str, *, src_mac: str | None = None,
             opts=()) -> bytes:
    """Redirect (RFC 4861 §4.5) sent to host B about ``dest``."""
    body = ICMPv6ND_Redirect(tgt=target, dst=dest)
    for opt in opts:
        body = body / opt
    return frame(src_mac or mac(n), src, lla(B), body, l2dst=mac(B))


# --- samples ----------------------------------------------------------------------------
SAMPLES: list[Sample] = []


class Sample:
    """One pcap and its sidecar: frames with their times and expected alerts."""

    def __init__(self, name: str, description: str, *, config: str = "router1",
                 cache: list | None = None, clean_for=(), xfail: str | None = None):
        self.name, self.description, self.config = name, description, config
        self.cache, self.clean_for, self.xfail = cache, list(clean_for), xfail
        self.frames: list[tuple[int, bytes]] = []
        self.expected: list[list] = []
        SAMPLES.append(self)

    def add(self, data: bytes, *alerts, at: int | None = None) -> Sample:
        """Append a frame at T0 + ``at`` (default: one second after the last one)."""
        when = at if at is not None else (self.frames[-1][0] - T0 + 1 if self.frames else 0)
        index = len(self.frames)
        self.frames.append((T0 + when, data))
        self.expected.extend([index, *alert] for alert in alerts)
        return self

    def sidecar(self) -> dict:
        out = {"description": self.description, "probe": PROBE, "config": self.config}
        if self.cache is not None:
            out["cache"] = self.cache
        out["clean_for"] = self.clean_for
        if self.xfail:
            out["xfail"] = self.xfail
        out["expected"] = self.expected
        return out


# alert texts of COMPATIBILITY.md §2, by reason
def new_station(n, ip, m=None):
    return (LOW, "new station", f"new station {ether(m or mac(n))} {short(ip)}")


def new_lla(n, ip):
    return (LOW, "new lla", f"new lla {ether(mac(n))} {short(ip)}\n")


def new_ip(n, ip):
    return (LOW, "new IP", f"new IP {ether(mac(n))} {short(ip)}\n")


def changed(old, new, ip, priority):
    return (priority, "changed ethernet address",
            f"changed ethernet address {ether(mac(old))} to {ether(mac(new))} {short(ip)}")


def flip_flop(current, new, ip):
    return (HIGH, "flip flop",
            f"flip flop between {ether(mac(current))} and {ether(mac(new))} for {short(ip)}")


def reused(new, current, ip):
    return (HIGH, "reused old ethernet address", (
        f"reused old ethernet address {ether(mac(new))} instead of {ether(mac(current))} "
        f"for {short(ip)}"))


def wrong_couple(n, ip):
    return (HIGH, "wrong couple MAC/LLA",
            f"wrong couple MAC/LLA in icmp6 {ether(mac(n))} {short(ip)}")


def conflict(holder, taker, ip, via, ago):
    """ndpmon's ``address conflict`` (COMPATIBILITY.md §2.8): ``taker`` uses ``ip`` while
    ``holder`` was heard from it ``ago`` seconds before (by its source or an NA target)."""
    return (HIGH, "address conflict", f"address conflict between {ether(mac(holder))} and "
            f"{ether(mac(taker))} for {short(ip)}", {"via": via, "heard_ago": ago})


def mismatch(opt, n, ip):
    return (LOW, "ethernet mismatch", f"ethernet mismatch {ether(mac(opt))} {who(n, ip)}")


def poisoning(kind, sender, ip, bound, owner=None):
    """ndpmon's ``neighbor cache poisoning``: an NS or RS from ``sender`` binds ``ip`` to
    MAC ``bound``, not to its ``owner`` (or, without one, to another station's MAC)."""
    why = f"not to its owner {ether(mac(owner))}" if owner else "another station's MAC"
    return (HIGH, "neighbor cache poisoning", f"neighbor cache poisoning: {kind} from "
            f"{ether(mac(sender))} binds {short(ip)} to {ether(mac(bound))}, {why}")


def rdnss_alert(server, lifetime=900):
    return (HIGH, "wrong RA RDNSS option", f"wrong RA RDNSS option: {full(server)} {lifetime}")


def mcast_target(n, src, target):
    return (HIGH, "NA multicast target", f"NA multicast target {who(n, src)} {full(target)}")


def limit_alert(neighbors, max_neighbors, addresses, max_addresses):
    return (HIGH, "neighbor cache limit reached",
            (f"neighbor cache limit reached on {PROBE}: evicted {neighbors} of max "
             f"{max_neighbors} neighbors and {addresses} addresses over max "
             f"{max_addresses} per neighbor"))


def ra_alert(reason, text):
    return (HIGH, reason, text)


def who(n, ip, m=None):
    return f"{ether(m or mac(n))} {full(ip)}"


def malformed(n, ip, kind, fault, m=None):
    return (LOW, "malformed ND message", f"malformed ND message {who(n, ip, m)} {kind}: {fault}")


def ext_alert(n, ip, kind, chain, m=None):
    return (HIGH, "ND message behind extension headers",
            f"ND message behind extension headers {who(n, ip, m)} {kind} headers={chain}")


def frag_alert(n, ip, kind, m=None):
    return (HIGH, "fragmented ND message",
            f"fragmented ND message {who(n, ip, m)} {kind} headers=fragment")


STATION_REASONS = ("new station", "new lla", "new IP", "changed ethernet address",
                   "wrong couple MAC/LLA", "flip flop", "reused old ethernet address",
                   "new activity")
RA_REASONS = (
    "wrong couple IP/MAC", "wrong router ip", "wrong router mac", "wrong ipv6 router",
    "wrong RA flags", "wrong RA params", "wrong prefix", "wrong RA prefix option lifetimes",
    "RA prefix option valid lifetime too short", "wrong RA prefix option params",
    "wrong RA mtu option", "wrong RA RDNSS option", "wrong RA DNSSL option",
    "wrong RA Route Info option", "wrong RA Route Info lifetime",
    "wrong RA Route Info preference")
RD_REASONS = ("wrong couple IP/MAC in RD", "wrong router redirect ip",
              "wrong router redirect mac", "wrong router redirect", "redirect to unknown router")


def general_samples() -> None:
    """Ethernet mismatch, broadcast, ip multicast, bogon, hop limit (monitoring.c:307-498)."""
    Sample("general_eth_mismatch", "first SLLA (RS/RA/NS) or TLLA (NA) differs from the "
           "Ethernet source (an NS or RS that binds a known station's LLA to another MAC "
           "is also neighbor cache poisoning, ndpmon)", cache=CACHE) \
        .add(ns(B, lla(B), lla(A), slla(0xBB)),
             (LOW, "ethernet mismatch", f"ethernet mismatch {ether(mac(0xBB))} {who(B, lla(B))}"),
             poisoning("NS", B, lla(B), 0xBB, owner=B)) \
        .add(na(A, lla(A), lla(A), S=1, O=1, opts=(tlla(0xAA),), dst=lla(B)),
             (LOW, "ethernet mismatch", f"ethernet mismatch {ether(mac(0xAA))} {who(A, lla(A))}")) \
        .add(rs(A, lla(A), slla(0xAA)),
             (LOW, "ethernet mismatch", f"ethernet mismatch {ether(mac(0xAA))} {who(A, lla(A))}"),
             poisoning("RS", A, lla(A), 0xAA, owner=A)) \
        .add(ra(opts=(slla(0x11),) + LEGIT_OPTS[1:]),
             (LOW, "ethernet mismatch", f"ethernet mismatch {ether(mac(0x11))} {who(R, lla(R))}"))
    Sample("general_eth_mismatch_clean", "matching SLLA/TLLA, only the first SLLA counts, "
           "NA SLLA and Redirect TLLA are not compared", cache=CACHE,
           clean_for=["ethernet mismatch"]) \
        .add(ns(B, lla(B), lla(A))) \
        .add(ns(B, lla(B), lla(A), slla(B), slla(0xBB))) \
        .add(na(A, lla(A), lla(A), S=1, O=1, opts=(slla(0xAA), tlla(A)), dst=lla(B))) \
        .add(na(A, lla(A), lla(A), opts=())) \
        .add(redirect(R, lla(R), gua("c"), gua("c"), opts=(tlla(C),))) \
        .add(ra())
    bcast = "ff:ff:ff:ff:ff:ff"
    Sample("general_eth_broadcast", "all-zero, broadcast and 33:33 group Ethernet sources "
           "(33:33:0:0:2 is caught by the IEEE 802 group bit, an ndpmon extension)",
           cache=CACHE) \
        .add(ns(0, "fe80::1:1", lla(A), None, src_mac=bcast),
             (LOW, "ethernet broadcast", f"ethernet broadcast {ether(bcast)} {full('fe80::1:1')}"),
             new_station(0, "fe80::1:1", bcast)) \
        .add(ns(0, "fe80::1:2", lla(A), None, src_mac="00:00:00:00:00:00"),
             (LOW, "ethernet broadcast", f"ethernet broadcast 0:0:0:0:0:0 {full('fe80::1:2')}"),
             new_station(0, "fe80::1:2", "00:00:00:00:00:00")) \
        .add(ns(0, "fe80::3333", lla(A), None, src_mac="33:33:00:00:00:01"),
             (LOW, "ethernet broadcast", f"ethernet broadcast 33:33:0:0:0:1 {full('fe80::3333')}"),
             new_station(0, "fe80::3333", "33:33:00:00:00:01")) \
        .add(ns(0, "fe80::3334", lla(A), None, src_mac="33:33:00:00:00:02"),
             (LOW, "ethernet broadcast", f"ethernet broadcast 33:33:0:0:0:2 {full('fe80::3334')}"),
             new_station(0, "fe80::3334", "33:33:00:00:00:02"))
    Sample("general_eth_broadcast_clean", "unicast sources, one locally administered",
           cache=CACHE, clean_for=["ethernet broadcast"]) \
        .add(ns(B, lla(B), lla(A))) \
        .add(ns(0, "fe80::2:1", lla(A), None, src_mac="02:00:5e:00:53:01"),
             new_station(0, "fe80::2:1", "02:00:5e:00:53:01"))
    Sample("general_ip_multicast", "NS and NA from a multicast IPv6 source (new_station "
           "ignores them)", cache=CACHE) \
        .add(ns(B, ALL_NODES, lla(A), None),
             (LOW, "ip multicast", f"ip multicast {who(B, ALL_NODES)}")) \
        .add(na(C, ALL_ROUTERS, lla(C)),
             (LOW, "ip multicast", f"ip multicast {who(C, ALL_ROUTERS)}")) \
        .add(ns(C, lla(C), lla(A)), new_station(C, lla(C)))
    Sample("general_bogon", "global sources outside the configured 2001:db8:1::/64",
           cache=CACHE) \
        .add(ns(B, "2001:db8:99::1", lla(A)),
             (LOW, "bogon", f"bogon {ether(mac(B))} 2001:db8:99::1"),
             new_ip(B, "2001:db8:99::1")) \
        .add(ns(B, "fd00::b", lla(A)), (LOW, "bogon", f"bogon {ether(mac(B))} fd00::b"),
             new_ip(B, "fd00::b")) \
        .add(ns(B, "2001:db8:1:1::b", lla(A)),
             (LOW, "bogon", f"bogon {ether(mac(B))} 2001:db8:1:1::b"),
             new_ip(B, "2001:db8:1:1::b"))
    Sample("general_hop_limit", "ND with hop limit 64, 254 and 1", cache=CACHE) \
        .add(ns(B, lla(B), lla(A), hlim=64),
             (LOW, "wrong ipv6 hop limit", "IPv6 Hop Limit 64")) \
        .add(ra(hlim=254), (LOW, "wrong ipv6 hop limit", "IPv6 Hop Limit 254")) \
        .add(na(A, lla(A), lla(A), hlim=1), (LOW, "wrong ipv6 hop limit", "IPv6 Hop Limit 1"))
    Sample("general_clean", "near misses: link-local, on-link, site-local sources, hop "
           "limit 255, :: sources", cache=CACHE,
           clean_for=["ip multicast", "bogon", "wrong ipv6 hop limit"]) \
        .add(ns(B, lla(B), lla(A))) \
        .add(ns(B, gua("b"), lla(A))) \
        .add(ns(B, "2001:db8:1:0:ffff::b", lla(A)), new_ip(B, "2001:db8:1:0:ffff::b")) \
        .add(ns(B, "fec0::b", lla(A)), new_ip(B, "fec0::b")) \
        .add(rs(C, "::")) \
        .add(dad(C, gua("c")))


def station_samples() -> None:
    """new_station() (monitoring.c:500-781) and new activity (neighbors.c:423-444)."""
    Sample("station_new", "unknown stations by NS, RS, NA; the first global then a "
           "link-local address", cache=[neighbour(R, gua("1"))]) \
        .add(ns(C, lla(C), lla(R)), new_station(C, lla(C))) \
        .add(ns(C, lla(C), lla(R))) \
        .add(rs(D, lla(D), slla(D)), new_station(D, lla(D))) \
        .add(na(A, gua("a"), gua("a"), O=1), new_station(A, gua("a"))) \
        .add(ns(A, lla(A), lla(R)), new_lla(A, lla(A)))
    Sample("station_new_lla", "a known MAC with a new link-local address (it replaces "
           "the old one)", cache=CACHE) \
        .add(ns(B, "fe80::1:b", lla(A)), new_lla(B, "fe80::1:b")) \
        .add(ns(B, lla(B), lla(A)), new_lla(B, lla(B))) \
        .add(ns(B, lla(B), lla(A)))
    Sample("station_new_ip", "a known MAC with new global addresses", cache=CACHE) \
        .add(ns(B, gua("b2"), lla(A)), new_ip(B, gua("b2"))) \
        .add(ns(B, gua("b2"), lla(A))) \
        .add(na(B, gua("b3"), gua("b3")), new_ip(B, gua("b3")))
    Sample("station_changed_ip_moved", "a known MAC uses another station's global "
           "address (P1 variant; its holder was last heard an hour ago); the holder "
           "speaking from it again 2 s later is also an address conflict (ndpmon)",
           cache=CACHE) \
        .add(ns(B, gua("a"), lla(R)), changed(A, B, gua("a"), LOW)) \
        .add(ns(B, gua("a"), lla(R))) \
        .add(ns(A, gua("a"), lla(R)), changed(B, A, gua("a"), LOW),
             conflict(B, A, gua("a"), "source", 1))
    Sample("station_changed_lla", "an unknown MAC uses a known LLA or global address "
           "(P2 variant)", cache=CACHE) \
        .add(na(C, lla(A), lla(A), O=1), changed(A, C, lla(A), HIGH)) \
        .add(ns(D, gua("b"), lla(R)), changed(B, D, gua("b"), HIGH)) \
        .add(ns(D, gua("b"), lla(R)))
    Sample("station_flip_flop", "A's LLA goes to C, back to A (flip flop), to D, then to "
           "C again (reused old ethernet address)", cache=CACHE) \
        .add(na(C, lla(A), lla(A)), changed(A, C, lla(A), HIGH)) \
        .add(na(A, lla(A), lla(A)), flip_flop(C, A, lla(A))) \
        .add(na(D, lla(A), lla(A)), changed(A, D, lla(A), HIGH)) \
        .add(na(C, lla(A), lla(A)), reused(C, D, lla(A)))
    Sample("station_flip_flop_cached", "flip flop and reuse against old MACs loaded from "
           "the cache", cache=[neighbour(A, gua("a"), old_macs=[mac(C)], previous_mac=mac(C)),
                               neighbour(B, gua("b"), old_macs=[mac(C), mac(D)],
                                         previous_mac=mac(D))]) \
        .add(ns(C, lla(A), lla(R)), flip_flop(A, C, lla(A))) \
        .add(ns(D, gua("b"), lla(R)), flip_flop(B, D, gua("b")))
    Sample("station_reused_cached", "a MAC from the old list that is not the previous one",
           cache=[neighbour(A, gua("a"), old_macs=[mac(C), mac(D)], previous_mac=mac(D))]) \
        .add(ns(C, lla(A), lla(R)), reused(C, A, lla(A)))
    Sample("station_wrong_couple", "a known MAC uses another known station's LLA; nothing "
           "is updated", cache=CACHE) \
        .add(ns(B, lla(A), lla(R)), wrong_couple(B, lla(A))) \
        .add(ns(A, lla(A), lla(R))) \
        .add(ns(B, lla(B), lla(R)))
    Sample("station_new_activity", "a neighbour silent for 181 days comes back",
           cache=[neighbour(B, gua("b"), lastseen=T0 - 181 * DAY)]) \
        .add(ns(B, lla(B), lla(R)), (LOW, "new activity",
                                     f"new activity from: {ether(mac(B))} {short(lla(B))}")) \
        .add(ns(B, lla(B), lla(R)))
    Sample("station_new_activity_order", "a neighbour silent for 181 days comes back with "
           "a new LLA, another with a new global address: NDPMon resets the timer (raising "
           "new activity) before it raises new lla / new IP (monitoring.c new_station, "
           "neighbors.c reset_neighbor_timer)",
           cache=[neighbour(A, gua("a"), lastseen=T0 - 181 * DAY),
                  neighbour(B, gua("b"), lastseen=T0 - 181 * DAY)]) \
        .add(ns(B, "fe80::1:b", lla(R)),
             (LOW, "new activity", f"new activity from: {ether(mac(B))} fe80::1:b"),
             new_lla(B, "fe80::1:b")) \
        .add(ns(A, gua("a2"), lla(R)),
             (LOW, "new activity", f"new activity from: {ether(mac(A))} {short(lla(A))}"),
             new_ip(A, gua("a2")))
    Sample("station_clean", "known stations with their own addresses; silent for exactly "
           "180 days and for 179 days is not new activity",
           cache=[neighbour(A, gua("a"), lastseen=T0 - 180 * DAY),
                  neighbour(B, gua("b"), lastseen=T0 - 179 * DAY),
                  neighbour(C, gua("c"), old_macs=[mac(D)], previous_mac=mac(D))],
           clean_for=STATION_REASONS) \
        .add(ns(A, lla(A), lla(R)), at=0) \
        .add(ns(B, gua("b"), lla(R))) \
        .add(na(C, lla(C), lla(C), O=1)) \
        .add(ns(C, gua("c"), lla(A))) \
        .add(rs(D, "::"))


#: Stations known before the claims: X (the attacker) has been on the LAN, C and D too.
CLAIM_CACHE = CACHE + [neighbour(X), neighbour(C, gua("c")), neighbour(D, gua("d"))]


def conflict_samples() -> None:
    """ndpmon's address conflict (RFC 4862 §5.4): a known station takes a live host's
    address (THC-IPv6 fake_advertise6, parasite6); a real move, whose old holder stays
    silent, is NDPMon's low changed ethernet address alone."""
    solicited_answer = dict(S=1, dst=lla(R))
    Sample("station_address_conflict", "A is heard from its address; X claims it by "
           "NA (5 s later), A answers for it (flip-back), X claims it by NS; X answers "
           "for B's live address from its LLA; A answers for its stolen address from its "
           "LLA; X probes B's address by DAD, B defends it, X takes it anyway",
           cache=CLAIM_CACHE) \
        .add(ns(A, gua("a"), lla(R)), at=0) \
        .add(na(X, gua("a"), gua("a"), O=1), changed(A, X, gua("a"), LOW),
             conflict(A, X, gua("a"), "source", 5), at=5) \
        .add(na(X, gua("a"), gua("a"), O=1), at=6) \
        .add(na(A, gua("a"), gua("a"), **solicited_answer), changed(X, A, gua("a"), LOW),
             conflict(X, A, gua("a"), "source", 14), at=20) \
        .add(ns(X, gua("a"), lla(R)), changed(A, X, gua("a"), LOW),
             conflict(A, X, gua("a"), "source", 1), at=21) \
        .add(ns(B, gua("b"), lla(R)), at=22) \
        .add(na(X, lla(X), gua("b"), **solicited_answer),
             conflict(B, X, gua("b"), "target", 1), at=23) \
        .add(na(A, lla(A), gua("a"), **solicited_answer),
             conflict(X, A, gua("a"), "target", 19), at=40) \
        .add(dad(X, gua("b")), at=50) \
        .add(na(B, gua("b"), gua("b"), O=1), at=51) \
        .add(na(X, gua("b"), gua("b"), O=1), changed(B, X, gua("b"), LOW),
             conflict(B, X, gua("b"), "source", 1), at=52)
    Sample("station_address_moved", "real moves: X takes A's address an hour after A was "
           "last heard and A stays silent; D probes C's address by DAD 20 s after C was "
           "heard, C leaves it unanswered, D takes it; X takes B's address 61 s after B "
           "was heard, B takes it back 61 s after X was; B answers for its own address "
           "from its LLA; an NA naming B's MAC, one with no link-layer address",
           cache=CLAIM_CACHE, clean_for=["address conflict"]) \
        .add(ns(X, gua("a"), lla(R)), changed(A, X, gua("a"), LOW), at=0) \
        .add(na(X, gua("a"), gua("a"), O=1), at=30) \
        .add(ns(X, gua("a"), lla(R)), at=100) \
        .add(ns(C, gua("c"), lla(R)), at=200) \
        .add(dad(D, gua("c")), at=220) \
        .add(na(D, gua("c"), gua("c"), O=1), changed(C, D, gua("c"), LOW), at=221) \
        .add(ns(B, gua("b"), lla(R)), at=300) \
        .add(ns(X, gua("b"), lla(R)), changed(B, X, gua("b"), LOW), at=361) \
        .add(ns(B, gua("b"), lla(R)), changed(X, B, gua("b"), LOW), at=422) \
        .add(na(B, lla(B), gua("b"), **solicited_answer), at=430) \
        .add(na(X, lla(X), gua("b"), opts=(tlla(B),), **solicited_answer),
             mismatch(B, X, lla(X)), at=431) \
        .add(na(X, lla(X), gua("b"), opts=(), **solicited_answer), at=432)


def poisoning_samples() -> None:
    """ndpmon's neighbor cache poisoning (RFC 4861 §7.2.3, §6.2.6): an NS or RS whose
    Source Link-Layer option is not its Ethernet source and binds its source to a MAC
    the cache does not have for it (parasite6 -R, spoofed-MAC scans)."""
    Sample("station_poisoning", "NS from A's MAC binding A's address to X; NS from X "
           "binding a new address to B's MAC; NS from X binding B's address to C's MAC; "
           "RS from A's MAC binding A's LLA to X; NS from X binding X's LLA to A's MAC",
           cache=CLAIM_CACHE) \
        .add(ns(A, gua("a"), lla(R), slla(X)), mismatch(X, A, gua("a")),
             poisoning("NS", A, gua("a"), X, owner=A)) \
        .add(ns(X, gua("99"), lla(R), slla(B)), mismatch(B, X, gua("99")),
             new_ip(X, gua("99")), poisoning("NS", X, gua("99"), B)) \
        .add(ns(X, gua("b"), lla(R), slla(C)), mismatch(C, X, gua("b")),
             changed(B, X, gua("b"), LOW), poisoning("NS", X, gua("b"), C, owner=B)) \
        .add(rs(A, lla(A), slla(X)), mismatch(X, A, lla(A)),
             poisoning("RS", A, lla(A), X, owner=A)) \
        .add(ns(X, lla(X), lla(R), slla(A)), mismatch(A, X, lla(X)),
             poisoning("NS", X, lla(X), A, owner=X))
    Sample("station_poisoning_clean", "an NS from X naming the MAC the cache has for its "
           "source (B's, from B's address), an NS from X binding a new address to a MAC "
           "nobody uses, and plain NSs and RSs", cache=CLAIM_CACHE,
           clean_for=["neighbor cache poisoning"]) \
        .add(ns(X, gua("b"), lla(R), slla(B)), mismatch(B, X, gua("b")),
             changed(B, X, gua("b"), LOW)) \
        .add(ns(X, gua("98"), lla(R), slla(0x77)), mismatch(0x77, X, gua("98")),
             new_ip(X, gua("98"))) \
        .add(ns(A, gua("a"), lla(R))) \
        .add(rs(C, lla(C), slla(C)))


def ra_samples() -> None:
    """watch_ra() (monitoring_ra.c:36-968)."""
    Sample("ra_clean", "the configured RA; options reordered, upper-case DNSSL name, "
           "host bits after the prefix length, no options at all", cache=CACHE,
           clean_for=RA_REASONS) \
        .add(ra()) \
        .add(ra(opts=LEGIT_OPTS[::-1])) \
        .add(ra(opts=LEGIT_OPTS[:4] + (dnssl("EXAMPLE.Com"), rio()))) \
        .add(ra(opts=(slla(R), pio("2001:db8:1::5")))) \
        .add(ra(opts=()))
    Sample("ra_new_station", "option alerts (R=2) stop new_station; a legitimate RA from "
           "a router not yet in the cache is a new station", cache=[]) \
        .add(ra(opts=(slla(R), pio("2001:db8:bad::"))),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:bad:0 {who(R, lla(R))}")) \
        .add(ra(opts=(slla(R), rdnss("2001:db8:6::53"))),
             rdnss_alert("2001:db8:6::53")) \
        .add(ra(opts=(slla(R), rio(lifetime=600))),
             ra_alert("wrong RA Route Info lifetime",
                      "wrong RA Route Info Lifetime 2001:db8:2:0/48 600")) \
        .add(ra(), new_station(R, lla(R))) \
        .add(ra())
    Sample("ra_unknown_router", "RAs whose (MAC, LLA) pair is not configured; they stop "
           "the pipeline (no new station)", config="two_routers", cache=[]) \
        .add(ra(src=lla(R2)), ra_alert("wrong couple IP/MAC",
                                       f"wrong couple IP/MAC {who(R, lla(R2))} in RA")) \
        .add(ra(src="fe80::1234"), ra_alert("wrong router ip",
                                            f"wrong router ip {who(R, 'fe80::1234')}")) \
        .add(ra(X, src=lla(R)), ra_alert("wrong router mac",
                                         f"wrong router mac {who(X, lla(R))}")) \
        .add(ra(X), ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}")) \
        .add(ns(X, lla(X), lla(R)), new_station(X, lla(X)))
    Sample("ra_two_routers_clean", "both configured routers advertise", config="two_routers",
           cache=[neighbour(R), neighbour(R2)],
           clean_for=["wrong couple IP/MAC", "wrong router ip", "wrong router mac",
                      "wrong ipv6 router"]) \
        .add(ra()) \
        .add(ra(R2, opts=(slla(R2), pio()))) \
        .add(ra(R2, opts=(slla(R2), pio()), flags=0x40, chlim=0, rl=9000))
    Sample("ra_flags", "M=1 O=0 against learned flags 0", cache=CACHE) \
        .add(ra(flags=0x80), ra_alert("wrong RA flags", "wrong RA flags: M=1 and O=0"),
             ra_alert("wrong RA params", "wrong RA params: flags=128;"))
    Sample("ra_flags_volatile", "M=1 O=0 with volatile params stops before new_station; "
           "M=1 O=1 and O=1 alone are fine", config="router1_volatile", cache=[]) \
        .add(ra(flags=0x80), ra_alert("wrong RA flags", "wrong RA flags: M=1 and O=0")) \
        .add(ra(flags=0xC0), new_station(R, lla(R))) \
        .add(ra(flags=0x40))
    Sample("ra_params", "RA header fields that differ from the learned ones (0 included)",
           cache=CACHE) \
        .add(ra(chlim=1), ra_alert("wrong RA params", "wrong RA params: curhoplimit=1;")) \
        .add(ra(chlim=0), ra_alert("wrong RA params", "wrong RA params: curhoplimit=0;")) \
        .add(ra(rl=0), ra_alert("wrong RA params", "wrong RA params: router_lifetime=0;")) \
        .add(ra(flags=0x08), ra_alert("wrong RA params", "wrong RA params: flags=8;")) \
        .add(ra(chlim=1, flags=0x40, rl=600, reach=30000, retrans=1000),
             ra_alert("wrong RA params", "wrong RA params: curhoplimit=1;flags=64;"
                      "router_lifetime=600;reachable_timer=30000;retrans_timer=1000;"))
    Sample("ra_params_new_station", "wrong RA params does not stop: new_station still runs",
           cache=[]) \
        .add(ra(chlim=1), ra_alert("wrong RA params", "wrong RA params: curhoplimit=1;"),
             new_station(R, lla(R)))
    wp = f"{who(R, lla(R))}"
    Sample("ra_prefix", "unknown prefixes (value, length) in PIOs", cache=CACHE) \
        .add(ra(opts=(slla(R), pio("2001:db8:bad::"))),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:bad:0 {wp}")) \
        .add(ra(opts=(slla(R), pio("2001:db8:1::", 48))),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:1:0 {wp}")) \
        .add(ra(opts=(slla(R), pio(), pio("2001:db8:bad:1::"))),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:bad:1 {wp}"))
    Sample("ra_prefix_lifetimes", "preferred > valid and valid < 2 h on a non-volatile "
           "router (message order fixed, COMPATIBILITY.md §7.11)", cache=CACHE) \
        .add(ra(opts=(slla(R), pio(valid=3600, preferred=7200))),
             ra_alert("wrong RA prefix option lifetimes",
                      "RA preferred lifetime 7200 longer than valid lifetime 3600"),
             ra_alert("RA prefix option valid lifetime too short",
                      "RA prefix option valid lifetime 3600 < 2 hours"),
             ra_alert("wrong RA prefix option params",
                      "wrong RA prefix option params: valid_time=3600;preferred_time=7200;"))
    Sample("ra_prefix_lifetimes_volatile", "the lifetime sanity checks alone; 7200 s is "
           "not too short", config="router1_volatile", cache=CACHE) \
        .add(ra(opts=(slla(R), pio(valid=86400, preferred=90000))),
             ra_alert("wrong RA prefix option lifetimes",
                      "RA preferred lifetime 90000 longer than valid lifetime 86400")) \
        .add(ra(opts=(slla(R), pio(valid=3600, preferred=1800))),
             ra_alert("RA prefix option valid lifetime too short",
                      "RA prefix option valid lifetime 3600 < 2 hours")) \
        .add(ra(opts=(slla(R), pio(valid=7200, preferred=7200))))
    Sample("ra_prefix_params", "PIO flags, reserved2 and lifetimes differ from the "
           "learned ones", cache=CACHE) \
        .add(ra(opts=(slla(R), pio(flags=0x80))),
             ra_alert("wrong RA prefix option params", "wrong RA prefix option params: "
                      "flags=128;")) \
        .add(ra(opts=(slla(R), pio(res2=5))),
             ra_alert("wrong RA prefix option params", "wrong RA prefix option params: "
                      "reserved2=5;")) \
        .add(ra(opts=(slla(R), pio(valid=86400, preferred=3600))),
             ra_alert("wrong RA prefix option params", "wrong RA prefix option params: "
                      "valid_time=86400;preferred_time=3600;"))
    Sample("ra_mtu", "MTU 1400 and 0 against the learned 1500 (R=0: new_station runs)",
           cache=[neighbour(A)]) \
        .add(ra(opts=(slla(R), ICMPv6NDOptMTU(mtu=1400))),
             ra_alert("wrong RA mtu option", "wrong RA mtu option: mtu=1400"),
             new_station(R, lla(R))) \
        .add(ra(opts=(slla(R), ICMPv6NDOptMTU(mtu=0))),
             ra_alert("wrong RA mtu option", "wrong RA mtu option: mtu=0"))
    Sample("ra_mtu_learned_zero", "a learned MTU of 0 makes any MTU option wrong",
           config="router1_mtu0", cache=CACHE) \
        .add(ra(), ra_alert("wrong RA mtu option", "wrong RA mtu option: mtu=1500")) \
        .add(ra(opts=(slla(R),)))
    Sample("ra_rdnss", "RDNSS servers or lifetimes not configured, an empty RDNSS",
           cache=CACHE) \
        .add(ra(opts=(slla(R), rdnss("2001:db8:6::53"))),
             rdnss_alert("2001:db8:6::53")) \
        .add(ra(opts=(slla(R), rdnss("2001:db8:1::53", lifetime=600))),
             rdnss_alert("2001:db8:1::53", 600)) \
        .add(ra(opts=(slla(R), rdnss())),
             ra_alert("wrong RA RDNSS option", "wrong RA RDNSS option: empty nameservers list")) \
        .add(ra(opts=(slla(R), rdnss("2001:db8:1::53", "2001:db8:6::54"))),
             rdnss_alert("2001:db8:6::54"))
    long_name = ".".join(c * 60 for c in "abcde")  # 304 characters
    Sample("ra_dnssl", "DNSSL names or lifetimes not configured, a name too long, label "
           "encodings that cannot be decoded", cache=CACHE) \
        .add(ra(opts=(slla(R), dnssl("corp.example.org"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: corp.example.org 900")) \
        .add(ra(opts=(slla(R), dnssl("example.com", lifetime=600))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: example.com 600")) \
        .add(ra(opts=(slla(R), dnssl(long_name))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: search domain too long")) \
        .add(ra(opts=(slla(R), dnssl("example.com", "evil.example.net"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: evil.example.net 900")) \
        .add(ra(opts=(slla(R), raw_dnssl(b"example.com\0"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: undecodable domain "
                      "name (label length 101 > 63)")) \
        .add(ra(opts=(slla(R), raw_dnssl(b"\x07example\x03com\x00\x05ab"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: undecodable domain "
                      "name (label runs past the option)")) \
        .add(ra(opts=(slla(R), raw_dnssl(b"\x07example\x03com\x00\x00\x01"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: undecodable domain "
                      "name (data after the padding)")) \
        .add(ra(opts=(slla(R), raw_dnssl(b"\x07example\x03com\x03abc"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: undecodable domain "
                      "name (name not terminated)"))
    Sample("ra_route", "Route Information options: reserved preference, unknown route, "
           "other lifetime, other preference", cache=CACHE) \
        .add(ra(opts=(slla(R), rio(pref=0x10))),
             ra_alert("wrong RA Route Info option",
                      "wrong RA Route Info option: route preference ignor"),
             ra_alert("wrong RA Route Info preference",
                      "wrong RA Route Info preference 2001:db8:2:0/48 16")) \
        .add(ra(opts=(slla(R), rio("2001:db8:3::"))),
             ra_alert("wrong RA Route Info option", "wrong RA Route Info option 2001:db8:3:0/48")) \
        .add(ra(opts=(slla(R), rio("2001:db8:2::", 56))),
             ra_alert("wrong RA Route Info option", "wrong RA Route Info option 2001:db8:2:0/56")) \
        .add(ra(opts=(slla(R), rio(lifetime=600))),
             ra_alert("wrong RA Route Info lifetime",
                      "wrong RA Route Info Lifetime 2001:db8:2:0/48 600")) \
        .add(ra(opts=(slla(R), rio(pref=0x08))),
             ra_alert("wrong RA Route Info preference",
                      "wrong RA Route Info preference 2001:db8:2:0/48 8")) \
        .add(ra(opts=(slla(R), rio("2001:db8:3::", pref=0x10))),
             ra_alert("wrong RA Route Info option",
                      "wrong RA Route Info option: route preference ignor"),
             ra_alert("wrong RA Route Info option", "wrong RA Route Info option 2001:db8:3:0/48"))
    Sample("ra_volatile", "params_volatile silences header, PIO and MTU parameter checks "
           "but not RDNSS, DNSSL and Route Information", config="router1_volatile",
           cache=CACHE, clean_for=["wrong RA params", "wrong RA prefix option params",
                                   "wrong RA mtu option"]) \
        .add(ra(chlim=1, flags=0x48, rl=600, reach=5, retrans=5,
                opts=(slla(R), ICMPv6NDOptMTU(mtu=9000), pio(flags=0x80, valid=86400,
                                                             preferred=3600)))) \
        .add(ra(opts=(slla(R), rdnss("2001:db8:6::53"))),
             rdnss_alert("2001:db8:6::53")) \
        .add(ra(opts=(slla(R), dnssl("corp.example.org"))),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: corp.example.org 900")) \
        .add(ra(opts=(slla(R), rio(lifetime=600))),
             ra_alert("wrong RA Route Info lifetime",
                      "wrong RA Route Info Lifetime 2001:db8:2:0/48 600"))


def short_lifetime_samples() -> None:
    """A router that advertises a prefix valid for 10 minutes (radvd ``AdvValidLifetime
    600``), learned so: its own RAs are clean, a changed or unlearned short lifetime is
    still an alert (COMPATIBILITY.md §9; NDPMon raised it on every RA)."""
    short = pio(valid=600, preferred=300)
    too_short = "RA prefix option valid lifetime too short"
    Sample("ra_prefix_short_learned", "the learned 600 s valid lifetime, on every RA of "
           "the configured router (params checked, then volatile): no alert",
           config="router1_short", cache=CACHE,
           clean_for=[too_short, "wrong RA prefix option params"]) \
        .add(ra(opts=(slla(R), short)), at=0) \
        .add(ra(opts=(slla(R), ICMPv6NDOptMTU(mtu=1500), short)), at=200) \
        .add(ra(opts=(slla(R), short)), at=400)
    Sample("ra_prefix_short_learned_volatile", "the learned short lifetime from a "
           "params_volatile router: no alert; another short one: too short",
           config="router1_short_volatile", cache=CACHE) \
        .add(ra(opts=(slla(R), short))) \
        .add(ra(opts=(slla(R), pio(valid=599, preferred=300))),
             ra_alert(too_short, "RA prefix option valid lifetime 599 < 2 hours"))
    Sample("ra_prefix_short_changed", "a short lifetime other than the learned one, on a "
           "prefix the router was not learned with, and from an unknown router (which "
           "stops at wrong ipv6 router: its options are never checked, in NDPMon too)",
           config="router1_short", cache=CACHE) \
        .add(ra(opts=(slla(R), pio(valid=300, preferred=300))),
             ra_alert(too_short, "RA prefix option valid lifetime 300 < 2 hours"),
             ra_alert("wrong RA prefix option params",
                      "wrong RA prefix option params: valid_time=300;")) \
        .add(ra(opts=(slla(R), pio("2001:db8:5::", valid=600, preferred=300))),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:5:0 {who(R, lla(R))}"),
             ra_alert(too_short, "RA prefix option valid lifetime 600 < 2 hours")) \
        .add(ra(X, opts=(slla(X), short)),
             ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}"))


#: The IPv6 payload of the largest frame an Ethernet link carries (MTU 1500): one RA has
#: 1500 - 40 - 16 = 1444 bytes of options.
RA_OPTION_ROOM = 1500 - 40 - 16


def listed(items) -> str:
    """Several wrong items of one RA as its single alert names them: the first three
    different ones, then ``+N more`` for the others (COMPATIBILITY.md §9)."""
    items = list(items)
    named = list(dict.fromkeys(items))[:3]
    more = len(items) - len(named)
    return ", ".join(named + ([f"+{more} more"] if more else []))


def raw_rio(plen: int, pref: int, lifetime: int, prefix: bytes = b"") -> Raw:
    """A Route Information option of 1-3 units from bytes (RFC 4191 §2.3)."""
    data = struct.pack("!BBBBI", 24, 1 + len(prefix) // 8, plen, pref, lifetime) + prefix
    return Raw(data)


def many_items_samples() -> None:
    """The worst RAs the decoder accepts: the configured router's MAC and LLA (public on
    the link) and 1444 bytes of wrong options. Each raises every reason once, naming its
    first three items and ``+N more`` (NDPMon: one alert per item, 477 for frame 0)."""
    letters = [chr(ord("a") + i % 26) for i in range(477)]  # 8 + 3 * 477 bytes, padded: 1440
    servers = [f"2001:db8:6::{0x100 + i:x}" for i in range((RA_OPTION_ROOM - 8) // 16)]
    lone = [f"2001:db8:6::{0x200 + i:x}" for i in range(RA_OPTION_ROOM // 24)]
    wp = who(R, lla(R))
    bad = [f"2001:db8:{0x100 + i:x}::" for i in range(RA_OPTION_ROOM // 32)]
    pios = [pio(p, valid=3600 + i, preferred=7200) for i, p in enumerate(bad)]
    mtus = [ICMPv6NDOptMTU(mtu=1280 + i) for i in range(RA_OPTION_ROOM // 8)]
    known_route = ipaddress.IPv6Address("2001:db8:2::").packed[:8]
    Sample("ra_many_items", "one DNSSL of 477 names, one RDNSS of 89 servers, 60 RDNSS, "
           "90 DNSSL, 180 and 90 Route Information, 45 prefix and 180 MTU options: "
           "each reason once per RA, naming three items; then one RA with every reason "
           "(one item each: NDPMon's texts)", cache=CACHE) \
        .add(ra(opts=(raw_dnssl(b"".join(b"\x01" + c.encode() + b"\0" for c in letters)),)),
             ra_alert("wrong RA DNSSL option",
                      "wrong RA DNSSL option: " + listed(f"{c} 900" for c in letters))) \
        .add(ra(opts=(rdnss(*servers),)),
             ra_alert("wrong RA RDNSS option",
                      "wrong RA RDNSS option: " + listed(f"{full(s)} 900" for s in servers))) \
        .add(ra(opts=[rdnss(s) for s in lone]),
             ra_alert("wrong RA RDNSS option",
                      "wrong RA RDNSS option: " + listed(f"{full(s)} 900" for s in lone))) \
        .add(ra(opts=[raw_dnssl(bytes([1, 97 + i % 26, 0])) for i in range(90)]),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: "
                      + listed(f"{chr(97 + i % 26)} 900" for i in range(90)))) \
        .add(ra(opts=[raw_rio(0, 0x10, 1800) for _ in range(RA_OPTION_ROOM // 8)]),
             ra_alert("wrong RA Route Info option",
                      "wrong RA Route Info option: route preference ignor"
                      + listed([""] * 180)),
             ra_alert("wrong RA Route Info option",
                      "wrong RA Route Info option " + listed(["0:0:0:0/0"] * 180))) \
        .add(ra(opts=[raw_rio(48, 8, 600 + i, known_route) for i in range(90)]),
             ra_alert("wrong RA Route Info lifetime", "wrong RA Route Info Lifetime "
                      + listed(f"2001:db8:2:0/48 {600 + i}" for i in range(90))),
             ra_alert("wrong RA Route Info preference", "wrong RA Route Info preference "
                      + listed(["2001:db8:2:0/48 8"] * 90))) \
        .add(ra(opts=pios),
             ra_alert("wrong prefix", "wrong prefix " + listed(
                 f"2001:db8:{0x100 + i:x}:0" for i in range(len(bad))) + f" {wp}"),
             ra_alert("wrong RA prefix option lifetimes", "RA preferred lifetime " + listed(
                 f"7200 longer than valid lifetime {3600 + i}" for i in range(len(bad)))),
             ra_alert("RA prefix option valid lifetime too short",
                      "RA prefix option valid lifetime "
                      + listed(str(3600 + i) for i in range(len(bad))) + " < 2 hours")) \
        .add(ra(opts=[pio(res2=i + 1) for i in range(RA_OPTION_ROOM // 32)]),
             ra_alert("wrong RA prefix option params", "wrong RA prefix option params: "
                      + listed(f"reserved2={i + 1};" for i in range(45)))) \
        .add(ra(opts=mtus),
             ra_alert("wrong RA mtu option", "wrong RA mtu option: mtu="
                      + listed(str(1280 + i) for i in range(len(mtus))))) \
        .add(ra(chlim=1, flags=0x80, opts=(
            pio("2001:db8:bad::", valid=3600, preferred=7200), pio(res2=1),
            ICMPv6NDOptMTU(mtu=1400), rdnss(), rdnss("2001:db8:6::53"),
            dnssl("corp.example.org"), dnssl(".".join(c * 60 for c in "abcde")),
            raw_dnssl(b"example.com\0"), rio("2001:db8:3::", pref=0x10),
            rio(lifetime=600, pref=8))),
             ra_alert("wrong RA flags", "wrong RA flags: M=1 and O=0"),
             ra_alert("wrong RA params", "wrong RA params: curhoplimit=1;flags=128;"),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:bad:0 {wp}"),
             ra_alert("wrong RA prefix option lifetimes",
                      "RA preferred lifetime 7200 longer than valid lifetime 3600"),
             ra_alert("RA prefix option valid lifetime too short",
                      "RA prefix option valid lifetime 3600 < 2 hours"),
             ra_alert("wrong RA prefix option params",
                      "wrong RA prefix option params: reserved2=1;"),
             ra_alert("wrong RA mtu option", "wrong RA mtu option: mtu=1400"),
             ra_alert("wrong RA RDNSS option", "wrong RA RDNSS option: empty nameservers list"),
             rdnss_alert("2001:db8:6::53"),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: corp.example.org 900"),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: search domain too long"),
             ra_alert("wrong RA DNSSL option", "wrong RA DNSSL option: undecodable domain "
                      "name (label length 101 > 63)"),
             ra_alert("wrong RA Route Info option",
                      "wrong RA Route Info option: route preference ignor"),
             ra_alert("wrong RA Route Info option", "wrong RA Route Info option 2001:db8:3:0/48"),
             ra_alert("wrong RA Route Info lifetime",
                      "wrong RA Route Info Lifetime 2001:db8:2:0/48 600"),
             ra_alert("wrong RA Route Info preference",
                      "wrong RA Route Info preference 2001:db8:2:0/48 8"))


def na_samples() -> None:
    """watch_dad_dos, watch_na_target, watch_R_flag (monitoring_na.c) and watch_dad."""
    text = f"NA Override flag {who(B, lla(B))}"
    Sample("na_override", "O=1 with target != source, without TLLA, and both (two "
           "alerts); they stop before new_station", cache=CACHE) \
        .add(na(B, lla(B), gua("b"), S=1, O=1, dst=lla(R)),
             (LOW, "NA Override flag", f"{text} {full(gua('b'))}")) \
        .add(na(B, lla(B), lla(B), O=1, opts=()),
             (LOW, "NA Override flag", f"{text} {full(lla(B))}")) \
        .add(na(B, lla(B), gua("b"), S=1, O=1, opts=(), dst=lla(R)),
             (LOW, "NA Override flag", f"{text} {full(gua('b'))}"),
             (LOW, "NA Override flag", f"{text} {full(gua('b'))}")) \
        .add(na(C, lla(C), gua("c"), O=1),
             (LOW, "NA Override flag", f"NA Override flag {who(C, lla(C))} {full(gua('c'))}")) \
        .add(ns(C, lla(C), lla(R)), new_station(C, lla(C)))
    Sample("na_multicast_target", "NAs for a multicast target; they stop before "
           "new_station", cache=CACHE) \
        .add(na(B, lla(B), ALL_NODES, O=1),
             mcast_target(B, lla(B), ALL_NODES)) \
        .add(na(C, lla(C), "ff05::1:3"),
             mcast_target(C, lla(C), "ff05::1:3")) \
        .add(ns(C, lla(C), lla(R)), new_station(C, lla(C)))
    Sample("na_router_flag", "R=1 from a host, from the router's MAC with an unlisted "
           "address, from another MAC with the router's LLA", cache=CACHE) \
        .add(na(B, lla(B), lla(B), R=1),
             (HIGH, "NA router flag", f"NA router flag {who(B, lla(B))}")) \
        .add(na(R, gua("99"), gua("99"), R=1), new_ip(R, gua("99")),
             (HIGH, "NA router flag", f"NA router flag {who(R, gua('99'))}")) \
        .add(na(X, lla(R), lla(R), R=1), changed(R, X, lla(R), HIGH),
             (HIGH, "NA router flag", f"NA router flag {who(X, lla(R))}"))
    Sample("na_multicast_target_override", "a multicast target with O=1 and no TLLA: "
           "the Override rule (O=1 without TLLA) holds too, and NDPMon's watch_na_target "
           "goes on after the multicast alert (monitoring_na.c)", cache=CACHE) \
        .add(na(B, lla(B), ALL_NODES, O=1, opts=()),
             mcast_target(B, lla(B), ALL_NODES),
             (LOW, "NA Override flag", f"NA Override flag {who(B, lla(B))} {full(ALL_NODES)}"))
    Sample("na_router_flag_other_router_lla", "R=1 from a router's MAC with another "
           "configured router's LLA: 'neither a router LLA nor listed' does not hold, so "
           "only new_station's wrong couple MAC/LLA fires", config="two_routers",
           cache=[neighbour(R), neighbour(R2)]) \
        .add(na(R, lla(R2), lla(R2), R=1),
             wrong_couple(R, lla(R2)))
    Sample("na_clean", "the router's NAs from its LLA and listed address with R=1, "
           "O=1 for the source itself with a TLLA, O=0 without TLLA", cache=CACHE,
           clean_for=["NA router flag", "NA Override flag", "NA multicast target"]) \
        .add(na(R, lla(R), lla(R), R=1, S=1, O=1, dst=lla(B))) \
        .add(na(R, gua("1"), gua("1"), R=1, O=1)) \
        .add(na(B, lla(B), lla(B), O=1)) \
        .add(na(B, gua("b"), gua("b"), S=1, O=1, dst=lla(A))) \
        .add(na(B, lla(B), gua("b"), opts=()))
    Sample("dad_dos", "another station answers a DAD probe within a second", cache=CACHE) \
        .add(dad(P, gua("99"))) \
        .add(na(X, lla(X), gua("99"), O=1), (HIGH, "dad dos", f"dad dos {who(X, lla(X))}")) \
        .add(dad(P, gua("98")), at=10) \
        .add(na(B, lla(B), gua("98"), O=1), (HIGH, "dad dos", f"dad dos {who(B, lla(B))}")) \
        .add(ns(X, lla(X), lla(R)), new_station(X, lla(X)))
    Sample("dad_clean", "the prober answering for its new address (COMPATIBILITY.md "
           "§7.10), an answer a minute late, the owner defending its global address and "
           "its LLA", cache=CACHE,
           clean_for=["dad dos", "watch_dad"]) \
        .add(dad(P, gua("99")), at=0) \
        .add(na(P, gua("99"), gua("99"), O=1), new_station(P, gua("99")), at=5) \
        .add(dad(C, gua("c1")), at=10) \
        .add(na(X, lla(X), gua("c1")), new_station(X, lla(X)), at=70) \
        .add(dad(D, gua("b")), at=80) \
        .add(na(B, gua("b"), gua("b"), O=1), at=81) \
        .add(dad(D, lla(B)), at=82) \
        .add(na(B, lla(B), lla(B), O=1), at=83)


def proxy_samples() -> None:
    """watch_na_proxy: NAs whose target is not their source (RFC 4861 §7.2.8)."""
    answer = dict(S=1, dst=lla(R))
    text = f"undeclared ND proxy {ether(mac(X))} {short(lla(X))} answers for"
    Sample("na_proxy", "one MAC answers for four addresses that are not its own (an "
           "undeclared proxy or a spoofer): one alert at the fourth, none for the fifth "
           "within the hour, one again with the new count an hour later", cache=CACHE) \
        .add(na(X, lla(X), gua("c1"), **answer), new_station(X, lla(X))) \
        .add(na(X, lla(X), gua("c2"), **answer)) \
        .add(na(X, lla(X), gua("c3"), **answer)) \
        .add(na(X, lla(X), gua("c4"), **answer),
             (HIGH, "undeclared ND proxy", f"{text} 4 addresses: "
              f"{short(gua('c1'))}, {short(gua('c2'))}, {short(gua('c3'))}, "
              f"{short(gua('c4'))}", {"targets": 4})) \
        .add(na(X, lla(X), gua("c5"), **answer)) \
        .add(na(X, lla(X), gua("c6"), **answer),
             (HIGH, "undeclared ND proxy", f"{text} 6 addresses: "
              f"{short(gua('c1'))}, {short(gua('c2'))}, {short(gua('c3'))}, "
              f"{short(gua('c4'))}, ...", {"targets": 6}), at=3700)
    Sample("na_proxy_clean", "a declared proxy (R=1, its MAC and prefix in <proxies>) "
           "answering for five addresses raises nothing, not even new station or NA "
           "router flag; a host answering for its own address from its LLA, a router "
           "answering for its subnet anycast address", config="router1_proxy",
           cache=CACHE, clean_for=["undeclared ND proxy"]) \
        .add(na(D, lla(D), gua("d1"), R=1, **answer)) \
        .add(na(D, lla(D), gua("d2"), R=1, **answer)) \
        .add(na(D, lla(D), gua("d3"), R=1, **answer)) \
        .add(na(D, lla(D), gua("d4"), R=1, **answer)) \
        .add(na(D, lla(D), gua("d5"), R=1, **answer)) \
        .add(na(B, lla(B), gua("b"), S=1, dst=lla(A))) \
        .add(na(R, lla(R), "2001:db8:1::", R=1, **answer))


def redirect_samples() -> None:
    """watch_rd_src() (monitoring_rd.c:39-106)."""
    args = (gua("c"), gua("c"))
    Sample("redirect", "Redirects from a host, from a router MAC with another LLA, from "
           "another MAC with a router LLA, from two routers' halves", config="two_routers",
           cache=[]) \
        .add(redirect(B, lla(B), *args),
             (HIGH, "wrong router redirect", f"wrong router redirect {who(B, lla(B))}")) \
        .add(redirect(R, "fe80::1234", *args),
             (HIGH, "wrong router redirect ip",
              f"wrong router redirect ip {who(R, 'fe80::1234')}")) \
        .add(redirect(X, lla(R), *args),
             (HIGH, "wrong router redirect mac", f"wrong router redirect mac {who(X, lla(R))}")) \
        .add(redirect(R, lla(R2), *args),
             (HIGH, "wrong couple IP/MAC in RD", f"wrong couple IP/MAC {who(R, lla(R2))} in RD")) \
        .add(redirect(R, lla(R), lla(X), "2001:db8:9::1", opts=(tlla(X),)),
             (HIGH, "redirect to unknown router",
              f"redirect to unknown router {who(R, lla(R))} target {full(lla(X))} "
              f"for {full('2001:db8:9::1')}"))
    Sample("redirect_clean", "Redirects from both configured routers (on-link destination "
           "and a better router)", config="two_routers", cache=[], clean_for=RD_REASONS) \
        .add(redirect(R, lla(R), gua("c"), gua("c"), opts=(tlla(C),))) \
        .add(redirect(R2, lla(R2), lla(R), "2001:db8:9::1"))


def _ns_bytes(target: str, opts: bytes = b"", code: int = 0) -> bytes:
    return bytes([135, code, 0, 0, 0, 0, 0, 0]) + ipaddress.IPv6Address(target).packed + opts


def malformed_samples() -> None:
    """RFC 4861 validity rules (§6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1; checksum RFC 4443)."""
    def sl(n):
        return bytes([1, 1]) + bytes.fromhex(mac(n).replace(":", ""))

    src, dst = lla(B), solicited(lla(A))
    Sample("malformed_options", "option length 0, an option past the end, a PIO of the "
           "wrong size, prefix length 129, a Route Information too short for its prefix",
           cache=CACHE) \
        .add(raw_icmp(mac(B), src, dst, _ns_bytes(lla(A), bytes([1, 0]) + bytes(6))),
             malformed(B, src, "NS", "option type 1 has length 0")) \
        .add(raw_icmp(mac(B), src, dst, _ns_bytes(lla(A), sl(B) + bytes([5, 2, 0, 0]))),
             malformed(B, src, "NS", "option type 5 runs past the message")) \
        .add(raw_icmp(mac(B), src, dst, _ns_bytes(lla(A), bytes([1, 2]) + bytes(6))),
             malformed(B, src, "NS", "option type 1 runs past the message")) \
        .add(ra(opts=(slla(R), Raw(bytes([3, 3]) + bytes(pio())[2:24]))),
             malformed(R, lla(R), "RA", "prefix information option length 24 != 32")) \
        .add(ra(opts=(slla(R), pio(plen=129))),
             malformed(R, lla(R), "RA", "prefix length 129 > 128")) \
        .add(ra(opts=(slla(R), Raw(bytes([24, 1, 64, 0, 0, 0, 7, 8])))),
             malformed(R, lla(R), "RA", "route information option length 8 too short for /64"))
    Sample("malformed_header", "bad checksum, code 1, messages shorter than their "
           "fixed part", cache=CACHE) \
        .add(frame(mac(B), src, dst, ICMPv6ND_NS(tgt=lla(A), cksum=0x1234) / slla(B)),
             malformed(B, src, "NS", "bad ICMPv6 checksum")) \
        .add(raw_icmp(mac(B), src, dst, _ns_bytes(lla(A), sl(B), code=1)),
             malformed(B, src, "NS", "ICMPv6 code 1")) \
        .add(raw_icmp(mac(B), src, dst, _ns_bytes(lla(A))[:20]),
             malformed(B, src, "NS", "ICMPv6 length 20 < 24")) \
        .add(raw_icmp(mac(R), lla(R), ALL_NODES, bytes([134, 0, 0, 0, 64, 0, 7, 8, 0, 0, 0, 0])),
             malformed(R, lla(R), "RA", "ICMPv6 length 12 < 16")) \
        .add(raw_icmp(mac(B), lla(B), ALL_ROUTERS, bytes([133, 0, 0, 0, 0, 0])),
             malformed(B, lla(B), "RS", "ICMPv6 length 6 < 8"))
    Sample("malformed_rules", "RA and Redirect from global sources, NS for a multicast "
           "target, S=1 on a multicast NA, SLLA from ::, DAD not to a solicited-node group, "
           "Redirect for a multicast destination; malformed messages stop the pipeline",
           cache=CACHE) \
        .add(ra(src=gua("1")), malformed(R, gua("1"), "RA", "source is not link-local")) \
        .add(redirect(R, gua("1"), gua("c"), gua("c")),
             malformed(R, gua("1"), "Redirect", "source is not link-local")) \
        .add(ns(C, lla(C), "ff02::1:2", dst=ALL_NODES),
             malformed(C, lla(C), "NS", "target is multicast")) \
        .add(na(B, lla(B), lla(B), S=1, O=1),
             malformed(B, lla(B), "NA", "solicited flag set on a multicast advertisement")) \
        .add(ns(C, "::", gua("c")),
             malformed(C, "::", "NS", "source link-layer option from the unspecified address")) \
        .add(rs(C, "::", slla(C)),
             malformed(C, "::", "RS", "source link-layer option from the unspecified address")) \
        .add(frame(mac(C), "::", ALL_NODES, ICMPv6ND_NS(tgt=gua("c"))),
             malformed(C, "::", "NS", "DAD solicitation not sent to a solicited-node address")) \
        .add(redirect(R, lla(R), lla(R2), "ff05::2"),
             malformed(R, lla(R), "Redirect", "destination is multicast")) \
        .add(ns(C, lla(C), lla(R)), new_station(C, lla(C)))
    Sample("malformed_clean", "valid near misses: DAD without SLLA, multicast NA with S=0, "
           "unknown options (ignored, RFC 4861 §4.6), RS from :: without SLLA, a /0 "
           "Route Information of length 1", cache=CACHE,
           clean_for=["malformed ND message"]) \
        .add(dad(C, gua("c"))) \
        .add(na(B, lla(B), lla(B), O=1)) \
        .add(ns(B, lla(B), lla(A), slla(B), Raw(bytes([14, 1, 1, 2, 3, 4, 5, 6])))) \
        .add(ra(opts=LEGIT_OPTS + (Raw(bytes([253, 1]) + bytes(6)),))) \
        .add(rs(C, "::")) \
        .add(ra(opts=(slla(R), Raw(bytes([24, 1, 0, 0, 0, 0, 0, 0])))),
             ra_alert("wrong RA Route Info option", "wrong RA Route Info option 0:0:0:0/0"))
    Sample("malformed_option_rogue_ra", "a rogue RA carrying a Route Information option "
           "too short for its prefix, or a short PIO: hosts ignore only that option "
           "(RFC 4191 §3.1, RFC 4861 §4.6.2) and still take the rogue default router, so "
           "the router check must still run (the broken option is reported, low)",
           cache=CACHE) \
        .add(ra(X, opts=(slla(X), Raw(bytes([24, 1, 64, 0, 0, 0, 7, 8])))),
             malformed(X, lla(X), "RA", "route information option length 8 too short for /64"),
             ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}")) \
        .add(ra(X, opts=(slla(X), Raw(bytes([3, 3]) + bytes(pio())[2:24]))),
             malformed(X, lla(X), "RA", "prefix information option length 24 != 32"),
             ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}"))
    Sample("malformed_redirect_target", "a Redirect whose target is a global address "
           "other than the destination: RFC 4861 §8.1 makes hosts drop it, but ndpmon "
           "deliberately does not apply that rule (NDPMon raised its redirect alerts for "
           "such Redirects, golden frame 21; see decode._validity): from the configured "
           "router it is clean, from a host it is a wrong router redirect",
           config="router1", cache=CACHE, clean_for=["malformed ND message"]) \
        .add(redirect(R, lla(R), gua("c"), gua("d"))) \
        .add(redirect(B, lla(B), gua("c"), gua("d")),
             (HIGH, "wrong router redirect", f"wrong router redirect {who(B, lla(B))}"))


def ext_samples() -> None:
    """ND behind extension headers and in fragments (RFC 6980, RFC 7113)."""
    hbh = IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)])
    dst_opt = IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)])
    Sample("ext_headers", "NS, RA, NA behind hop-by-hop / destination options headers; "
           "the other checks still run", cache=CACHE) \
        .add(ns(B, lla(B), lla(A), ext=hbh), ext_alert(B, lla(B), "NS", "hop-by-hop")) \
        .add(ra(ext=dst_opt), ext_alert(R, lla(R), "RA", "destination")) \
        .add(na(A, lla(A), lla(A), ext=hbh.copy() / dst_opt.copy()),
             ext_alert(A, lla(A), "NA", "hop-by-hop,destination")) \
        .add(ra(X, ext=hbh), ext_alert(X, lla(X), "RA", "hop-by-hop"),
             ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}")) \
        .add(ns(C, lla(C), lla(A), ext=dst_opt), ext_alert(C, lla(C), "NS", "destination"),
             new_station(C, lla(C)))
    Sample("ext_clean", "the same messages without extension headers", cache=CACHE,
           clean_for=["ND message behind extension headers", "fragmented ND message"]) \
        .add(ns(B, lla(B), lla(A))) \
        .add(ra()) \
        .add(na(A, lla(A), lla(A)))
    many = tuple(pio(f"2001:db8:{0x100 + i:x}::") for i in range(45))
    rogue = frame(mac(X), lla(X), ALL_NODES, ra_body(opts=(slla(X),) + many),
                  ext=IPv6ExtHdrFragment(id=0x5301, m=0, offset=0))
    rogue_frags = fragment6(IPv6(rogue[14:]), 1280)
    Sample("frag", "an atomic fragment (offset 0, M=0) NS, then a rogue RA of about 1500 bytes "
           "in two fragments: the first alerts, the second is not ND", cache=CACHE) \
        .add(ns(B, lla(B), lla(A), ext=IPv6ExtHdrFragment(id=0x5300, m=0, offset=0)),
             frag_alert(B, lla(B), "NS")) \
        .add(bytes(Ether(src=mac(X), dst=eth_dst(ALL_NODES)) / rogue_frags[0]),
             frag_alert(X, lla(X), "RA"),
             ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}")) \
        .add(bytes(Ether(src=mac(X), dst=eth_dst(ALL_NODES)) / rogue_frags[1]))
    bad = (slla(R), pio("2001:db8:bad::"),
           rdnss(*(f"2001:db8:1::{0x100 + i:x}" for i in range(90))))
    legit = frame(mac(R), lla(R), ALL_NODES, ra_body(opts=bad),
                  ext=IPv6ExtHdrFragment(id=0x5302, m=0, offset=0))
    frags = fragment6(IPv6(legit[14:]), 1280)
    Sample("frag_options_checked", "the first fragment of the configured router's RA "
           "carries a wrong prefix before an option cut by the fragment end", cache=CACHE) \
        .add(bytes(Ether(src=mac(R), dst=eth_dst(ALL_NODES)) / frags[0]),
             frag_alert(R, lla(R), "RA"),
             ra_alert("wrong prefix", f"wrong prefix 2001:db8:bad:0 {who(R, lla(R))}"))


def fragment(src_mac: str, src: str, ident: int, offset: int, more: int, nh: int,
             data: bytes) -> bytes:
    """One IPv6 fragment to all-nodes: ``data`` at byte ``offset * 8`` of packet ``ident``."""
    return bytes(Ether(src=src_mac, dst=eth_dst(ALL_NODES))
                 / IPv6(src=src, dst=ALL_NODES, hlim=255, fl=0)
                 / IPv6ExtHdrFragment(id=ident, m=more, offset=offset, nh=nh) / Raw(data))


def frag_hiding_samples() -> None:
    """Fragments that hide an RA from RA-Guard (RFC 7112, RFC 5722; fake_router26 -E)."""
    echo = bytes([128, 0, 0, 0, 0, 1, 0, 1]) + bytes(16)
    dst_opt_head = bytes([58, 20]) + bytes(30)  # a 168-byte destination header, cut at 32
    who_x = who(X, lla(X))
    Sample("frag_hiding", "a first fragment cut inside a destination options header "
           "(fake_router26 -E D), then an echo request whose second fragment overlaps "
           "the first (-E O): both alert; an overlap repeated later in the same packet "
           "alerts again", cache=CACHE) \
        .add(fragment(mac(X), lla(X), 0x71, 0, 1, 60, dst_opt_head),
             (HIGH, "incomplete header chain",
              f"incomplete header chain {who_x} headers=fragment,destination")) \
        .add(fragment(mac(X), lla(X), 0x71, 4, 0, 60, bytes(64))) \
        .add(fragment(mac(X), lla(X), 0x72, 0, 1, 58, echo)) \
        .add(fragment(mac(X), lla(X), 0x72, 1, 0, 58, bytes(24)),
             (HIGH, "overlapping fragments",
              f"overlapping fragments {who_x} id=0x00000072 bytes 8-32 over 0-24"))
    Sample("frag_clean", "a fragmented echo request in two adjacent fragments, the same "
           "identification from another source, a lone later fragment: no alert",
           cache=CACHE, clean_for=["incomplete header chain", "overlapping fragments"]) \
        .add(fragment(mac(B), lla(B), 0x73, 0, 1, 58, echo)) \
        .add(fragment(mac(B), lla(B), 0x73, 3, 0, 58, bytes(16))) \
        .add(fragment(mac(A), lla(A), 0x73, 1, 0, 58, bytes(16))) \
        .add(fragment(mac(A), lla(A), 0x74, 9, 0, 58, bytes(8)))


def shared(*addrs: str) -> str:
    """The longest prefix all ``addrs`` are in, ``addr/len`` (the address alone if one)."""
    for length in range(128, -1, -1):
        net = ipaddress.IPv6Network(f"{addrs[0]}/{length}", strict=False)
        if all(ipaddress.IPv6Address(a) in net for a in addrs):
            return str(net.network_address) if length == 128 else str(net)
    raise AssertionError("unreachable")


def flood_alert(count, kind, sources, top, described):
    tops = ", ".join(f"{ether(mac(n))} x{k}" for n, k in top)
    return (HIGH, "ND flood", f"ND flood: {count} {kind} in 2 s (limit 1/s); {sources} "
            f"source{'' if sources == 1 else 's'} in its second half, top: {tops}; {described}")


def flood_samples() -> None:
    """The ND flood check (RFC 6583 §4) with limits of 1/s over 2 s windows."""
    Sample("flood", "a third RA and a third NS within one 2 s window alert once each, "
           "describing the sources from half the limit on (MACs, the prefixes their "
           "addresses and targets share); a fourth does not; the next window starts afresh",
           config="router1_rates", cache=CACHE) \
        .add(ra(), at=0).add(ra(), at=0) \
        .add(ra(), flood_alert(3, "RA", 1, [(R, 2)], f"from {lla(R)}"), at=0) \
        .add(ra(), at=1) \
        .add(ns(A, lla(A), lla(R)), at=1).add(ns(B, lla(B), lla(R)), at=1) \
        .add(ns(C, lla(C), lla(R)), flood_alert(
                3, "NS", 2, [(B, 1), (C, 1)], f"MACs: 1 vendor prefix (0:0:5e); "
                f"from {shared(lla(B), lla(C))}; target {lla(R)}"),
             new_station(C, lla(C)), at=1) \
        .add(ra(), at=2).add(ra(), at=3)
    Sample("flood_clean", "two RAs and two NSs in each 2 s window: no flood",
           config="router1_rates", cache=CACHE, clean_for=["ND flood"]) \
        .add(ra(), at=0).add(ra(), at=1).add(ra(), at=2).add(ra(), at=3) \
        .add(ns(A, lla(A), lla(R)), at=4).add(ns(A, lla(A), lla(R)), at=4)


def limit_samples() -> None:
    """The engine's neighbour cache caps (ndpmon extension, ndpmon.engine.engine)."""
    Sample("limit_neighbors", "a fourth station evicts the first (alert), a fifth within "
           "the hour (no alert), a sixth an hour later (alert with the two new evictions)",
           config="router1_max3", cache=[]) \
        .add(ns(A, lla(A), lla(R)), new_station(A, lla(A))) \
        .add(ns(B, lla(B), lla(R)), new_station(B, lla(B))) \
        .add(ns(C, lla(C), lla(R)), new_station(C, lla(C))) \
        .add(ns(D, lla(D), lla(R)), new_station(D, lla(D)),
             limit_alert(1, 3, 0, 64)) \
        .add(ns(A, lla(A), lla(R)), new_station(A, lla(A)), at=10) \
        .add(ns(B, lla(B), lla(R)), new_station(B, lla(B)),
             limit_alert(2, 3, 0, 64),
             at=4000)
    Sample("limit_addresses", "a third global address of one station evicts its first",
           config="router1_addr2", cache=[]) \
        .add(ns(B, lla(B), lla(R)), new_station(B, lla(B))) \
        .add(ns(B, gua("b1"), lla(R)), new_ip(B, gua("b1"))) \
        .add(ns(B, gua("b2"), lla(R)), new_ip(B, gua("b2"))) \
        .add(ns(B, gua("b3"), lla(R)), new_ip(B, gua("b3")),
             limit_alert(0, 100000, 1, 2))
    Sample("limit_clean", "exactly three stations and two addresses each fit",
           config="router1_max3", cache=[], clean_for=["neighbor cache limit reached"]) \
        .add(ns(A, lla(A), lla(R)), new_station(A, lla(A))) \
        .add(ns(B, lla(B), lla(R)), new_station(B, lla(B))) \
        .add(ns(C, lla(C), lla(R)), new_station(C, lla(C))) \
        .add(ns(A, lla(A), lla(R)))


def on_vlan(vid: int | None, alert: tuple, **extra) -> tuple:
    """``alert`` raised on the probe of VLAN ``vid`` of the trunk PROBE (None: PROBE's
    own): the 802.1Q fork's ``VLAN<n>: `` before the message, the probe in the extra."""
    priority, reason, text = alert
    if vid is None:
        return priority, reason, text, dict(extra, probe=PROBE)
    return priority, reason, f"VLAN{vid}: {text}", dict(extra, probe=f"{PROBE}.{vid}")


def unmonitored(vid: int) -> tuple:
    """The one alert for a VLAN of the trunk PROBE that has no probe."""
    return (LOW, "unmonitored VLAN",
            f"no probe for VLAN {vid} on {PROBE}: its ND messages are not checked; add "
            f'<probe name="{PROBE}.{vid}"> to monitor them',
            {"probe": PROBE, "interface": PROBE, "vlan": vid})


def vlan_samples() -> None:
    """A trunk port: each VLAN feeds its own probe; a VLAN without one is reported."""
    Sample("vlan", "802.1Q (priority 5) and 802.1ad+802.1Q tagged frames feed the probe "
           "of their (outer) VLAN, whose alerts start with VLAN<n>: ; the (inner) VLAN id "
           "is in alert.extra['vlan']; an untagged frame feeds the trunk's own probe",
           config="trunk", cache=CACHE, clean_for=["unmonitored VLAN"]) \
        .add(ns(C, lla(C), lla(R), vlans=(10,)),
             on_vlan(10, new_station(C, lla(C)), vlan=10)) \
        .add(ra(X, vlans=(20,)),
             on_vlan(20, ra_alert("wrong ipv6 router", f"wrong ipv6 router {who(X, lla(X))}"),
                     vlan=20)) \
        .add(ns(D, lla(D), lla(R), vlans=(100, 30)),
             on_vlan(100, new_station(D, lla(D)), vlan=30)) \
        .add(ns(P, lla(P), lla(R)), on_vlan(None, new_station(P, lla(P)), vlan=None))
    Sample("vlan_same_router", "the same router MAC and link-local address on VLANs 10 "
           "and 20 (its prefix on each configured), the same link-local address at two "
           "MACs on two VLANs: each VLAN only learns its own stations", config="trunk",
           cache=CACHE, clean_for=["changed ethernet address", "wrong couple MAC/LLA",
                                   "flip flop", "wrong prefix", "wrong ipv6 router"]) \
        .add(ra(R, vlans=(10,)), on_vlan(10, new_station(R, lla(R)))) \
        .add(ra(R, vlans=(20,), opts=(slla(R), ICMPv6NDOptMTU(mtu=1500),
                                     pio("2001:db8:20::")) + LEGIT_OPTS[3:]),
             on_vlan(20, new_station(R, lla(R)))) \
        .add(na(C, lla(C), lla(C), O=1, vlans=(10,)), on_vlan(10, new_station(C, lla(C)))) \
        .add(na(D, lla(C), lla(C), O=1, vlans=(20,)),
             on_vlan(20, new_station(D, lla(C)))) \
        .add(ra(R)) \
        .add(ra(R, vlans=(10,))) \
        .add(na(C, lla(C), lla(C), O=1, vlans=(10,))) \
        .add(na(D, lla(C), lla(C), O=1, vlans=(20,)))
    Sample("vlan_unmonitored", "VLAN 30 has no probe: its first frame raises one alert, "
           "its rogue RA none; a priority tag (VLAN id 0) feeds the trunk's own probe",
           config="trunk", cache=CACHE) \
        .add(ns(C, lla(C), lla(R), vlans=(30,)), unmonitored(30)) \
        .add(ns(C, lla(C), lla(R), vlans=(30,))) \
        .add(ra(X, vlans=(30,))) \
        .add(ns(P, lla(P), lla(R), vlans=(0,)), on_vlan(None, new_station(P, lla(P)), vlan=0))


def other_samples() -> None:
    """Traffic that is not ND."""
    tcp = Ether(src=mac(B), dst=mac(R)) / IPv6(src=gua("b"), dst="2001:db8:9::1", fl=0) / TCP(
        sport=40000, dport=443, flags="S", seq=1, window=1000)
    Sample("non_nd", "echo request/reply, TCP, UDP, ARP, IPv4 ICMP, MLDv2 behind hop-by-hop, "
           "ICMPv6 200/200, a non-first fragment of an NS, runt frames: no alert",
           cache=CACHE) \
        .add(frame(mac(B), gua("b"), gua("a"), ICMPv6EchoRequest(id=1, seq=1, data=b"ndpmon"),
                   l2dst=mac(A))) \
        .add(frame(mac(A), gua("a"), gua("b"), ICMPv6EchoReply(id=1, seq=1, data=b"ndpmon"),
                   l2dst=mac(B))) \
        .add(bytes(tcp)) \
        .add(bytes(Ether(src=mac(B), dst=mac(R)) / IPv6(src=gua("b"), dst=gua("1"), fl=0)
                   / UDP(sport=5353, dport=53) / Raw(b"\0" * 12))) \
        .add(bytes(Ether(src=mac(B), dst="ff:ff:ff:ff:ff:ff") / ARP(
            op=1, hwsrc=mac(B), psrc="192.0.2.11", hwdst="00:00:00:00:00:00",
            pdst="192.0.2.1"))) \
        .add(bytes(Ether(src=mac(B), dst=mac(R)) / IP(src="192.0.2.11", dst="192.0.2.1",
                                                      id=1) / ICMP(id=1, seq=1))) \
        .add(frame(mac(B), lla(B), "ff02::16", ICMPv6MLReport2(),
                   ext=IPv6ExtHdrHopByHop(options=[RouterAlert()]))) \
        .add(raw_icmp(mac(B), lla(B), ALL_NODES, bytes([200, 200, 0, 0]) + bytes(4))) \
        .add(frame(mac(B), lla(B), solicited(lla(A)),
                   IPv6ExtHdrFragment(id=7, m=0, offset=3, nh=58)
                   / Raw(bytes([135, 0, 0, 0]) + bytes(20)))) \
        .add(bytes.fromhex("33330000000100005e00530b")) \
        .add(ns(B, lla(B), lla(A))[:40])


def build() -> list[Sample]:
    """Every sample, in a fixed order."""
    SAMPLES.clear()
    for group in (general_samples, station_samples, conflict_samples, poisoning_samples,
                  ra_samples, short_lifetime_samples,
                  many_items_samples,
                  na_samples,
                  proxy_samples, redirect_samples, malformed_samples, ext_samples,
                  frag_hiding_samples,
                  flood_samples,
                  limit_samples,
                  vlan_samples,
                  other_samples):
        group()
    return list(SAMPLES)


def dump_json(obj) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=True) + "\n"


def main(outdir: Path = OUT) -> list[Path]:
    """Write every pcap, its sidecar and configs.json into ``outdir``; return the paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = [outdir / "configs.json"]
    written[0].write_text(dump_json(CONFIGS))
    for sample in build():
        pcap = outdir / f"{sample.name}.pcap"
        with RawPcapWriter(str(pcap), linktype=DLT_EN10MB) as writer:
            writer.write_header(None)
            for when, data in sample.frames:
                writer.write_packet(data, sec=when, usec=0)
        side = outdir / f"{sample.name}.json"
        side.write_text(dump_json(sample.sidecar()))
        written += [pcap, side]
    return written


if __name__ == "__main__":
    paths = main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {len(paths)} files")
