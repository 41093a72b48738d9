"""The receive ring (ndpmon.capture.ring): the same frames as recvmsg, without a system
call per frame.

The neighbour lane is read through a TPACKET_V3 ring (``RING_LANES``); these tests also
put every lane on a ring (``ring_lanes=LANES``), so that only the ring's own handling of
link changes can notice them. Real sockets on a veth pair in namespaces
(tests/netns.py), as in test_capture.py, whose helpers they use; the first test reads a
ring built by hand (no root needed).
"""

from __future__ import annotations

import logging
import mmap
import random
import struct
import time

import pytest

from floodgen import ra, random_flood, station
from needs import need_root, need_tool
from netns import MONITOR, PEER, VethPair
from test_capture import (
    FakeClock, _messages, collect, nd_frames, open_capture, other_frames, wait_queued,
)

from ndpmon.capture import ring as ringmod
from ndpmon.capture.bpf import LANES
from ndpmon.capture.ring import Ring, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID

ALL_LANES = tuple(LANES)


@pytest.fixture
def pair():
    """A namespace pair joined by veth mon0 <-> peer0, deleted afterwards."""
    need_root()
    need_tool("ip")
    with VethPair() as made:
        yield made


# -- a ring built by hand ------------------------------------------------------------

BLOCK = 4096
_BLOCK_HDR = struct.Struct("=IIIII")  # version, offset_to_priv, block_status, num_pkts, first
_FRAME_HDR = struct.Struct("=IIIIIIHHIIHH")  # struct tpacket3_hdr up to hv1
MAC_AT = 80  # where each made-up frame's data starts after its header


def fill_block(area: mmap.mmap, index: int, frames: list[tuple[int, int, int, bytes]]) -> None:
    """Write ``(status, tci, tpid, data)`` frames into block ``index`` and hand it over,
    as the kernel does: each at tp_next_offset from the previous one."""
    base, at = index * BLOCK, 48
    for n, (status, tci, tpid, data) in enumerate(frames):
        step = MAC_AT + len(data) + 8 if n + 1 < len(frames) else 0
        _FRAME_HDR.pack_into(area, base + at, step, 1_700_000_000 + n, 250_000_000 * n,
                             len(data), len(data), status | 1, MAC_AT, MAC_AT + 14, 0, tci,
                             tpid, 0)
        area[base + at + MAC_AT:base + at + MAC_AT + len(data)] = data
        at += step
    _BLOCK_HDR.pack_into(area, base, 3, 0, 1, len(frames), 48)


def block_status(area: mmap.mmap, index: int) -> int:
    return struct.unpack_from("=I", area, index * BLOCK + 8)[0]


def test_a_read_stops_mid_block_and_resumes_there():
    """A bounded read leaves the rest of a block for the next read and gives the block
    back only once its last frame is copied out; stripped VLAN tags are put back (the
    TPID the kernel reports, else 802.1Q), timestamps are the kernel's; blocks are read
    in ring order, wrapping around."""
    area = mmap.mmap(-1, 2 * BLOCK)
    plain = bytes(range(1, 61))
    fill_block(area, 0, [(0, 0, 0, plain),
                         (TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, 0x6005, 0x88A8, plain),
                         (TP_STATUS_VLAN_VALID, 7, 0, plain)])
    ring = Ring(area, BLOCK, 2)
    assert ring.ready()
    first = ring.read(2)
    assert first == [(1_700_000_000.0, plain),
                     (1_700_000_001.25, plain[:12] + b"\x88\xa8\x60\x05" + plain[12:])]
    assert block_status(area, 0) == 1 and ring.ready()  # still ours: one frame left
    assert ring.read(5) == [(1_700_000_002.5, plain[:12] + b"\x81\x00\x00\x07" + plain[12:])]
    assert block_status(area, 0) == 0 and not ring.ready()  # given back
    assert ring.read(5) == []
    fill_block(area, 1, [(0, 0, 0, plain[:20])])
    fill_block(area, 0, [(0, 0, 0, plain[:30])])
    assert [f for _t, f in ring.read(5)] == [plain[:20], plain[:30]]  # block 1, then 0
    assert block_status(area, 0) == block_status(area, 1) == 0


def test_ring_geometry_is_many_small_blocks():
    """32 MiB is 512 blocks of 64 KiB; a tiny buffer is one page."""
    assert ringmod.geometry(32 << 20) == (64 << 10, 512)
    assert ringmod.geometry(1) == (mmap.PAGESIZE, 1)


# -- on a real link ------------------------------------------------------------------

def test_the_ring_gives_what_recvmsg_gives(pair):
    """The same frames (bytes, VLAN tags put back: 802.1Q and 802.1ad outer tags),
    with the same kernel timestamps, in the same lanes, from a capture reading every
    lane through a ring as from one reading them frame by frame."""
    wanted, others = nd_frames(), other_frames()
    with open_capture(pair, ring_lanes=()) as plain, \
            open_capture(pair, ring_lanes=ALL_LANES) as ringed:
        assert set(ringed.ports[MONITOR].rings) == set(LANES)
        assert plain.ports[MONITOR].rings == {}
        pair.send("b", PEER, list(others.values()) + list(wanted.values()))
        from_plain, from_ring = collect(plain, len(wanted)), collect(ringed, len(wanted))
        assert plain.lane_stats() == ringed.lane_stats()
    assert sorted(f for _i, _t, f in from_ring) == sorted(wanted.values())
    assert sorted(from_ring) == sorted(from_plain)
    tagged = [f for _i, _t, f in from_ring if f[12:14] in (b"\x81\x00", b"\x88\xa8")]
    assert len(tagged) == 2


