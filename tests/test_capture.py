"""Live capture on real packet sockets, between two network namespaces.

Each test gets a fresh namespace pair (``tests/netns.py``): the capture is opened on
``mon0`` inside namespace ``a`` (``with pair.inside("a")``: the socket stays in the
namespace it was created in) and raw frames built with scapy are sent from ``peer0`` in
namespace ``b``, whose kernel has IPv6 off so that it sends nothing of its own.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import struct
import time
from itertools import zip_longest

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect,
    ICMPv6ND_RS, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr,
    ICMPv6PacketTooBig, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
    fragment6,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

from ndpmon.capture.bpf import JEQ, RET_K, assemble, nd_program
from ndpmon.capture.live import LiveCapture
from ndpmon.codec.decode import decode
from ndpmon.errors import CaptureError
from ndpmon.codec.message import NdMessage

from needs import need_root, need_tool
from netns import MONITOR, PEER, VethPair, run_forked

PEER_MAC, ALL_NODES = "02:00:00:00:00:02", "33:33:00:00:00:01"
LLA, OTHER = "fe80::2", "fe80::99"


@pytest.fixture
def pair():
    """A namespace pair joined by veth mon0 <-> peer0, deleted afterwards."""
    need_root()
    need_tool("ip")
    home = os.readlink("/proc/thread-self/ns/net")
    with VethPair() as made:
        yield made
    assert os.readlink("/proc/thread-self/ns/net") == home  # inside() switched back


class FakeClock:
    """A monotonic clock the test moves by hand, to trigger the reopening retries."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def eth(payload, dst: str = ALL_NODES) -> Ether:
    return Ether(src=PEER_MAC, dst=dst) / payload


def nd_frames() -> dict[str, bytes]:
    """One frame of every kind the kernel filter must pass."""
    ns = IPv6(src=LLA, dst="ff02::1:ff00:99") / ICMPv6ND_NS(tgt=OTHER)
    frag = IPv6(src=LLA, dst="ff02::1:ff00:99") / IPv6ExtHdrFragment() / ICMPv6ND_NS(
        tgt=OTHER) / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC) / Raw(b"\0" * 120)
    frames = {
        "RA": eth(IPv6(src=LLA, dst="ff02::1") / ICMPv6ND_RA()
                  / ICMPv6NDOptPrefixInfo(prefix="2001:db8::", prefixlen=64)
                  / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC)),
        "NS": eth(ns),
        "NA": eth(IPv6(src=LLA, dst="ff02::1") / ICMPv6ND_NA(tgt=LLA, R=0, S=0)
                  / ICMPv6NDOptDstLLAddr(lladdr=PEER_MAC)),
        "Redirect": eth(IPv6(src=LLA, dst="fe80::1") / ICMPv6ND_Redirect(
            tgt=OTHER, dst="2001:db8::5"), dst="02:00:00:00:00:01"),
        "RS": eth(IPv6(src=LLA, dst="ff02::2") / ICMPv6ND_RS()),
        "NA behind hop-by-hop": eth(IPv6(src=LLA, dst="ff02::1") / IPv6ExtHdrHopByHop()
                                    / ICMPv6ND_NA(tgt=LLA)),
        "RA behind destination options": eth(IPv6(src=LLA, dst="ff02::1")
                                             / IPv6ExtHdrDestOpt() / ICMPv6ND_RA()),
        "802.1Q NA": eth(Dot1Q(vlan=5, prio=3) / IPv6(src=LLA, dst="ff02::1")
                         / ICMPv6ND_NA(tgt=LLA)),
        "QinQ NA": Ether(src=PEER_MAC, dst=ALL_NODES, type=0x88A8) / Dot1Q(vlan=7)
        / Dot1Q(vlan=5) / IPv6(src=LLA, dst="ff02::1") / ICMPv6ND_NA(tgt=LLA),
    }
    out = {name: bytes(pkt) for name, pkt in frames.items()}
    first, second = fragment6(frag, 150)
    out["fragmented NS, first"] = bytes(eth(first))
    out["fragmented NS, second"] = bytes(eth(second))
    return out


