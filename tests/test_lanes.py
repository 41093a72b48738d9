"""Capture lanes in the live loop: a flood of one kind neither hides nor delays another.

The live loop (ndpmon.run.live.Monitor) runs in this process on a real LiveCapture of
``mon0`` in a namespace pair (tests/netns.py), with the engine and a recording action;
frames built with struct (tests/floodgen.py) are sent from ``peer0``. Each interface is
read through one socket per lane (router, extension, neighbor), each with its own
receive buffer, and the router lane is read first (ndpmon.capture.live).
"""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
import time

import pytest

from conftest import generator, make_engine
from floodgen import na, ra, random_flood, station
from needs import need_root, need_tool
from netns import MONITOR, PEER, VethPair, run_forked, send_frames

from ndpmon.alerts.action import Action
from ndpmon.capture.live import LiveCapture
from ndpmon.run.live import Monitor
from ndpmon.run.pipeline import Pipeline

gen = generator()


@pytest.fixture
def pair():
    """A namespace pair joined by veth mon0 <-> peer0, deleted afterwards."""
    need_root()
    need_tool("ip")
    with VethPair() as made:
        yield made


class Recorder(Action):
    def __init__(self) -> None:
        self.alerts = []

    def notify(self, alert) -> None:
        self.alerts.append(alert)


class UntilDrained:
    """The real capture; stops the monitor once ``sender`` is done and a read finds
    nothing left."""

    def __init__(self, capture: LiveCapture, sender: threading.Thread | None) -> None:
        self.capture, self.sender, self.monitor = capture, sender, None

    def read(self, timeout: float):
        done = self.sender is None or not self.sender.is_alive()
        batches = self.capture.read(min(timeout, 0.3))
        if done and not batches:
            self.monitor.flags.stop = True
        return batches

    def __getattr__(self, name: str):
        return getattr(self.capture, name)


def rogue_ras(count: int) -> list[bytes]:
    """RAs from ``count`` unknown routers, each from its own MAC."""
    rng = random.Random(20)
    return [ra(*station(rng)[:2]) for _ in range(count)]


def monitor_on(capture: LiveCapture, sender: threading.Thread | None = None,
               cache: list[dict] | None = None):
    recorder = Recorder()
    engine = make_engine({"routers": [gen.ROUTER1]}, cache, probe=MONITOR)
    wrapped = UntilDrained(capture, sender)
    monitor = Monitor(Pipeline(engine, [recorder]), wrapped, save_cache=lambda: None)
    wrapped.monitor = monitor
    return monitor, recorder


def open_capture(pair: VethPair, **kwargs) -> LiveCapture:
    with pair.inside("a"):
        capture = LiveCapture([MONITOR], **kwargs)
        capture.open()
    return capture


def send_in_background(pair: VethPair, frames: list[bytes]) -> threading.Thread:
    def send() -> None:
        run_forked(_send, frames, netns=pair.ns["b"], timeout=120)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _send(frames: list[bytes]) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
        send_frames(sock, PEER, frames)


def rogue_macs(recorder: Recorder) -> set[bytes]:
    return {a.mac for a in recorder.alerts if a.reason == "wrong ipv6 router"}


def test_a_flood_overflowing_the_neighbour_lane_loses_no_ra(pair):
    """100,000 NAs from random stations with 20 rogue RAs among them, each from its own MAC,
    read live while they are sent, with the neighbour lane's buffer tiny: the kernel drops
    NAs, every RA is reported, and the ``capture drops`` alert names the neighbour lane
    alone. (With one socket for every kind, RAs were dropped in the same share as NAs.)"""
    flood, ras = random_flood("na", 5000), rogue_ras(20)
    frames = []
    for i in range(100_000):
        frames.append(flood[i % len(flood)])
        if i % 5000 == 2500:
            frames.append(ras[i // 5000])
    capture = open_capture(pair, bufsize={"neighbor": 4096})
    with capture:
        monitor, recorder = monitor_on(capture, send_in_background(pair, frames))
        monitor.run()
        lanes = capture.lane_stats()[MONITOR]
    assert lanes["router"] == (20, 0)
    assert lanes["neighbor"][1] > 0  # the flood did overflow its lane
    assert rogue_macs(recorder) == {f[6:12] for f in ras}
    drops = [a for a in recorder.alerts if a.reason == "capture drops"]
    assert drops and all(set(a.extra["lanes"]) == {"neighbor"} for a in drops)
    assert sum(a.extra["dropped"] for a in drops) == lanes["neighbor"][1]


def test_an_ra_after_a_burst_is_handled_before_the_burst_s_backlog(pair):
    """An RA that arrives after 30,000 NAs still queued in the kernel is handled first,
    not after the backlog: its alert is the first one raised, although every NA was
    captured before it."""
    flood, (rogue,) = random_flood("na", 30_000), rogue_ras(1)
    capture = open_capture(pair)
    with capture:
        pair.send("b", PEER, flood + [rogue])
        deadline = time.monotonic() + 10
        while sum(capture.stats()[MONITOR]) < len(flood) + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        monitor, recorder = monitor_on(capture)
        monitor.run()
        assert capture.stats()[MONITOR] == (len(flood) + 1, 0)
    first = recorder.alerts[0]
    assert (first.reason, first.mac) == ("wrong ipv6 router", rogue[6:12])
    assert max(a.time for a in recorder.alerts if a.reason == "new station") < first.time
    assert sum(a.reason == "new station" for a in recorder.alerts) == len(flood)


def test_a_flood_of_ras_overflowing_the_router_lane_loses_no_spoofing_na(pair):
    """The converse: 20,000 RAs from random routers (flood_router26) with the router
    lane's buffer tiny, and among them NAs that give a known host's address a new
    MAC: every one is reported as ``changed ethernet address``."""
    rng = random.Random(26)
    hosts = [station(rng) for _ in range(5)]
    cache = [{"mac": ":".join(f"{b:x}" for b in mac), "lla": _text(lla), "lastseen": 1.0}
             for mac, lla, _gua in hosts]
    spoofs = [na(station(rng)[0], lla, lla) for _mac, lla, _gua in hosts]
    flood, frames = random_flood("ra", 4000), []
    for i in range(20_000):
        frames.append(flood[i % len(flood)])
        if i % 4000 == 2000:
            frames.append(spoofs[i // 4000])
    capture = open_capture(pair, bufsize={"router": 4096})
    with capture:
        monitor, recorder = monitor_on(capture, send_in_background(pair, frames), cache)
        monitor.run()
        lanes = capture.lane_stats()[MONITOR]
    assert lanes["neighbor"] == (5, 0) and lanes["router"][1] > 0
    changed = [a for a in recorder.alerts if a.reason == "changed ethernet address"]
    assert {a.mac for a in changed} == {f[6:12] for f in spoofs}


def _text(addr: bytes) -> str:
    return str(ipaddress.IPv6Address(addr))
