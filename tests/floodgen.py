"""ND frames built with struct, fast enough for floods of hundreds of thousands.

scapy builds a few thousand frames a second; a flood test needs a hundred times more.
Each builder returns Ethernet + IPv6 (hop limit 255) + ICMPv6 with a correct checksum,
so the frames pass the decoder's validity rules and reach the checks, as a real flood
from thc-ipv6 does.
"""

from __future__ import annotations

import random
import struct

from fuzz.frames import checksum  # RFC 4443 §2.3, the fuzzer's own

ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
PREFIX = bytes.fromhex("20010db8000100000000000000000000")


def frame(eth_src: bytes, eth_dst: bytes, src: bytes, dst: bytes, icmp: bytes) -> bytes:
    """Ethernet + IPv6 + ``icmp`` with its checksum filled in."""
    icmp = icmp[:2] + struct.pack("!H", checksum(src, dst, icmp)) + icmp[4:]
    ip = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255) + src + dst
    return eth_dst + eth_src + b"\x86\xdd" + ip + icmp


def station(rng: random.Random) -> tuple[bytes, bytes, bytes]:
    """A random station: unicast MAC, its EUI-64 link-local and global address."""
    mac = bytes((rng.randrange(256) & 0xFC,)) + rng.randbytes(5)
    iid = bytes((mac[0] ^ 2,)) + mac[1:3] + b"\xff\xfe" + mac[3:]
    return mac, bytes.fromhex("fe800000000000000000")[:8] + iid, PREFIX[:8] + iid


def ra(mac: bytes, lla: bytes, prefix: bytes = PREFIX) -> bytes:
    """An RA with router lifetime 1800, a source link-layer option and one /64 PIO."""
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BB", 1, 1) + mac
    body += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 2592000, 604800, 0) + prefix
    return frame(mac, ALL_NODES_MAC, lla, ALL_NODES, body)


def ns(mac: bytes, src: bytes, target: bytes) -> bytes:
    """An NS to the target's solicited-node group with a source link-layer option."""
    body = struct.pack("!BBHI", 135, 0, 0, 0) + target + struct.pack("!BB", 1, 1) + mac
    dst = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    return frame(mac, b"\x33\x33\xff" + target[13:], src, dst, body)


def na(mac: bytes, src: bytes, target: bytes, dst: bytes = ALL_NODES) -> bytes:
    """An unsolicited NA (Override) with a target link-layer option."""
    body = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + target + struct.pack("!BB", 2, 1) + mac
    return frame(mac, ALL_NODES_MAC, src, dst, body)


def random_flood(kind: str, count: int, seed: int = 1) -> list[bytes]:
    """``count`` RAs, NSs or NAs, each from a new random station (thc-ipv6's floods)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        mac, lla, gua = station(rng)
        if kind == "ra":
            out.append(ra(mac, lla, rng.randbytes(8) + bytes(8)))
        elif kind == "ns":
            out.append(ns(mac, lla, station(rng)[2]))
        else:
            out.append(na(mac, gua, gua))
    return out