def test_the_neighbour_lane_is_a_ring_by_default(pair):
    """Without ``ring_lanes`` only the neighbour lane has a ring."""
    with open_capture(pair) as capture:
        assert set(capture.ports[MONITOR].rings) == {"neighbor"}


def test_batches_resume_mid_block(pair):
    """With ``batch=8``, 20 NAs in the ring come out 8, 8 and 4, in the order sent:
    a read that stops inside a block resumes there."""
    flood = random_flood("na", 20)
    with open_capture(pair, batch=8) as capture:
        assert set(capture.ports[MONITOR].rings) == {"neighbor"}
        pair.send("b", PEER, flood)
        wait_queued(capture, 20)
        time.sleep(10 * ringmod.RETIRE_MS / 1000)  # every block handed over
        reads = [frames for _ in range(3) for _i, frames in capture.read(0)]
    assert [len(frames) for frames in reads] == [8, 8, 4]
    assert [f for frames in reads for _t, f in frames] == flood


def test_ring_drops_are_counted_per_lane(pair):
    """A one-page ring left unread loses most of 300 NAs; the kernel's counters say so
    for the neighbour lane alone, and what was kept is read."""
    rng = random.Random(3)
    ras = [ra(*station(rng)[:2]) for _ in range(5)]
    flood = random_flood("na", 300)
    with open_capture(pair, ring_lanes=ALL_LANES, bufsize={"neighbor": 1}) as capture:
        pair.send("b", PEER, flood + ras)
        wait_queued(capture, 305)
        lanes = capture.lane_stats()[MONITOR]
        received, dropped = lanes["neighbor"]
        assert dropped > 0 and received + dropped == 300
        assert lanes["router"] == (5, 0) and lanes["extension"] == (0, 0)
        assert capture.drops_since_last() == {MONITOR: {"neighbor": dropped}}
        assert capture.drops_since_last() == {}
        got = collect(capture, received + 5, settle=0.05)
    assert sorted(f for _i, _t, f in got) == sorted(flood[:received] + ras)


def test_without_a_ring_the_lane_is_read_frame_by_frame(pair, monkeypatch, caplog):
    """A kernel that refuses the ring (here: an option it does not know, as gVisor
    answers PACKET_RX_RING) costs one log line; the lane is read with recvmsg."""
    monkeypatch.setattr(ringmod, "PACKET_RX_RING", 0x7FFF)
    caplog.set_level(logging.INFO, logger="ndpmon")
    flood = random_flood("na", 5)
    with open_capture(pair) as capture:
        assert capture.ports[MONITOR].rings == {}
        pair.send("b", PEER, flood)
        got = collect(capture, 5)
        assert capture.stats() == {MONITOR: (5, 0)}
    assert [f for _i, _t, f in got] == flood
    assert _messages(caplog) == ["mon0: no receive ring for the neighbor lane (protocol not "
                                 "available); reading it frame by frame"]


def test_a_ring_notices_link_down_up_and_deletion(pair, caplog):
    """With every lane on a ring (no recvmsg to report it), a downed link is logged once
    and read again once up; a deleted one is closed, reopened when back, with a ring."""
    clock, na = FakeClock(), nd_frames()["NA"]
    caplog.set_level(logging.INFO, logger="ndpmon")
    with open_capture(pair, ring_lanes=ALL_LANES, clock=clock) as capture:
        pair.ip("a", "link", "set", MONITOR, "down")
        assert capture.read(1.0) == [] and capture.read(0.01) == []
        pair.ip("a", "link", "set", MONITOR, "up")
        pair.send("b", PEER, [na])
        assert [f for _i, _t, f in collect(capture, 1)] == [na]
        clock.now += 5
        capture.read(0)
        pair.ip("a", "link", "del", MONITOR)
        with pair.inside("a"):
            deadline = time.monotonic() + 5
            while capture.ports[MONITOR].socks and time.monotonic() < deadline:
                capture.read(0.1)
            pair.add_link()
            clock.now += 5
            capture.read(0.01)
        assert set(capture.ports[MONITOR].rings) == set(LANES)
        pair.send("b", PEER, [na])
        assert [f for _i, _t, f in collect(capture, 1)] == [na]
    assert _messages(caplog) == [
        "mon0: interface went down; capturing when it comes up",
        "mon0: interface is up; capture resumed",
        "mon0: capture stopped: interface removed; retrying every 5 s",
        "mon0: interface is back; capture resumed",
    ]


@pytest.mark.parametrize("lanes", [(), ALL_LANES], ids=["recvmsg", "ring"])
def test_wake_ends_a_wait_on_a_ring(pair, lanes):
    """wake() makes a waiting read return at once, rings or not."""
    with open_capture(pair, ring_lanes=lanes) as capture:
        started = time.monotonic()
        capture.wake()
        assert capture.read(30.0) == []
        assert time.monotonic() - started < 5.0
