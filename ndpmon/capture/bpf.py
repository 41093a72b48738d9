"""The kernel side of live capture: a packet socket that only ever sees ND.

The socket is opened with ``socket`` directly rather than through scapy's
``L2ListenSocket``, whose opening does not fit a long-running monitor: it creates the
socket already listening on every interface and attaches a filter only after ``bind``,
so unfiltered frames of any interface get queued first, and it resolves names through its
interface cache, which is stale once an interface is re-created. Here the socket listens
to nothing until it is bound, the filter is attached before that, and every name is
looked up by the kernel in the socket's own network namespace.

A LAN carries far more than Neighbor Discovery, and every frame read in Python costs
microseconds, so the kernel drops the rest before it is queued, with a hand-assembled
classic BPF program: not a compiled tcpdump expression, so that neither tcpdump nor
libpcap is needed at run time, and because NDPMon's ``icmp6`` filter missed what matters
most: ND hidden behind extension headers or in fragments (RA-Guard evasion, RFC 7113).

The program passes:

- IPv6 frames (EtherType 0x86DD) carrying ICMPv6 types 133 to 137 (RS, RA, NS, NA,
  Redirect) right after the IPv6 header, and type 200 (the presence message another
  NDPMon with countermeasures sends, which the countermeasures plugin reports);
- every IPv6 frame whose first next header is one the decoder walks: hop-by-hop (0),
  routing (43), fragment (44, every fragment: the decoder or a later reassembly decides),
  destination options (60) and AH (51). Mobility (135), HIP (139) and Shim6 (140) are not
  passed: Linux hosts do not process ND behind them (a mobility header ends the chain,
  RFC 6275 §6.1.1; HIP and Shim6 are unknown to the kernel, so the packet is dropped);
- the same behind one VLAN tag still in the data (0x8100, 0x88A8 or 0x9100 at offset 12,
  0x86DD at 16). The kernel normally strips the outer tag into the packet's auxiliary data
  before a packet socket sees it, so this is the inner tag of a QinQ frame, or a tag a
  driver left in place; the capture re-inserts a stripped tag itself.

Frames the host sends itself are dropped too (packet type PACKET_OUTGOING): the monitor
watches the LAN, not its own kernel's ND.

The filter is split into lanes (``LANES``), one socket each, with its own receive buffer:
"router" (RA, Redirect, presence), "extension" (everything behind an extension header,
every fragment) and "neighbor" (RS, NS, NA). The kernel drops a frame only when its own
lane's buffer is full, so a flood of NAs from random stations, which any host can send
at line rate, does not cost one RA; ``nd_program()`` without a lane is their union.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import socket
import struct
from typing import Callable

from ndpmon.errors import CaptureError

__all__ = ["open_socket", "link_state", "reason", "nd_program", "assemble", "attach", "LANES"]

log = logging.getLogger("ndpmon")

# <asm-generic/socket.h>, <linux/if_ether.h>, <linux/if_packet.h>, <linux/sockios.h>
SO_ATTACH_FILTER, SO_RCVBUFFORCE, SO_TIMESTAMPNS = 26, 33, 35
ETH_P_ALL, SOL_PACKET = 0x0003, 263
PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC = 1, 1
PACKET_STATISTICS, PACKET_AUXDATA, PACKET_IGNORE_OUTGOING = 6, 8, 23
SIOCGIFFLAGS, SIOCGIFINDEX, IFF_UP, IFNAMSIZ = 0x8913, 0x8933, 0x1, 16

# opcodes, <linux/filter.h>: class | size | mode, or class | operation | source
LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS:  A = word at k (k >= SKF_AD_OFF: metadata)
LD_H_ABS = 0x28  # BPF_LD | BPF_H | BPF_ABS:  A = big-endian 16 bits at k
LD_B_IND = 0x50  # BPF_LD | BPF_B | BPF_IND:  A = byte at X + k
LDX_IMM = 0x01  # BPF_LDX | BPF_W | BPF_IMM: X = k
JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K: A == k ? jt : jf
JGT = 0x25  # BPF_JMP | BPF_JGT | BPF_K: A > k ? jt : jf
JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K: A >= k ? jt : jf
RET_K = 0x06  # BPF_RET | BPF_K: keep k bytes of the frame (0: drop it)

SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE: skb->pkt_type
PACKET_OUTGOING = 4  # <linux/if_packet.h>
ALL = 0xFFFFFFFF  # keep the whole frame

_INSN = struct.Struct("=HBBI")  # struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}

# (label, opcode, k, jump if true, jump if false); a jump names a label, None = the next
# instruction. Offsets: Ethernet header 14 bytes, IPv6 next header at +6, ICMPv6 at +40;
# X holds how many tag bytes are still in the data (0 or 4) and shifts the IPv6 loads.
#: The lanes: each interface is read through one socket per lane, each with its own
#: receive buffer, so that a flood of one kind (NS/NA/RS: any station can send them at
#: line rate) cannot fill the buffer that the rarer and more dangerous kinds wait in.
#: A lane is the ICMPv6 types it takes right after the IPv6 header, and whether it takes
#: the frames whose first next header is an extension header (every fragment too).
LANES: dict[str, tuple[tuple[int, ...], bool]] = {
    "router": ((134, 137, 200), False),  # RA, Redirect, NDPMon's presence message
    "extension": ((), True),  # ND behind extension headers, every fragment
    "neighbor": ((133, 135, 136), False),  # RS, NS, NA: the flood-prone ones
}
_ALL_LANES = ((133, 134, 135, 136, 137, 200), True)

# (label, opcode, k, jump if true, jump if false); a jump names a label, None = the next
# instruction. Offsets: Ethernet header 14 bytes, IPv6 next header at +6, ICMPv6 at +40;
# X holds how many tag bytes are still in the data (0 or 4) and shifts the IPv6 loads.
_HEAD = (
    (None, LD_W_ABS, SKF_AD_PKTTYPE, None, None),  # A = how the kernel classed the frame
    (None, JEQ, PACKET_OUTGOING, "drop", None),  # sent by this host: not the LAN's
    (None, LDX_IMM, 0, None, None),  # X = 0: no tag in the data
    (None, LD_H_ABS, 12, None, None),  # A = EtherType
    (None, JEQ, 0x86DD, "ipv6", None),  # IPv6 (any outer tag is in auxdata)
    (None, JEQ, 0x8100, "tagged", None),  # 802.1Q tag still in the data
    (None, JEQ, 0x88A8, "tagged", None),  # 802.1ad service tag
    (None, JEQ, 0x9100, "tagged", "drop"),  # old QinQ tag; anything else: not IPv6
    ("tagged", LD_H_ABS, 16, None, None),  # A = EtherType after the tag
    (None, JEQ, 0x86DD, None, "drop"),  # tagged IPv6, else drop
    (None, LDX_IMM, 4, None, None),  # X = 4: IPv6 starts 4 bytes later
    ("ipv6", LD_B_IND, 14 + 6, None, None),  # A = IPv6 next header
    (None, JEQ, 58, "icmp6", None),  # ICMPv6: look at its type
)
#: hop-by-hop, routing, fragment (every fragment), destination options, AH
_EXTENSION_HEADERS = (0, 43, 44, 60, 51)
_TAIL = (
    ("accept", RET_K, ALL, None, None),  # keep the whole frame
    ("drop", RET_K, 0, None, None),  # drop the frame in the kernel
)


def _source(types: tuple[int, ...], extension: bool) -> tuple:
    """The program's rows for a lane: ICMPv6 ``types``, and extension headers or not."""
    ext = "accept" if extension else "drop"
    rows = [(None, JEQ, nh, ext, None) for nh in _EXTENSION_HEADERS]
    rows.append((None, RET_K, 0, None, None))  # any other next header: drop
    rows.append(("icmp6", LD_B_IND, 14 + 40, None, None))  # A = ICMPv6 type
    rows += [(None, JEQ, kind, "accept", None) for kind in types]
    rows.append((None, RET_K, 0, None, None))  # any other type: drop
    return _HEAD + tuple(rows) + _TAIL


