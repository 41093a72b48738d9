"""What one flood frame costs the engine besides time: objects kept and text formatted.

An NA flood from random sources (thc-ipv6's flood_advertise6) makes every frame a new
station: one neighbour in the cache and one ``new station`` alert (issue 16: 20 us per
frame, 30% of it in new_station). Timing is not asserted anywhere (bench/bench_replay.py
measures it); these tests pin the two structural savings: the cache keeps few objects
per neighbour, and an alert's message is formatted only when an output reads it.
"""

from __future__ import annotations

import gc
import sys

from floodgen import PREFIX, na

from ndpmon.checks.alert import Alert, Text
from ndpmon.config.model import Config, Prefix, Probe, Router, Settings
from ndpmon.engine.engine import Engine

ROUTER = Router(bytes.fromhex("00005e005301"), bytes.fromhex("fe80" + "00" * 12 + "0001"),
                prefixes=(Prefix(PREFIX, 64),))


def engine() -> Engine:
    """One probe whose router advertises the stations' prefix (so no bogon)."""
    return Engine(Config("t", Settings(), (Probe("lan0", routers=(ROUTER,)),)))


def new_stations(count: int) -> list[bytes]:
    """NAs from ``count`` different MACs, each for its own global address."""
    frames = []
    for i in range(count):
        mac = bytes.fromhex("02005e") + i.to_bytes(3, "big")
        addr = PREFIX[:8] + bytes(4) + i.to_bytes(4, "big")
        frames.append(na(mac, addr, addr))
    return frames


def test_a_new_station_keeps_few_objects():
    """A new station keeps fewer than 9 allocated blocks (CPython 3.11: the neighbour, its
    address table (two blocks), the address record, its LRU node, the MAC and address
    bytes, the time: 8; the start of issue 16 kept 10, with the integer ids that keyed
    its LRU and found order)."""
    probe = engine()
    frames = new_stations(21_000)
    for i, frame in enumerate(frames[:1000]):  # rate checks and indices warmed up
        probe.handle("lan0", i * 0.1, frame)
    gc.collect()
    before = sys.getallocatedblocks()
    for i, frame in enumerate(frames[1000:], 1000):  # 10/s: no ND flood
        probe.handle("lan0", i * 0.1, frame)
    gc.collect()
    per_station = (sys.getallocatedblocks() - before) / 20_000
    assert len(probe.probes["lan0"].neighbors) == 21_000
    assert per_station < 9, per_station


def test_an_alert_message_is_made_when_read():
    """``new station`` carries its message as a Text until an output reads it; read, it is
    NDPMon's text, and the alert equals one built with that string."""
    [alert] = engine().handle("lan0", 1.0, new_stations(1)[0])
    held = alert[4]
    assert isinstance(held, Text) and held.text is None
    assert alert.message == "new station 2:0:5e:0:0:0 2001:db8:1::"
    assert held.text == alert.message and str(alert) == alert.message
    assert alert == Alert(*alert[:4], alert.message, *alert[5:])
    assert alert._replace(message="x").message == "x"
