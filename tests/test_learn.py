"""Learning mode's pure core: what ``learn_ra`` learns from Router Advertisements.

Frames are crafted with scapy through ``tests/data/make_pcaps.py`` (the same builders as
the samples) and decoded by ndpmon's decoder, so the RAs are exactly what the engine
would see. The last tests replay the RAs through an Engine configured with the learned
routers: learning must leave nothing for the RA check to complain about (the fix of
COMPATIBILITY.md §7.9).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import GOLDEN, generator

from ndpmon.config import loader as config
from ndpmon.config.values import ipv6, mac
from ndpmon.codec.decode import decode
from ndpmon.engine.engine import Engine
from ndpmon.state.learn import learn_na, learn_ra, learnable
from ndpmon.config.model import Config, Prefix, Probe, Route, Router
from ndpmon.capture.replay import read_capture

G = generator()

R_MAC, R_LLA = mac(G.mac(G.R)), ipv6(G.lla(G.R))
R2_MAC, R2_LLA = mac(G.mac(G.R2)), ipv6(G.lla(G.R2))
P1 = Prefix(ipv6("2001:db8:1::"), 64, 0xC0, 2592000, 604800)


def msg(frame: bytes):
    """The decoded ND message of ``frame``."""
    decoded = decode(frame)
    assert decoded.__class__.__name__ == "NdMessage", decoded
    return decoded


def ra(n: int = G.R, *opts, **kw):
    """A decoded RA from router ``n`` with its SLLA followed by ``opts``."""
    return msg(G.ra(n, opts=(G.slla(n),) + opts, **kw))


def learn_all(*messages, routers: tuple[Router, ...] = ()) -> tuple[Router, ...]:
    for m in messages:
        routers = learn_ra(routers, m)
    return routers


def test_new_router_gets_every_field_of_the_ra():
    """A new (MAC, LLA) pair becomes a volatile router with the RA's params and options."""
    (router,) = learn_all(msg(G.ra(chlim=64, rl=1800, reach=30000, retrans=1000)))
    assert router == Router(
        mac=R_MAC, lla=R_LLA, curhoplimit=64, flags=0, router_lifetime=1800,
        reachable_timer=30000, retrans_timer=1000, mtu=1500, params_volatile=True,
        prefixes=(P1,), rdnss=((ipv6("2001:db8:1::53"), 900),),
        dnssl=(("example.com", 900),),
        routes=(Route(ipv6("2001:db8:2::"), 48, 0, 1800),))


def test_flags_byte_is_learned_whole():
    """RFC 4861 §4.2: the whole M/O/H/Prf/P byte is stored, as the RA check compares it."""
    (router,) = learn_all(ra(G.R, flags=0xC8))
    assert router.flags == 0xC8


def test_every_prefix_of_one_ra_is_learned_in_order():
    """NDPMon kept one PIO per RA; every PIO is learned here, in packet order
    (COMPATIBILITY.md §7.9)."""
    (router,) = learn_all(ra(G.R, G.pio("2001:db8:a::"), G.ICMPv6NDOptMTU(mtu=1500),
                             G.pio("2001:db8:b::", 56, flags=0x80),
                             G.pio("2001:db8:c::", valid=86400, preferred=3600)))
    assert [(p.address, p.length, p.flags, p.valid, p.preferred) for p in router.prefixes] == [
        (ipv6("2001:db8:a::"), 64, 0xC0, 2592000, 604800),
        (ipv6("2001:db8:b::"), 56, 0x80, 2592000, 604800),
        (ipv6("2001:db8:c::"), 64, 0xC0, 86400, 3600)]


def test_ra_without_prefix_is_learned():
    """An RA without a PIO still teaches the router (NDPMon ignored it, COMPATIBILITY.md §7.9)."""
    (router,) = learn_all(ra(G.R, G.rdnss("2001:db8:1::53")))
    assert (router.mac, router.lla, router.prefixes) == (R_MAC, R_LLA, ())
    assert router.rdnss == ((ipv6("2001:db8:1::53"), 900),)


def test_two_ras_of_one_router_add_their_prefixes():
    """A second RA with another prefix adds it to the same router (appended)."""
    routers = learn_all(ra(G.R, G.pio("2001:db8:a::")), ra(G.R, G.pio("2001:db8:b::")))
    assert len(routers) == 1
    assert [p.address for p in routers[0].prefixes] == [ipv6("2001:db8:a::"),
                                                         ipv6("2001:db8:b::")]


def test_prefix_bits_after_the_length_are_zeroed():
    """RFC 4861 §4.6.2: the bits after the prefix length are ignored, so not stored."""
    (router,) = learn_all(ra(G.R, G.pio("2001:db8:1::99", 64)))
    assert router.prefixes[0].address == ipv6("2001:db8:1::")