_ND_SOURCE = _source(*_ALL_LANES)


def assemble(source) -> bytes:
    """Turn ``(label, opcode, k, jt, jf)`` rows into ``struct sock_filter`` bytes.

    Jumps name labels; classic BPF jumps only forward, by at most 255 instructions.
    """
    where = {row[0]: i for i, row in enumerate(source) if row[0]}
    out = bytearray()
    for i, (_label, code, k, jt, jf) in enumerate(source):
        offsets = [0 if to is None else where[to] - i - 1 for to in (jt, jf)]
        if not all(0 <= off <= 255 for off in offsets):
            raise ValueError(f"instruction {i}: jump out of range")
        out += _INSN.pack(code, offsets[0], offsets[1], k)
    return bytes(out)


def nd_program(lane: str | None = None) -> bytes:
    """The ND filter described in the module docstring, ready for ``attach``; with
    ``lane`` (a key of LANES), only the part of it that lane takes."""
    return assemble(_ND_SOURCE if lane is None else _source(*LANES[lane]))


def attach(sock: socket.socket, program: bytes) -> None:
    """Attach a classic BPF program to ``sock`` (SO_ATTACH_FILTER).

    ``struct sock_fprog`` is ``{unsigned short len; struct sock_filter *filter;}``: the
    kernel copies the instructions during the call, so the buffer only has to live
    until it returns. Raises OSError if the kernel refuses the program.
    """
    insns = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("@HP", len(program) // _INSN.size, ctypes.addressof(insns))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def open_socket(iface: str, bufsize: int, promisc: bool = True, lane: str | None = None,
                setup: Callable[[socket.socket], object] | None = None,
                ) -> tuple[socket.socket, int]:
    """A non-blocking packet socket on ``iface`` with the ND filter (of ``lane`` only, if
    given), and the interface's index; or CaptureError.

    ``bufsize`` is the receive buffer (0: the kernel's default); ``setup`` is called with
    the socket just before it is bound, when no frame has been queued yet (the receive
    ring of ndpmon.capture.ring): what it raises closes the socket and goes through."""
    raw = _name(iface)
    sock = _new_socket(iface)
    try:
        step = "attaching the BPF filter"
        attach(sock, nd_program(lane))
        if bufsize > 0:
            step = "setting the receive buffer"
            _set_rcvbuf(sock, iface, bufsize)
        step = "asking for VLAN tags and timestamps"
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        _ignore_outgoing(sock)
        step = "looking up the interface"
        index = _ifreq(sock, SIOCGIFINDEX, raw)
        if promisc:
            step = "setting promiscuous mode"
            mreq = struct.pack("=iHH8s", index, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        if setup is not None:
            setup(sock)
        step = "binding to the interface"
        sock.bind((iface, ETH_P_ALL))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.ENODEV, errno.ENXIO):
            raise CaptureError(f"{iface}: no such interface") from None
        raise CaptureError(f"{iface}: cannot capture: {step}: {reason(exc)}") from None
    except BaseException:
        sock.close()
        raise
    return sock, index


