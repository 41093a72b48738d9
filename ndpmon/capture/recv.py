"""Reading a packet socket frame by frame, with ``recvmsg``: the lanes without a ring.

Like scapy's ``L2ListenSocket``, each frame is read with ``recvmsg`` to get, besides its
bytes, the kernel's receive timestamp (``SO_TIMESTAMPNS``) and the VLAN tag the kernel
stripped (``PACKET_AUXDATA``), which is put back, since the decoder expects frames as
they were on the wire. One system call per frame: the router and extension lanes,
whose frames are rare, are read so (each frame readable as soon as it is queued); the
neighbour lane, where floods land, uses the receive ring of ndpmon.capture.ring unless
the kernel refuses it.
"""

from __future__ import annotations

import socket
import struct
import time

from ndpmon.capture.bpf import PACKET_AUXDATA, SO_TIMESTAMPNS
from ndpmon.capture.ring import TP_STATUS_VLAN_VALID, vlan_tag

__all__ = ["drain"]

_AUX = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
_TIMESPEC = struct.Struct("=qq")  # struct timespec on 64-bit Linux
_TIMESPEC32 = struct.Struct("=ii")
_ANC = socket.CMSG_SPACE(_AUX.size) + socket.CMSG_SPACE(_TIMESPEC.size)


def drain(sock: socket.socket, limit: int, buf: bytearray,
          frames: list[tuple[float, bytes]]) -> OSError | None:
    """Append up to ``limit`` frames read without blocking from ``sock`` (through
    ``buf``, larger than any frame) to ``frames``; the read error that ended it, if one.
    The hot loop of frame-by-frame capture."""
    recv, bufs, view = sock.recvmsg_into, [buf], memoryview(buf)
    append, aux, timespec = frames.append, _AUX.unpack_from, _TIMESPEC.unpack
    for _ in range(limit):
        try:
            size, ancdata, _flags, _addr = recv(bufs, _ANC)
        except BlockingIOError:
            return None
        except OSError as exc:
            return exc
        now, tag = 0.0, None
        for _level, kind, data in ancdata:
            if kind == PACKET_AUXDATA:
                status, _len, _snap, _mac, _net, tci, tpid = aux(data)
                if status & TP_STATUS_VLAN_VALID or tci:
                    tag = vlan_tag(status, tci, tpid)
            elif kind == SO_TIMESTAMPNS:
                sec, nsec = timespec(data) if len(data) == 16 else _TIMESPEC32.unpack(data)
                now = sec + nsec * 1e-9
        if tag is None:
            append((now or time.time(), bytes(view[:size])))
        else:
            append((now or time.time(), b"".join((view[:12], tag, view[12:size]))))
    return None