def test_changed_lifetimes_replace_instead_of_duplicating():
    """A lifetime change updates the entry in place (NDPMon added a second one)."""
    first = ra(G.R, G.pio(), G.rdnss("2001:db8:1::53"), G.dnssl("example.com"), G.rio())
    second = ra(G.R, G.pio(flags=0x80, valid=7200, preferred=3600),
                G.rdnss("2001:db8:1::53", lifetime=600),
                G.dnssl("example.com", lifetime=600), G.rio(pref=8, lifetime=900))
    (router,) = learn_all(first, second)
    assert router.prefixes == (Prefix(ipv6("2001:db8:1::"), 64, 0x80, 7200, 3600),)
    assert router.rdnss == ((ipv6("2001:db8:1::53"), 600),)
    assert router.dnssl == (("example.com", 600),)
    assert router.routes == (Route(ipv6("2001:db8:2::"), 48, 8, 900),)


def test_rdnss_dnssl_and_routes_are_learned():
    """RFC 8106 servers and domains, RFC 4191 routes: each one, in order."""
    (router,) = learn_all(ra(
        G.R, G.rdnss("2001:db8:1::53", "2001:db8:1::54", lifetime=300),
        G.dnssl("Example.COM", "lab.example.org", lifetime=1200),
        G.rio("2001:db8:2::", 48), G.rio("2001:db8:3::", 64, pref=0x18, lifetime=600),
        G.rio("::", 0, pref=8, lifetime=60)))
    assert router.rdnss == ((ipv6("2001:db8:1::53"), 300), (ipv6("2001:db8:1::54"), 300))
    assert router.dnssl == (("example.com", 1200), ("lab.example.org", 1200))
    assert router.routes == (Route(ipv6("2001:db8:2::"), 48, 0, 1800),
                             Route(ipv6("2001:db8:3::"), 64, 0x18, 600),
                             Route(ipv6("::"), 0, 8, 60))


def test_undecodable_dnssl_and_reserved_route_preference_are_skipped():
    """A DNSSL not in label form is not learned (COMPATIBILITY.md §7.4); RFC 4191 §2.3: Prf 10 is
    ignored."""
    (router,) = learn_all(ra(G.R, G.raw_dnssl(b"example.com"), G.rio(pref=0x10),
                             G.dnssl("ok.example")))
    assert router.dnssl == (("ok.example", 900),)
    assert router.routes == ()


def test_reserved_route_preference_is_one_test_for_learning_and_checking():
    """RFC 4191 §2.1: Prf 10 is reserved whatever the reserved bits beside it (byte 0x11
    here): learning skips the route and the RA check reports it as ignored. The check
    used to compare the whole byte with 0x10 and learning the Prf bits alone, so the
    check let this one pass."""
    frame = G.ra(G.R, opts=(G.slla(G.R), G.rio(pref=0x11)))
    (router,) = learn_all(msg(frame))
    assert router.routes == ()
    engine = Engine(Config("<learned>", probes=(Probe("lan0", routers=(router,)),)))
    messages = [a.message for a in engine.handle("lan0", T0, frame)]
    assert "wrong RA Route Info option: route preference ignor" in messages


def test_dnssl_option_with_a_fault_after_good_names_is_skipped_whole():
    """RFC 8106 §5.2: a DNSSL option that does not decode is dropped, names before the
    fault included; a name the config cannot hold (control character) is skipped."""
    broken = G.raw_dnssl(b"\x07example\x03com\x00\x50bad")
    control = G.raw_dnssl(b"\x03a\x01b\x07example\x00")
    (router,) = learn_all(ra(G.R, broken, control, G.dnssl("ok.example")))
    assert router.dnssl == (("ok.example", 900),)


def test_mtu_zero_is_learned_as_advertised():
    """An MTU option of 0 is stored as 0: the RA check reports it (RFC 4861 §4.6.4)."""
    (router,) = learn_all(ra(G.R, G.ICMPv6NDOptMTU(mtu=0)))
    assert router.mtu == 0


def test_known_router_takes_the_last_params_and_keeps_params_volatile():
    """The last RA's params win; the admin's params_volatile 0 stays."""
    known = Router(R_MAC, R_LLA, curhoplimit=64, flags=0, router_lifetime=1800,
                   reachable_timer=0, retrans_timer=0, mtu=1500, params_volatile=False,
                   prefixes=(P1,))
    (router,) = learn_all(ra(G.R, G.pio(), chlim=32, rl=600, reach=5, retrans=7),
                          routers=(known,))
    assert router == replace(known, curhoplimit=32, router_lifetime=600,
                             reachable_timer=5, retrans_timer=7)