def _new_socket(iface: str) -> socket.socket:
    """A packet socket that listens to nothing yet (protocol 0 until ``bind``)."""
    try:
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise CaptureError(f"{iface}: cannot capture: permission denied "
                           f"(needs root or CAP_NET_RAW)") from None
    except (OSError, AttributeError) as exc:  # AttributeError: no AF_PACKET (not Linux)
        raise CaptureError(f"{iface}: cannot capture: no packet sockets "
                           f"({getattr(exc, 'strerror', None) or exc})") from None


def _name(iface: str) -> bytes:
    raw = iface.encode(errors="surrogateescape")
    if not raw or len(raw) >= IFNAMSIZ or b"\0" in raw or b"/" in raw:
        raise CaptureError(f"{iface}: no such interface")
    return raw


def _set_rcvbuf(sock: socket.socket, iface: str, bufsize: int) -> None:
    """SO_RCVBUFFORCE (CAP_NET_ADMIN) goes past net.core.rmem_max; else what is allowed."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, bufsize)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
        got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        if got < bufsize:
            log.warning("%s: receive buffer limited to %d KiB (net.core.rmem_max; "
                        "more needs CAP_NET_ADMIN): floods may lose frames",
                        iface, got >> 10)


def _ignore_outgoing(sock: socket.socket) -> None:
    """Spare the kernel copying our own frames (Linux 4.20+); the filter drops them too."""
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass


def _ifreq(sock: socket.socket, request: int, raw: bytes, fmt: str = "=i") -> int:
    """A ``struct ifreq`` ioctl returning a number, answered in the socket's namespace."""
    out = fcntl.ioctl(sock, request, struct.pack("16s24x", raw))
    return struct.unpack_from(fmt, out, IFNAMSIZ)[0]


def link_state(sock: socket.socket, iface: str, index: int) -> str:
    """"up", "down", or why ``iface`` (``index`` when ``sock`` was bound) is no more.

    Linux reports both a downed and a deleted interface to the socket as ENETDOWN.
    """
    raw = iface.encode(errors="surrogateescape")
    try:
        now = _ifreq(sock, SIOCGIFINDEX, raw)
        flags = _ifreq(sock, SIOCGIFFLAGS, raw, "=h")
    except OSError as exc:
        return "interface removed" if exc.errno == errno.ENODEV else reason(exc)
    if now != index:
        return "interface removed"  # and another made under the same name
    return "up" if flags & IFF_UP else "down"


def reason(exc: OSError) -> str:
    """The lower-case system message of ``exc``, for one-line errors and logs."""
    return (exc.strerror or str(exc)).lower() if exc.errno else str(exc)
