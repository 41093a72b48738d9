"""The ND flood check: a rate of 0 turns a type off; each window alerts once; the alert
describes the senders in bounded memory."""

from __future__ import annotations

import random

import pytest
from conftest import generator, make_engine
from floodgen import PREFIX, na

from ndpmon.codec.message import NA
from ndpmon.state.rates import MAX_SOURCES

G = generator()


@pytest.mark.parametrize("ns_rate, expected", [(0, 0), (1, 1), (100, 0)])
def test_ns_rate(ns_rate, expected):
    """300 NS in 3 s give one ``ND flood`` at ns_rate 1, none at 100 and none when the rate is 0
    (off)."""
    engine = make_engine({"limits": {"ns_rate": ns_rate, "rate_window": 10}})
    frame = G.ns(G.A, G.lla(G.A), G.lla(G.R))
    reasons = [a.reason for i in range(300)
               for a in engine.handle("lan0", 1000.0 + i * 0.01, frame)]
    assert reasons.count("ND flood") == expected


def test_a_new_window_alerts_again():
    """A flood alerts once per window: the third RA of each 2 s window at ra_rate 1, again in a
    later window."""
    engine = make_engine({"limits": {"ra_rate": 1, "rate_window": 2}})
    frame = G.ra(G.R, opts=(G.slla(G.R),))
    times = [0.0, 0.1, 0.2, 0.3, 5.0, 5.1, 5.2]
    floods = [t for t in times for a in engine.handle("lan0", t, frame)
              if a.reason == "ND flood"]
    assert floods == [0.2, 5.2]


def test_frames_read_out_of_order_count_in_the_current_window():
    """Live capture reads its lanes out of each other's order: an NS flood read from a
    backlog (captured 15 s before, more than a window) between fresh RAs still counts in
    one window and gives its ``ND flood`` (each RA reopened the window and reset the
    count)."""
    engine = make_engine({"limits": {"ns_rate": 10, "ra_rate": 0, "rate_window": 10}})
    ns, ra = G.ns(G.A, G.lla(G.A), G.lla(G.R)), G.ra(G.R, opts=(G.slla(G.R),))
    reasons = []
    for i in range(200):
        reasons += [a.reason for a in engine.handle("lan0", 1015.0 + i * 0.01, ra)]
        reasons += [a.reason for a in engine.handle("lan0", 1000.0 + i * 0.01, ns)]
    assert reasons.count("ND flood") == 1


def test_a_clock_set_back_by_hours_starts_a_new_window():
    """A frame far older than the window (the clock was set back) opens a new window, so
    flood detection does not stay blind until the clock catches up (a guard for the
    change above)."""
    engine = make_engine({"limits": {"ra_rate": 1, "rate_window": 2}})
    frame = G.ra(G.R, opts=(G.slla(G.R),))
    times = [10000.0, 10000.1, 10000.2, 100.0, 100.1, 100.2]
    floods = [t for t in times for a in engine.handle("lan0", t, frame)
              if a.reason == "ND flood"]
    assert floods == [10000.2, 100.2]


def _random_na_flood(count: int) -> tuple[list[bytes], list[bytes]]:
    """``count`` NAs, each from a new random unicast MAC (random locally administered bit,
    as thc-ipv6's flood_advertise6 makes them) for a random address of 2001:db8:1::/64;
    the frames and their MACs."""
    rng = random.Random(16)
    macs, out = [], []
    for _ in range(count):
        mac = bytes((rng.randrange(256) & 0xFE,)) + rng.randbytes(5)
        addr = PREFIX[:8] + rng.randbytes(8)
        macs.append(mac)
        out.append(na(mac, addr, addr))
    return out, macs


def test_flood_from_random_sources_says_what_they_share():
    """An NA flood from random MACs names no top list of ``x1``: it says how many sources
    sent in the window's second half (frames 51-101 at 10/s over 10 s), how many vendor
    prefixes and locally administered MACs they have, and the prefix their addresses and
    targets share."""
    engine = make_engine({"limits": {"na_rate": 10, "rate_window": 10}})
    frames, macs = _random_na_flood(300)
    floods = [a for i, f in enumerate(frames) for a in engine.handle("lan0", 1000 + i * 0.01, f)
              if a.reason == "ND flood"]
    second_half = macs[50:101]
    vendors = len({m[:3] for m in second_half})
    local = sum(1 for m in second_half if m[0] & 2)
    assert [a.message for a in floods] == [
        f"ND flood: 101 NA in 10 s (limit 10/s); 51 sources in its second half; MACs: "
        f"{vendors} vendor prefixes, {local} locally administered; from 2001:db8:1::/64; "
        f"targets in 2001:db8:1::/64"]
    assert floods[0].extra["sources"] == 51


def test_flood_sources_are_bounded():
    """Memory stays bounded: past MAX_SOURCES new MACs are no longer remembered, and the
    alert says ``at least``."""
    engine = make_engine({"limits": {"na_rate": 1, "rate_window": 4000}})
    frames, _ = _random_na_flood(4001)
    floods = [a for i, f in enumerate(frames) for a in engine.handle("lan0", 1000.0, f)
              if a.reason == "ND flood"]
    assert len(floods) == 1
    assert f"; at least {MAX_SOURCES} sources in its second half; " in floods[0].message
    assert len(engine.probes["lan0"].rates.senders[NA].macs) == MAX_SOURCES