def other_frames() -> dict[str, bytes]:
    """Frames the kernel filter must drop."""
    frames = {
        "echo request": eth(IPv6(src=LLA, dst="ff02::1") / ICMPv6EchoRequest()),
        "packet too big": eth(IPv6(src=LLA, dst="ff02::1") / ICMPv6PacketTooBig()),
        "ICMPv6 type 132": eth(IPv6(src=LLA, dst="ff02::1") / ICMPv6ND_RS(type=132)),
        "ICMPv6 type 138": eth(IPv6(src=LLA, dst="ff02::1") / ICMPv6ND_RS(type=138)),
        "UDP over IPv6": eth(IPv6(src=LLA, dst="ff02::1") / UDP(dport=547)),
        "802.1Q echo": eth(Dot1Q(vlan=5) / IPv6(src=LLA, dst="ff02::1")
                           / ICMPv6EchoRequest()),
        "IPv4": eth(IP(src="192.0.2.2", dst="192.0.2.1") / UDP(), dst="ff:ff:ff:ff:ff:ff"),
        "ARP": eth(ARP(psrc="192.0.2.2", pdst="192.0.2.1"), dst="ff:ff:ff:ff:ff:ff"),
        "802.1Q ARP": eth(Dot1Q(vlan=5) / ARP(pdst="192.0.2.1"), dst="ff:ff:ff:ff:ff:ff"),
    }
    return {name: bytes(pkt) for name, pkt in frames.items()}


def open_capture(pair: VethPair, ifaces=(MONITOR,), **kwargs) -> LiveCapture:
    with pair.inside("a"):
        capture = LiveCapture(list(ifaces), **kwargs)
        capture.open()
    return capture


