"""The ND flood check's settings: a rate of 0 turns a type off; each window alerts once."""

from __future__ import annotations

import pytest
from conftest import generator, make_engine

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
