"""A TPACKET_V3 receive ring: frames from a packet socket without a system call each.

Reading a packet socket with ``recvmsg`` costs one system call and its ancillary data
per frame: about 9 µs in Python, a third of ndpmon's time per frame under an NA flood
(issue 16). With a receive ring (the kernel's packet_mmap, version 3) the kernel writes
the frames into blocks of memory shared with ndpmon instead; a block is handed over (its
status becomes TP_STATUS_USER) when it is full or RETIRE_MS after it was opened, each
frame is copied out of it, and the block is given back (TP_STATUS_KERNEL). What comes
out is what ``recvmsg`` gives: the frame as the BPF filter passed it, the kernel's
receive time, and the VLAN tag the kernel stripped put back (``vlan_tag``).

A read takes at most ``limit`` frames and remembers where it stopped inside a block,
so that a lane's batches stay bounded however full the blocks are (ndpmon.capture.live).
The kernel counts frames and drops as for a plain socket (PACKET_STATISTICS; on a
version 3 socket ``tpacket_stats_v3``, whose first two fields are the same counters).

A block is retired after RETIRE_MS even when not full, so a lone frame waits at most
that long; under a flood every block is therefore retired with about RETIRE_MS of
frames in it, and the ring's capacity is its number of blocks times that: hence many
small blocks (BLOCK_SIZE) rather than a few large ones.

Layouts, <linux/if_packet.h>: a block starts with ``struct tpacket_block_desc``
(version, offset_to_priv, then ``tpacket_hdr_v1``: block_status at byte 8, num_pkts,
offset_to_first_pkt); each frame with ``struct tpacket3_hdr``.
"""

from __future__ import annotations

import mmap
import socket
import struct

from ndpmon.capture.bpf import SOL_PACKET, reason

__all__ = ["Ring", "RingError", "open_ring", "vlan_tag", "BLOCK_SIZE", "RETIRE_MS",
           "TP_STATUS_VLAN_VALID", "TP_STATUS_VLAN_TPID_VALID"]

# <linux/if_packet.h>
PACKET_RX_RING, PACKET_VERSION, TPACKET_V3 = 5, 10, 2
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 0x10, 0x40
ETH_P_8021Q = 0x8100

#: Each block's size: a multiple of the page size holding about 390 NAs. The kernel
#: retires a block after RETIRE_MS, so under a flood of R frames/s each holds about
#: R * RETIRE_MS / 1000 of them: small blocks waste little of the ring.
BLOCK_SIZE = 64 << 10
#: Milliseconds after which the kernel hands over a block that is not full: the
#: longest a lone frame waits in the ring.
RETIRE_MS = 4
#: tpacket_req3 wants a frame size (a multiple of 16) that divides the block; version 3
#: packs frames of any length into the block, so it is only a unit of account.
FRAME_SIZE = 2048

_REQ3 = struct.Struct("=7I")  # struct tpacket_req3
_BLOCK = struct.Struct("=III")  # block_status, num_pkts, offset_to_first_pkt (at byte 8)
_STATUS = struct.Struct("=I")
_BLOCK_STATUS_AT = 8
#: struct tpacket3_hdr: tp_next_offset, tp_sec, tp_nsec, tp_snaplen, (tp_len),
#: tp_status, tp_mac, (tp_net, hv1.tp_rxhash), hv1.tp_vlan_tci, hv1.tp_vlan_tpid
_FRAME = struct.Struct("=IIII4xIH2x4xIH")
_TAG = struct.Struct("!HH")


class RingError(Exception):
    """The kernel (or the process's limits) refused the ring; the caller reads the
    socket frame by frame instead."""


def vlan_tag(status: int, tci: int, tpid: int) -> bytes:
    """The 4 tag bytes the kernel took out of the frame, as they were on the wire."""
    if not status & TP_STATUS_VLAN_TPID_VALID:
        tpid = ETH_P_8021Q
    return _TAG.pack(tpid, tci)


def geometry(size: int) -> tuple[int, int]:
    """(block size, block count) of a ring of about ``size`` bytes (at least one page)."""
    page = mmap.PAGESIZE
    pages = max(1, -(-size // page))
    block = min(BLOCK_SIZE, pages * page)
    return block, max(1, pages * page // block)


def open_ring(sock: socket.socket, size: int) -> Ring:
    """Give ``sock`` (a packet socket not bound yet) a receive ring of about ``size``
    bytes and map it; RingError if that cannot be done."""
    block, count = geometry(size)
    frame = min(FRAME_SIZE, block)
    req = _REQ3.pack(block, count, frame, block // frame * count, RETIRE_MS, 0, 0)
    try:
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        area = mmap.mmap(sock.fileno(), block * count, mmap.MAP_SHARED,
                         mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as exc:
        raise RingError(reason(exc)) from None
    except (ValueError, OverflowError) as exc:  # a size mmap or the kernel cannot take
        raise RingError(str(exc)) from None
    return Ring(area, block, count)


class Ring:
    """The mapped ring of one socket, read block after block in the kernel's order."""

    def __init__(self, area: mmap.mmap, block: int, count: int) -> None:
        self.area, self.block, self.count = area, block, count
        self._index = 0  # the block read now or next
        self._left = 0  # frames of that block not yet read (0: not opened yet)
        self._at = 0  # where its next frame starts

    def ready(self) -> bool:
        """True if frames wait: a block handed over, or one read only in part."""
        return bool(self._left) or bool(
            _STATUS.unpack_from(self.area, self._index * self.block + _BLOCK_STATUS_AT)[0]
            & TP_STATUS_USER)

    def read(self, limit: int) -> list[tuple[float, bytes]]:
        """Up to ``limit`` frames as ``(kernel time, bytes)``; a block is given back
        as soon as its last frame is copied out."""
        frames: list[tuple[float, bytes]] = []
        while len(frames) < limit:
            if not self._left and not self._open():
                break
            self._copy(frames, min(self._left, limit - len(frames)))
            if not self._left:
                self._release()
        return frames

    def _open(self) -> bool:
        """Start on the next block if the kernel handed it over (an empty one is given
        back at once); False if it is still the kernel's."""
        while True:
            status, count, first = _BLOCK.unpack_from(
                self.area, self._index * self.block + _BLOCK_STATUS_AT)
            if not status & TP_STATUS_USER:
                return False
            if count:
                self._left, self._at = count, self._index * self.block + first
                return True
            self._release()

    def _release(self) -> None:
        _STATUS.pack_into(self.area, self._index * self.block + _BLOCK_STATUS_AT,
                          TP_STATUS_KERNEL)
        self._index = (self._index + 1) % self.count

    def _copy(self, frames: list[tuple[float, bytes]], count: int) -> None:
        """Copy ``count`` frames out of the open block: the hot loop of the ring."""
        area, at, unpack, append = self.area, self._at, _FRAME.unpack_from, frames.append
        for _ in range(count):
            step, sec, nsec, snap, status, mac, tci, tpid = unpack(area, at)
            start = at + mac
            if status & TP_STATUS_VLAN_VALID or tci:
                append((sec + nsec * 1e-9, b"".join((
                    area[start:start + 12], vlan_tag(status, tci, tpid),
                    area[start + 12:start + snap]))))
            else:
                append((sec + nsec * 1e-9, area[start:start + snap]))
            at += step
        self._at, self._left = at, self._left - count

    def close(self) -> None:
        """Unmap the ring (the socket, closed by its owner, frees it in the kernel)."""
        self.area.close()