def wait_queued(capture: LiveCapture, count: int, timeout: float = 5.0) -> None:
    """Wait until the kernel has queued or dropped ``count`` frames for the capture."""
    deadline = time.monotonic() + timeout
    while sum(capture.stats()[MONITOR]) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def collect(capture: LiveCapture, count: int, timeout: float = 5.0,
            settle: float = 0.2) -> list[tuple[str, float, bytes]]:
    """Read until ``count`` frames arrived (or ``timeout``), then ``settle`` s for extras."""
    got: list[tuple[str, float, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += [(i, t, f) for i, frames in capture.read(0.1) for t, f in frames]
    end = time.monotonic() + settle
    while time.monotonic() < end:
        got += [(i, t, f) for i, frames in capture.read(0.05) for t, f in frames]
    return got


def test_only_nd_frames_pass_the_kernel_filter_unchanged(pair):
    """ND, ND behind extension headers, every fragment and tagged ND arrive as sent, each
    in its lane (RA and Redirect: router; extension headers and fragments: extension; RS,
    NS, NA: neighbor), and their kernel times give back the order they were sent in."""
    wanted, others = nd_frames(), other_frames()
    mixed = [f for two in zip_longest(wanted.values(), others.values()) for f in two if f]
    with open_capture(pair) as capture:
        before = time.time()
        pair.send("b", PEER, mixed)
        got = collect(capture, len(wanted))
        after = time.time()
        got.sort(key=lambda item: item[1])
        assert [f for _i, _t, f in got] == [f for f in mixed if f in wanted.values()]
        assert {i for i, _t, _f in got} == {MONITOR}
        assert all(before - 0.01 <= t <= after for _i, t, _f in got)
        assert capture.stats() == {MONITOR: (len(wanted), 0)}  # the rest never queued
        assert capture.lane_stats() == {MONITOR: {
            "router": (2, 0), "extension": (4, 0), "neighbor": (5, 0)}}
    decoded = {name: decode(frame) for name, frame in wanted.items()}
    assert [n for n, msg in decoded.items() if type(msg) is not NdMessage] == [
        "fragmented NS, second"]  # a non-first fragment holds no ICMPv6 header
    assert decoded["fragmented NS, second"].reason == "non-first fragment"
    assert decoded["NA behind hop-by-hop"].ext == (0,)
    assert decoded["fragmented NS, first"].fragment
    assert decoded["802.1Q NA"].vlan == decoded["QinQ NA"].vlan == 5


def test_frames_the_monitor_sends_itself_are_skipped(pair):
    """PACKET_OUTGOING frames (the monitor host's own ND) are not captured."""
    na = nd_frames()["NA"]
    with open_capture(pair) as capture:
        pair.send("a", MONITOR, [na, na])
        pair.send("b", PEER, [na])
        assert len(collect(capture, 1, settle=0.3)) == 1
        assert capture.stats()[MONITOR] == (1, 0)


def test_vlan_subinterface_sees_untagged_frames_parent_sees_tags(pair):
    """A capture on mon0 and mon0.5 gets the tagged frame from each, as each sees it."""
    made = pair.ip("a", "link", "add", "link", MONITOR, "name", "mon0.5", "type", "vlan",
                   "id", "5", check=False)
    if made.returncode:  # a kernel feature: .ci/run cannot install it
        pytest.skip(f"no VLAN devices in this kernel ({made.stderr.strip()})")
    pair.quiet_monitor("mon0.5")
    pair.ip("a", "link", "set", "mon0.5", "up")
    tagged = nd_frames()["802.1Q NA"]
    with open_capture(pair, (MONITOR, "mon0.5")) as capture:
        pair.send("b", PEER, [tagged])
        got = {iface: frame for iface, _t, frame in collect(capture, 2)}
    assert got == {MONITOR: tagged, "mon0.5": tagged[:12] + tagged[16:]}


def test_a_missing_interface_is_one_clear_error(pair):
    """open() names every interface it cannot open, in one line, and keeps nothing open."""
    with pytest.raises(CaptureError) as err, pair.inside("a"):
        LiveCapture([MONITOR, "nosuch0", "nosuch1"]).open()
    assert str(err.value) == "nosuch0: no such interface; nosuch1: no such interface"
    with pytest.raises(CaptureError, match=r"^averyveryverylongname: no such interface$"):
        LiveCapture(["averyveryverylongname"]).open()


def test_without_privileges_the_error_says_what_is_needed():
    """A user without CAP_NET_RAW gets one line saying so, not a traceback."""
    need_root()

    def as_nobody() -> str:
        os.setgid(65534)
        os.setuid(65534)
        try:
            LiveCapture(["lo"]).open()
        except CaptureError as exc:
            return str(exc)
        return "opened"

    assert run_forked(as_nobody) == ("lo: cannot capture: permission denied "
                                     "(needs root or CAP_NET_RAW)")


def test_a_deleted_interface_is_logged_and_reopened_when_back(pair, caplog):
    """Deleting mon0 stops its capture with one log line; re-created, capture resumes."""
    clock, na = FakeClock(), nd_frames()["NA"]
    caplog.set_level(logging.INFO, logger="ndpmon")
    with open_capture(pair, retry_every=5.0, clock=clock) as capture:
        pair.send("b", PEER, [na])
        assert len(collect(capture, 1, settle=0)) == 1
        pair.ip("a", "link", "del", MONITOR)
        with pair.inside("a"):  # a reopening socket is made where read() runs
            assert capture.read(1.0) == []
            assert capture.read(0.01) == [] and capture.read(0.01) == []
            assert _messages(caplog) == [
                "mon0: capture stopped: interface removed; retrying every 5 s"]
            clock.now += 5
            assert capture.read(0.01) == []  # still gone: no new log line
            pair.add_link()
            clock.now += 5
            capture.read(0.01)
            pair.send("b", PEER, [na])
            got = collect(capture, 1)
    assert [frame for _i, _t, frame in got] == [na]
    assert _messages(caplog)[1:] == ["mon0: interface is back; capture resumed"]
    assert capture.stats()[MONITOR] == (2, 0)  # counted over both sockets


def test_a_downed_interface_keeps_its_socket(pair, caplog):
    """Link down is logged once; frames flow again as soon as it is up."""
    clock, na = FakeClock(), nd_frames()["NA"]
    caplog.set_level(logging.INFO, logger="ndpmon")
    with open_capture(pair, clock=clock) as capture:
        pair.ip("a", "link", "set", MONITOR, "down")
        assert capture.read(1.0) == [] and capture.read(0.01) == []
        assert _messages(caplog) == [
            "mon0: interface went down; capturing when it comes up"]
        pair.ip("a", "link", "set", MONITOR, "up")
        pair.send("b", PEER, [na])
        assert [f for _i, _t, f in collect(capture, 1)] == [na]
        clock.now += 5
        capture.read(0)
    assert _messages(caplog)[1:] == ["mon0: interface is up; capture resumed"]


def test_an_interface_deleted_while_down_is_noticed(pair, caplog):
    """A down interface that is then deleted is found gone at the next retry."""
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="ndpmon")
    with open_capture(pair, clock=clock) as capture, pair.inside("a"):
        pair.ip("a", "link", "set", MONITOR, "down")
        assert capture.read(1.0) == []
        pair.ip("a", "link", "del", MONITOR)  # no second error reaches the socket
        clock.now += 5
        assert capture.read(0) == []
        pair.add_link()
        clock.now += 5
        assert capture.read(0) == []
    assert _messages(caplog) == [
        "mon0: interface went down; capturing when it comes up",
        "mon0: capture stopped: interface removed; retrying every 5 s",
        "mon0: interface is back; capture resumed",
    ]


def test_an_interface_down_at_start_is_captured_once_up(pair, caplog):
    """Opening a down interface is no error: capture starts when it comes up."""
    na = nd_frames()["NA"]
    pair.ip("a", "link", "set", MONITOR, "down")
    caplog.set_level(logging.INFO, logger="ndpmon")
    with open_capture(pair) as capture:
        assert _messages(caplog) == ["mon0: interface is down; capturing when it comes up"]
        pair.ip("a", "link", "set", MONITOR, "up")
        pair.send("b", PEER, [na])
        assert [f for _i, _t, f in collect(capture, 1)] == [na]


def test_kernel_drops_are_counted(pair):
    """With a tiny buffer left unread, stats() and drops_since_last() report drops."""
    na = nd_frames()["NA"]
    with open_capture(pair, bufsize=1) as capture:
        pair.send("b", PEER, [na] * 300)
        wait_queued(capture, 300)
        received, dropped = capture.stats()[MONITOR]
        assert dropped > 0 and received + dropped == 300
        assert capture.drops_since_last() == {MONITOR: {"neighbor": dropped}}
        assert capture.drops_since_last() == {}
        assert len(collect(capture, received, settle=0)) == received


def test_a_flood_in_one_lane_costs_nothing_in_the_others(pair):
    """With the neighbour lane's buffer tiny and left unread, an NA flood is dropped
    there, while the RAs, Redirects and fragments sent among it all wait in their own
    lanes, and read() hands them out before the neighbour lane's frames."""
    frames = nd_frames()
    rare = [frames["RA"], frames["Redirect"], frames["fragmented NS, first"]]
    flood = [frames["NA"]] * 50
    with open_capture(pair, bufsize={"neighbor": 1}) as capture:
        pair.send("b", PEER, flood * 10 + [f for f in rare for _ in range(20)] + flood * 10)
        wait_queued(capture, 1060)
        lanes = capture.lane_stats()[MONITOR]
        assert lanes["router"] == (40, 0) and lanes["extension"] == (20, 0)
        assert lanes["neighbor"][1] > 900
        first = capture.read(0)
    assert [len(frames) for _iface, frames in first][:2] == [40, 20]
    assert {f for _t, f in first[0][1]} == set(rare[:2])


def test_batches_are_bounded_per_interface(pair):
    """read() returns at most ``batch`` frames per interface per call."""
    na = nd_frames()["NA"]
    with open_capture(pair, batch=8) as capture:
        pair.send("b", PEER, [na] * 20)
        wait_queued(capture, 20)
        sizes = [len(frames) for _ in range(3) for _i, frames in capture.read(0.5)]
    assert sizes == [8, 8, 4]


def test_wake_makes_a_waiting_read_return(pair):
    """A signal handler calling wake() ends read() at once, not after its timeout."""
    with open_capture(pair) as capture:
        previous = signal.signal(signal.SIGALRM, lambda *_: capture.wake())
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            started = time.monotonic()
            assert capture.read(30.0) == []
            assert time.monotonic() - started < 5.0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        assert capture.wakeup_fd >= 0
    capture.wake()  # after close: harmless


def test_the_filter_program_is_well_formed():
    """Every jump lands inside the program, which ends in "keep all" and "drop"."""
    program = list(struct.iter_unpack("=HBBI", nd_program()))
    for i, (code, jt, jf, _k) in enumerate(program):
        if code & 0x07 == 0x05:  # BPF_JMP class
            assert i + 1 + max(jt, jf) < len(program)
    assert program[-2:] == [(RET_K, 0, 0, 0xFFFFFFFF), (RET_K, 0, 0, 0)]
    with pytest.raises(ValueError, match="jump out of range"):
        assemble([("x", RET_K, 0, None, None), (None, JEQ, 1, "x", None)])


def test_the_namespace_helper_cleans_up_even_after_a_failure():
    """VethPair's namespaces work as described and are gone after an error inside."""
    need_root()
    need_tool("ip")
    with pytest.raises(RuntimeError, match="boom"), VethPair() as made:
        names = set(made.ns.values())
        assert names <= set(os.listdir("/run/netns"))
        made.wait_lla("a", MONITOR)  # no DAD on the monitor end: at once
        assert {name for _i, name in made.call("a", socket.if_nameindex)} == {"lo", MONITOR}
        assert {name for _i, name in made.call("b", socket.if_nameindex)} == {"lo", PEER}
        with made.inside("b"):
            assert socket.if_nametoindex(PEER) > 0
        made.call("a", _fail, "boom")  # the child's error comes back as RuntimeError
    assert not names & set(os.listdir("/run/netns"))


def _fail(text: str) -> None:
    raise ValueError(text)


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ndpmon"]
