"""The frame decoder: exact field values, malformed input, and no input that breaks it.

``decode`` must return (an NdMessage or a NotND) for any bytes, in bounded time: NDPMon
hung for ever on one zero-length option (COMPATIBILITY.md §7.1). The exact-value tests use frames
built by scapy, whose encoders are independent of ours; the robustness tests feed truncations,
bad option lengths, every extension header and random bytes, and also run the whole
check pipeline on them.
"""

from __future__ import annotations

import ipaddress
import signal
import struct
from contextlib import contextmanager

import pytest
from conftest import PCAPS, generator, make_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import (
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
    ICMPv6NDOptRedirectedHdr,
    ICMPv6NDOptRouteInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.utils import RawPcapReader

from ndpmon.codec.decode import decode
from ndpmon.codec.message import (
    NA,
    NS,
    RA,
    REDIRECT,
    RS,
    Dnssl,
    LinkLayer,
    Mtu,
    NdMessage,
    NotND,
    PrefixInfo,
    Rdnss,
    Redirected,
    RouteInfo,
)

RMAC, HMAC = "00:00:5e:00:53:01", "00:00:5e:00:53:0b"
RLLA, HLLA = "fe80::200:5eff:fe00:5301", "fe80::200:5eff:fe00:530b"
ROUTER1 = generator().CONFIGS["router1"]


def ip(text: str) -> bytes:
    return ipaddress.IPv6Address(text).packed


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


@contextmanager
def time_limit(seconds: float):
    """Fail instead of hanging: an endless loop in the decoder becomes an error."""

    def expire(signum, frame):
        raise TimeoutError(f"did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def l2(src: str = RMAC, dst: str = "33:33:00:00:00:01"):
    return Ether(src=src, dst=dst)


def full_ra():
    """A hand-crafted RA with one option of every kind the decoder knows."""
    return (ICMPv6ND_RA(chlim=64, M=1, O=1, prf=1, routerlifetime=1800,
                        reachabletime=30000, retranstimer=1000)
            / ICMPv6NDOptSrcLLAddr(lladdr=RMAC)
            / ICMPv6NDOptMTU(mtu=1500)
            / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=86400,
                                    preferredlifetime=14400, prefix="2001:db8:1::")
            / ICMPv6NDOptRDNSS(lifetime=600, dns=["2001:db8:1::53", "2001:db8:2::53"])
            / ICMPv6NDOptDNSSL(lifetime=900, searchlist=["example.com", "corp.example.org"])
            / ICMPv6NDOptRouteInfo(plen=48, prf=1, rtlifetime=1800, prefix="2001:db8:2::"))


def ra_frame() -> bytes:
    return bytes(l2() / IPv6(src=RLLA, dst="ff02::1", hlim=255) / full_ra())


def icmp_frame(body: bytes, *, src: str = RLLA, dst: str = "ff02::1",
               ext: bytes = b"", first_nh: int = 58, fix: bool = True) -> bytes:
    """Ethernet/IPv6 with raw extension headers and ICMPv6 body (checksum recomputed)."""
    if fix and len(body) >= 4:
        body = body[:2] + struct.pack("!H", generator().checksum(
            src, dst, body[:2] + b"\0\0" + body[4:])) + body[4:]
    header = struct.pack("!IHBB", 6 << 28, len(ext) + len(body), first_nh, 255)
    return (mac("33:33:00:00:00:01") + mac(RMAC) + b"\x86\xdd" + header + ip(src) + ip(dst)
            + ext + body)


def icmp_body(frame: bytes) -> bytes:
    """The ICMPv6 message of an untagged frame without extension headers."""
    return frame[54:]


# --- exact values -----------------------------------------------------------------------

def test_ra_fields_are_decoded_exactly() -> None:
    """Every field of a hand-crafted RA and of each of its options has the sent value."""
    msg = decode(ra_frame())
    assert isinstance(msg, NdMessage)
    assert (msg.type, msg.code, msg.type_name) == (RA, 0, "RA")
    assert (msg.eth_src, msg.eth_dst) == (mac(RMAC), mac("33:33:00:00:00:01"))
    assert (msg.src, msg.dst, msg.hlim) == (ip(RLLA), ip("ff02::1"), 255)
    assert (msg.vlan, msg.ext, msg.fragment) == (None, (), False)
    assert (msg.checksum_ok, msg.malformed) == (True, None)
    assert (msg.chlim, msg.ra_flags, msg.routerlifetime, msg.reachabletime,
            msg.retranstimer) == (64, 0xC8, 1800, 30000, 1000)
    assert msg.slla == mac(RMAC) and msg.tlla is None
    lla, mtu, pio, rdnss, dnssl, rio = msg.options
    assert isinstance(lla, LinkLayer) and (lla.type, lla.mac) == (1, mac(RMAC))
    assert isinstance(mtu, Mtu) and mtu.mtu == 1500
    assert isinstance(pio, PrefixInfo)
    assert (pio.prefixlen, pio.flags, pio.validlifetime, pio.preferredlifetime, pio.res2,
            pio.prefix) == (64, 0xC0, 86400, 14400, 0, ip("2001:db8:1::"))
    assert isinstance(rdnss, Rdnss)
    assert (rdnss.lifetime, rdnss.servers) == (600, (ip("2001:db8:1::53"), ip("2001:db8:2::53")))
    assert isinstance(dnssl, Dnssl)
    assert (dnssl.lifetime, dnssl.domains, dnssl.error) == (
        900, ("example.com", "corp.example.org"), None)
    assert isinstance(rio, RouteInfo)
    assert (rio.prefixlen, rio.pref, rio.rtlifetime, rio.prefix) == (
        48, 0x08, 1800, ip("2001:db8:2::"))


def test_ns_na_rs_fields_are_decoded_exactly() -> None:
    """NS target and SLLA, NA flags and TLLA, RS SLLA come out as sent."""
    ns = decode(bytes(l2(HMAC) / IPv6(src=HLLA, dst="ff02::1:ff00:5301")
                      / ICMPv6ND_NS(tgt=RLLA) / ICMPv6NDOptSrcLLAddr(lladdr=HMAC)))
    assert (ns.type, ns.target, ns.slla, ns.malformed) == (NS, ip(RLLA), mac(HMAC), None)
    na = decode(bytes(l2(HMAC, RMAC) / IPv6(src=HLLA, dst=RLLA)
                      / ICMPv6ND_NA(R=1, S=1, O=0, tgt="2001:db8:1::b")
                      / ICMPv6NDOptDstLLAddr(lladdr=HMAC)))
    assert (na.type, na.target, na.na_flags, na.tlla, na.slla) == (
        NA, ip("2001:db8:1::b"), 0xC0, mac(HMAC), None)
    assert na.malformed is None and na.checksum_ok is True
    rs = decode(bytes(l2(HMAC) / IPv6(src=HLLA, dst="ff02::2") / ICMPv6ND_RS()
                      / ICMPv6NDOptSrcLLAddr(lladdr=HMAC)))
    assert (rs.type, rs.slla, rs.target, rs.malformed) == (RS, mac(HMAC), None, None)


def test_redirect_fields_are_decoded_exactly() -> None:
    """A Redirect's target, destination, TLLA and redirected header are decoded."""
    inner = bytes(IPv6(src="2001:db8:1::b", dst="2001:db8:9::1", plen=8, nh=59))
    msg = decode(bytes(l2(RMAC, HMAC) / IPv6(src=RLLA, dst=HLLA)
                       / ICMPv6ND_Redirect(tgt="fe80::2", dst="2001:db8:9::1")
                       / ICMPv6NDOptDstLLAddr(lladdr="00:00:5e:00:53:02")
                       / ICMPv6NDOptRedirectedHdr(pkt=inner)))
    assert (msg.type, msg.type_name, msg.malformed) == (REDIRECT, "Redirect", None)
    assert (msg.target, msg.rd_dst) == (ip("fe80::2"), ip("2001:db8:9::1"))
    assert msg.tlla == mac("00:00:5e:00:53:02")
    redirected = msg.options[1]
    assert isinstance(redirected, Redirected) and redirected.data.startswith(inner)


def test_ethernet_padding_is_not_part_of_the_message() -> None:
    """Bytes after the IPv6 payload (Ethernet padding) change nothing."""
    frame = ra_frame()
    padded = decode(frame + bytes(20))
    assert (padded.checksum_ok, padded.malformed) == (True, None)
    assert len(padded.options) == len(decode(frame).options)


# --- checksum ---------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [54, 58, 62, 70, -1])
def test_checksum_ok_and_a_flipped_byte(offset: int) -> None:
    """checksum_ok is True for a scapy frame and False once any ICMPv6 byte flips."""
    frame = bytearray(ra_frame())
    assert decode(bytes(frame)).checksum_ok is True
    if offset == 54:
        frame[55] ^= 0x01  # the code byte: still an RA
    else:
        frame[offset] ^= 0x01
    msg = decode(bytes(frame))
    assert msg.checksum_ok is False
    assert msg.malformed == "bad ICMPv6 checksum"


def test_checksum_of_an_odd_length_message() -> None:
    """An odd ICMPv6 length is padded with a zero byte for the checksum (RFC 4443 §2.3)."""
    msg = decode(icmp_frame(bytes([133, 0, 0, 0, 0, 0, 0, 0, 1]), src=HLLA, dst="ff02::2"))
    assert msg.checksum_ok is True
    assert msg.malformed == "truncated option header"


# --- truncations and bad option lengths --------------------------------------------------

def test_every_prefix_of_an_ra_frame_decodes() -> None:
    """Every prefix of a full RA frame returns; all but the whole one are NotND."""
    frame = ra_frame()
    with time_limit(10):
        for n in range(len(frame)):
            assert isinstance(decode(frame[:n]), NotND), n
    assert isinstance(decode(frame), NdMessage)


def test_every_cut_of_the_ra_message_is_reported() -> None:
    """An RA cut at any byte (IPv6 length fixed, checksum correct) is valid exactly at
    option boundaries and malformed everywhere else."""
    body = icmp_body(ra_frame())
    boundaries, pos = {16}, 16
    while pos < len(body):
        pos += body[pos + 1] * 8
        boundaries.add(pos)
    with time_limit(10):
        for cut in range(len(body) + 1):
            msg = decode(icmp_frame(body[:cut]))
            if cut < 4:
                assert isinstance(msg, NotND), cut
                continue
            assert isinstance(msg, NdMessage), cut
            if cut % 2 == 0:  # odd lengths: see test_checksum_of_an_odd_length_message
                assert msg.checksum_ok is True, cut
            assert (msg.malformed is None) == (cut in boundaries), (cut, msg.malformed)


@pytest.mark.parametrize("position", [0, 1, 2, 5])
def test_zero_length_option_ends_decoding(position: int) -> None:
    """A zero-length option anywhere makes the message malformed (RFC 4861 §4.6)."""
    body = icmp_body(ra_frame())
    opts, pos = [], 16
    while pos < len(body):
        size = body[pos + 1] * 8
        opts.append(body[pos:pos + size])
        pos += size
    opts.insert(position, bytes([5, 0, 0, 0, 0, 0, 5, 220]))
    with time_limit(5):
        msg = decode(icmp_frame(body[:16] + b"".join(opts)))
    assert msg.malformed == "option type 5 has length 0"


@pytest.mark.parametrize("length", [2, 5, 255])
def test_option_length_past_the_end(length: int) -> None:
    """An option whose length points past the message is malformed, not read beyond."""
    body = icmp_body(ra_frame()) + bytes([25, length, 0, 0, 0, 0, 3, 132])
    msg = decode(icmp_frame(body))
    assert msg.malformed == "option type 25 runs past the message"


def test_option_header_cut_in_half() -> None:
    """One lone byte after the last option is a truncated option header."""
    msg = decode(icmp_frame(icmp_body(ra_frame()) + b"\x01"))
    assert msg.malformed == "truncated option header"


def test_overlong_known_options_are_faults() -> None:
    """A PIO that is not 32 bytes and a Route Information over 24 bytes are skipped
    option faults: the message stays valid, the option is left out."""
    body = icmp_body(ra_frame())[:16]
    pio = bytes(ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::"))
    msg = decode(icmp_frame(body + bytes([3, 5]) + pio[2:] + bytes(8)))
    assert (msg.malformed, msg.opt_fault, msg.options) == (
        None, "prefix information option length 40 != 32", ())
    rio = bytes([24, 4, 48, 0, 0, 0, 7, 8]) + bytes(24)
    msg = decode(icmp_frame(body + rio))
    assert (msg.malformed, msg.opt_fault, msg.options) == (
        None, "route information option length 32 > 24", ())


# --- DNSSL label errors -----------------------------------------------------------------

def _dnssl(data: bytes) -> Dnssl:
    data += bytes(-(len(data) + 8) % 8)
    option = struct.pack("!BBHI", 31, (len(data) + 8) // 8, 0, 900) + data
    msg = decode(icmp_frame(icmp_body(ra_frame())[:16] + option))
    assert msg.malformed is None
    return msg.options[0]


@pytest.mark.parametrize("data, domains, error", [
    (b"\x07example\x03com\x00", ("example.com",), None),
    (b"\x07EXAMPLE\x03Com\x00\x03org\x00", ("example.com", "org"), None),
    (b"example.com\x00", (), "label length 101 > 63"),
    (b"\x40" + b"a" * 64 + b"\x00", (), "label length 64 > 63"),
    (b"\x07example\x03com\x00\x05ab", ("example.com",), "label runs past the option"),
    (b"\x07example\x03com\x00\x00\x01", ("example.com",), "data after the padding"),
    (b"\x07example\x03com\x03abc", (), "name not terminated"),
])
def test_dnssl_labels(data: bytes, domains: tuple, error: str | None) -> None:
    """DNSSL names decode from RFC 1035 labels; each encoding fault sets Dnssl.error."""
    option = _dnssl(data)
    assert (option.domains, option.error) == (domains, error)


# --- VLAN tags --------------------------------------------------------------------------

def _ns(*tags) -> bytes:
    pkt = l2(HMAC)
    for tag in tags:
        pkt = pkt / tag
    return bytes(pkt / IPv6(src=HLLA, dst="ff02::1:ff00:5301") / ICMPv6ND_NS(tgt=RLLA)
                 / ICMPv6NDOptSrcLLAddr(lladdr=HMAC))


def test_single_8021q_tag() -> None:
    """An 802.1Q tag gives its VLAN id (priority bits masked) and the same message."""
    # the drop-eligible bit: "dei" since scapy 2.6, "id" in 2.5 (Debian bookworm)
    dei = "dei" if any(f.name == "dei" for f in Dot1Q.fields_desc) else "id"
    msg = decode(_ns(Dot1Q(vlan=10, prio=7, **{dei: 1})))
    assert (msg.vlan, msg.type, msg.target, msg.malformed) == (10, NS, ip(RLLA), None)


def test_double_tag_gives_the_inner_vlan() -> None:
    """802.1ad + 802.1Q (QinQ): the inner (customer) VLAN id is reported."""
    msg = decode(_ns(Dot1AD(vlan=100), Dot1Q(vlan=4094)))
    assert (msg.vlan, msg.type, msg.malformed) == (4094, NS, None)


def test_three_tags_and_cut_tags_are_not_nd() -> None:
    """More than two tags, or a frame ending inside a tag, is NotND."""
    assert isinstance(decode(_ns(Dot1AD(vlan=1), Dot1Q(vlan=2), Dot1Q(vlan=3))), NotND)
    tagged = _ns(Dot1Q(vlan=10))
    for n in range(12, 19):
        assert isinstance(decode(tagged[:n]), NotND), n


# --- extension headers ------------------------------------------------------------------

def _ext(nh: int, kind: int) -> bytes:
    """One extension header of ``kind`` whose Next Header is ``nh``."""
    if kind == 44:  # fragment: offset 0, M=0 (atomic)
        return struct.pack("!BBHI", nh, 0, 0, 0x5301)
    if kind == 51:  # AH with a 12-byte ICV: (24 / 4) - 2 = 4
        return struct.pack("!BBHII", nh, 4, 0, 0x100, 1) + bytes(12)
    if kind == 43:  # routing header type 4 (SRH) with segments left 0
        return struct.pack("!BBBB", nh, 2, 4, 0) + bytes(4) + ip("2001:db8:1::1")
    return struct.pack("!BB", nh, 0) + bytes([1, 4, 0, 0, 0, 0])  # PadN


def chain(kinds: list[int]) -> tuple[int, bytes]:
    """(first next-header value, bytes) of extension headers ending in ICMPv6."""
    data, nh = b"", 58
    for kind in reversed(kinds):
        data = _ext(nh, kind) + data
        nh = kind
    return nh, data


NS_BODY = icmp_body(_ns())


@pytest.mark.parametrize("kinds", [[0], [60], [43], [44], [51], [0, 60, 43, 44, 51, 60]])
def test_extension_headers_are_skipped_and_listed(kinds: list[int]) -> None:
    """Each extension header kind, and a chain of them, is walked and listed in ``ext``."""
    first, data = chain(kinds)
    msg = decode(icmp_frame(NS_BODY, src=HLLA, dst="ff02::1:ff00:5301", ext=data,
                            first_nh=first))
    assert isinstance(msg, NdMessage)
    assert msg.ext == tuple(kinds)
    assert msg.fragment == (44 in kinds)
    assert (msg.type, msg.target, msg.checksum_ok, msg.malformed) == (
        NS, ip(RLLA), True, None)


def test_every_cut_of_an_extension_header_chain_returns() -> None:
    """A header chain cut at any byte (IPv6 length fixed) gives NotND, never an error."""
    first, data = chain([0, 60, 43, 44, 51, 60])
    with time_limit(10):
        for cut in range(len(data)):
            msg = decode(icmp_frame(b"", ext=data[:cut], first_nh=first))
            assert isinstance(msg, NotND), cut


def test_non_first_fragment_is_not_nd() -> None:
    """A fragment with a non-zero offset carries no ND header: NotND."""
    frag = struct.pack("!BBHI", 58, 0, (1 << 3) | 1, 7)
    msg = decode(icmp_frame(NS_BODY, ext=frag, first_nh=44))
    assert isinstance(msg, NotND) and msg.reason == "non-first fragment"


def test_first_fragment_is_partial() -> None:
    """A first fragment (M=1) decodes, flags the fragment, and skips the checksum."""
    frag = struct.pack("!BBHI", 58, 0, 1, 7)
    msg = decode(icmp_frame(icmp_body(ra_frame())[:60], ext=frag, first_nh=44))
    assert isinstance(msg, NdMessage)
    assert (msg.fragment, msg.ext, msg.checksum_ok, msg.malformed) == (True, (44,), None, None)


@pytest.mark.parametrize("nh", [59, 50, 6, 17, 135])
def test_other_next_headers_are_not_nd(nh: int) -> None:
    """No Next Header, ESP, TCP, UDP, Mobility: not ND."""
    assert isinstance(decode(icmp_frame(NS_BODY, first_nh=nh)), NotND)


# --- random input -----------------------------------------------------------------------

def sample_frames() -> list[bytes]:
    """Every frame of every committed sample capture."""
    frames = []
    for pcap in sorted(PCAPS.glob("*.pcap")):
        frames.extend(data for data, _meta in RawPcapReader(str(pcap)))
    return frames


SAMPLE_FRAMES = sample_frames()
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


def check_returns(frame: bytes, engine) -> None:
    """decode returns a known type and the engine handles the frame without raising."""
    with time_limit(5):
        msg = decode(frame)
        assert isinstance(msg, (NdMessage, NotND))
        alerts = engine.handle("lan0", 1_700_000_000.0, frame)
    assert isinstance(alerts, list)


@settings(max_examples=300, deadline=None, suppress_health_check=HEALTH)
@given(st.binary(max_size=400))
def test_random_bytes(frame: bytes) -> None:
    """Random bytes never make decode or the engine raise or hang."""
    check_returns(frame, make_engine(ROUTER1))


@settings(max_examples=300, deadline=None, suppress_health_check=HEALTH)
@given(st.sampled_from(SAMPLE_FRAMES),
       st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8),
       st.integers(0, 2000), st.binary(max_size=16))
def test_mutated_sample_frames(frame: bytes, changes, cut: int, tail: bytes) -> None:
    """Sample frames with bytes changed, cut and extended never make anything raise."""
    data = bytearray(frame)
    for where, value in changes:
        if data:
            data[where % len(data)] = value
    check_returns(bytes(data[:cut]) + tail, make_engine(ROUTER1))


@settings(max_examples=300, deadline=None, suppress_health_check=HEALTH)
@given(st.sampled_from([RS, RA, NS, NA, REDIRECT]), st.integers(0, 255),
       st.binary(max_size=300), st.booleans(),
       st.sampled_from(["::", RLLA, "2001:db8:1::b", "ff02::1"]))
def test_random_nd_bodies(icmp_type: int, code: int, rest: bytes, fix: bool,
                          src: str) -> None:
    """Valid headers around random ND bodies reach the option parser and the checks."""
    body = bytes([icmp_type, code, 0, 0]) + rest
    check_returns(icmp_frame(body, src=src, fix=fix), make_engine(ROUTER1))


def _truncations(frame: bytes):
    """Every prefix of ``frame`` and, for untagged IPv6, every cut of its payload with
    the IPv6 payload length adjusted (so the cut reaches the ND parser)."""
    for n in range(len(frame)):
        yield frame[:n]
    if len(frame) >= 54 and frame[12:14] == b"\x86\xdd":
        for cut in range(54, len(frame)):
            data = bytearray(frame[:cut])
            data[18:20] = struct.pack("!H", cut - 54)
            yield bytes(data)


def test_engine_survives_every_truncation_of_every_sample_frame() -> None:
    """The whole check pipeline handles every truncation of every sample frame."""
    engine = make_engine(ROUTER1, generator().CACHE)
    count = 0
    with time_limit(120):
        for frame in SAMPLE_FRAMES:
            for data in _truncations(frame):
                assert isinstance(engine.handle("lan0", 1_700_000_000.0, data), list)
                count += 1
    assert count > 10_000


# --- the NS/NA fast path ------------------------------------------------------------------

def _fields(msg) -> tuple:
    """Every field of a decoded message, options by their repr."""
    return tuple(repr(getattr(msg, name)) for name in NdMessage.__slots__)


@settings(max_examples=400, deadline=None, suppress_health_check=HEALTH)
@given(st.sampled_from([NS, NA]), st.integers(0, 255), st.sampled_from([0, 0x20, 0x40, 0xE0]),
       st.sampled_from([b"", bytes([1, 1]) + bytes(6), bytes([2, 1]) + bytes(range(6)),
                        bytes([1, 2]) + bytes(14), bytes([5, 1]) + bytes(6), bytes([2, 0])]),
       st.booleans(), st.sampled_from(["::", HLLA, "2001:db8:1::b", "ff02::1"]),
       st.sampled_from(["ff02::1", "ff02::1:ff00:b", HLLA]),
       st.sampled_from([HLLA, "ff02::1", "2001:db8:1::b"]), st.binary(max_size=20),
       st.integers(0, 15))
def test_ns_na_fast_path_decodes_as_the_general_path(icmp_type, code, flags, option, fix,
                                                     src, dst, target, tail, version):
    """An untagged NS or NA with at most one option is decoded in one step (a flood's
    frames); every field, fault and option is what the general path makes of it, with any
    code, flags, option, checksum, addresses, Ethernet padding and IP version."""
    from ndpmon.codec.decode import _ipv6

    body = bytes([icmp_type, code, 0, 0, flags, 0, 0, 0]) + ip(target) + option
    frame = bytearray(icmp_frame(body, src=src, dst=dst, fix=fix) + tail)
    frame[14] = version << 4 | frame[14] & 0x0F
    fast, general = decode(bytes(frame)), _ipv6(bytes(frame), 14, None)
    assert type(fast) is type(general)
    if isinstance(general, NdMessage):
        assert _fields(fast) == _fields(general)
    else:
        assert fast.reason == general.reason