def test_mtu_none_without_option_and_kept_when_later_ras_lack_it():
    """No MTU option: None (the RA check skips it), never 0, which alerts on any MTU."""
    (router,) = learn_all(ra(G.R, G.pio()))
    assert router.mtu is None
    (router,) = learn_all(ra(G.R, G.ICMPv6NDOptMTU(mtu=1400)), ra(G.R, G.pio()))
    assert router.mtu == 1400


def test_a_second_router_is_appended():
    """Two routers: the order of first appearance is kept."""
    routers = learn_all(ra(G.R2, G.pio()), ra(G.R, G.pio()), ra(G.R2, G.pio()))
    assert [(r.mac, r.lla) for r in routers] == [(R2_MAC, R2_LLA), (R_MAC, R_LLA)]


def test_same_tuple_when_nothing_changed():
    """An RA that teaches nothing returns the very same tuple (no index rebuild)."""
    routers = learn_all(msg(G.ra()), ra(G.R2, G.pio()))
    assert learn_ra(routers, msg(G.ra())) is routers
    assert learn_ra(routers, ra(G.R2, G.pio())) is routers
    assert learn_ra(routers, ra(G.R2, G.pio("2001:db8:9::"))) is not routers


def test_same_tuple_when_the_config_spells_the_prefix_with_host_bits():
    """A configured prefix 2001:db8:1::1/64 is the advertised 2001:db8:1::/64."""
    known = (Router(R_MAC, R_LLA, 64, 0, 1800, 0, 0, 1500,
                    prefixes=(replace(P1, address=ipv6("2001:db8:1::1")),),
                    rdnss=((ipv6("2001:db8:1::53"), 900),), dnssl=(("example.com", 900),),
                    routes=(Route(ipv6("2001:db8:2::"), 48, 0, 1800),)),)
    assert learn_ra(known, msg(G.ra())) is known


def bad_checksum() -> bytes:
    frame = bytearray(G.ra())
    frame[14 + 40 + 2] ^= 0xFF
    return bytes(frame)


@pytest.mark.parametrize("frame", [
    pytest.param(lambda: G.ra(hlim=254), id="hop limit 254"),
    pytest.param(lambda: G.ra(src="2001:db8:1::1"), id="global source"),
    pytest.param(bad_checksum, id="bad checksum"),
    pytest.param(lambda: G.ra(opts=(G.slla(G.R), G.pio(), G.Raw(b"\x1f\0" + bytes(6)))),
                 id="option of length 0"),
    pytest.param(lambda: G.ra(ext=G.IPv6ExtHdrHopByHop()), id="hop-by-hop header"),
    pytest.param(lambda: G.ra(ext=G.IPv6ExtHdrFragment()), id="fragment header"),
    pytest.param(lambda: G.ra(src_mac="01:00:5e:00:53:01"), id="multicast MAC"),
    pytest.param(lambda: G.ra(src_mac="00:00:00:00:00:00"), id="all-zero MAC"),
])
def test_invalid_ras_are_not_learned(frame):
    """RFC 4861 §6.1.2 (and RFC 6980): hosts drop these RAs, so learning does too."""
    m = msg(frame())
    assert not learnable(m)
    routers: tuple[Router, ...] = ()
    assert learn_ra(routers, m) is routers


def test_the_valid_ra_is_learnable():
    """The control for the test above: the legitimate RA is learned."""
    assert learnable(msg(G.ra()))
    assert len(learn_ra((), msg(G.ra()))) == 1


def test_other_messages_are_not_learned():
    """Only RAs teach routers: an NA with the router flag does not."""
    na = msg(G.na(G.R, G.lla(G.R), G.lla(G.R), R=1))
    assert learn_ra((), na) == ()


# -- monitoring after learning ------------------------------------------------------------

T0 = 1_700_000_000


def monitored_reasons(routers: tuple[Router, ...], frames: list[bytes]) -> list[str]:
    """Alert reasons of an Engine with ``routers`` (params checked) over ``frames``."""
    strict = tuple(replace(r, params_volatile=False) for r in routers)
    engine = Engine(Config("<learned>", probes=(Probe("lan0", routers=strict),)))
    return [alert.reason for i, frame in enumerate(frames)
            for alert in engine.handle("lan0", T0 + i, frame)]


RAS = [
    G.ra(),  # the legitimate RA: MTU, PIO, RDNSS, DNSSL, RIO
    G.ra(opts=(G.slla(G.R), G.pio("2001:db8:a::"), G.pio("2001:db8:b::", 56, flags=0x80),
               G.rdnss("2001:db8:1::53", "2001:db8:1::54"), G.dnssl("lab.example"),
               G.rio("2001:db8:3::", 64, pref=0x18, lifetime=600))),
    G.ra(G.R2, opts=(G.slla(G.R2), G.pio("2001:db8:1::"), G.pio("2001:db8:c::")),
         chlim=32, flags=0x40, rl=900, reach=30000, retrans=1000),
    G.ra(G.R2, opts=(G.slla(G.R2), G.pio("2001:db8:c::"), G.rio()),
         chlim=32, flags=0x40, rl=900, reach=30000, retrans=1000),
]


def test_monitoring_the_learned_ras_raises_no_ra_alert():
    """With the learned routers and params checked, the same RAs give only new stations."""
    routers = learn_all(*(msg(f) for f in RAS))
    assert [len(r.prefixes) for r in routers] == [3, 2]
    reasons = monitored_reasons(routers, RAS)
    assert set(reasons) == {"new station"}


def test_monitoring_still_alerts_on_what_was_not_learned():
    """The control: an unseen prefix, MTU and DNS server after learning do alert."""
    routers = learn_all(*(msg(f) for f in RAS))
    other = G.ra(opts=(G.slla(G.R), G.ICMPv6NDOptMTU(mtu=1280), G.pio("2001:db8:bad::"),
                       G.rdnss("2001:db8:6::53")))
    reasons = monitored_reasons(routers, RAS + [other])
    assert [r for r in reasons if r != "new station"] == [
        "wrong RA mtu option", "wrong prefix", "wrong RA RDNSS option"]


def test_ndpmon_style_learning_fails_the_same_property():
    """One prefix per RA (COMPATIBILITY.md §7.9) would give a wrong prefix: the property has
    teeth."""
    routers = learn_all(*(msg(f) for f in RAS))
    b9 = (replace(routers[0], prefixes=routers[0].prefixes[-1:]),) + routers[1:]
    assert "wrong prefix" in monitored_reasons(b9, RAS)


# -- golden capture -----------------------------------------------------------------------

needs_golden = pytest.mark.skipif(not GOLDEN.is_dir(), reason=f"no golden files at {GOLDEN}")


@needs_golden
def test_golden_learn_capture_gives_the_originals_router():
    """golden/learn.pcap teaches what NDPMon learned (its DNSSL written as a name,
    COMPATIBILITY.md §7.4)."""
    routers: tuple[Router, ...] = ()
    for _, frame in read_capture(str(GOLDEN / "learn.pcap")):
        decoded = decode(frame)
        if decoded.__class__.__name__ == "NdMessage":
            routers = learn_ra(routers, decoded)
    expected = config.load(str(GOLDEN / "monitor" / "config_ndpmon.xml")).probe("pcap0")
    assert routers == tuple(replace(r, params_volatile=True) for r in expected.routers)


def test_router_global_address_is_learned_from_its_na_with_router_flag():
    """A learned router's NA with the Router flag for its own global address adds that address to
    the router; the same NA again changes nothing (same tuple)."""
    routers = learn_all(ra())
    own = msg(G.na(G.R, "2001:db8:1::1", "2001:db8:1::1", R=1))
    learned = learn_na(routers, own)
    assert learned[0].addresses == (ipv6("2001:db8:1::1"),)
    assert learn_na(learned, own) is learned  # nothing new: the same tuple


@pytest.mark.parametrize("src, target, flags, sender", [
    ("2001:db8:1::1", "2001:db8:1::1", {"R": 0}, G.R),        # no Router flag
    ("2001:db8:1::1", "2001:db8:1::9", {"R": 1}, G.R),        # another address (proxy)
    ("fe80::1", "fe80::1", {"R": 1}, G.R),                    # link-local: not listed
    ("2001:db8:1::1", "2001:db8:1::1", {"R": 1}, G.R2),       # not a learned router's MAC
])
def test_other_nas_teach_no_router_address(src, target, flags, sender):
    """No router address is learned from an NA without the Router flag, for another target, from a
    link-local source, or from a MAC that is no learned router's."""
    routers = learn_all(ra())
    assert learn_na(routers, msg(G.na(sender, src, target, **flags))) is routers


def test_learning_then_monitoring_accepts_the_routers_na():
    """What learning wrote lets monitoring accept the router's RA and its NA with the Router flag:
    no ``NA router flag``, no ``wrong ipv6 router``."""
    frames = [G.ra(G.R, opts=(G.slla(G.R),)),
              G.na(G.R, "2001:db8:1::1", "2001:db8:1::1", R=1)]
    cfg = Config("<test>", probes=(Probe("p"),))
    learner = Engine(cfg, learning=True)
    for frame in frames:
        learner.handle("p", 0.0, frame)
    watcher = Engine(replace(cfg, probes=(Probe("p", routers=learner.learned()["p"]),)))
    reasons = [a.reason for f in frames for a in watcher.handle("p", 1.0, f)]
    assert "NA router flag" not in reasons and "wrong ipv6 router" not in reasons
