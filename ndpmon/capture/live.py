"""Live capture of ND frames on Linux interfaces: the I/O shell of live monitoring.

Frames go unchanged, as bytes, with the kernel's receive time, to the same pure decoder
and engine that replay feeds; nothing is dissected here (scapy's ``sniff`` keeps up with
about 2k frames/s, a filtered packet socket read in Python with 100k/s: LAB-NOTES). The
sockets come from ``ndpmon.capture.bpf``, which filters out everything but ND in the kernel.

The neighbour lane, where floods land, is read through a receive ring shared with the
kernel (``ndpmon.capture.ring``: no system call per frame); if the kernel refuses the
ring, one line is logged and the lane is read like the others, with ``recvmsg``
(``ndpmon.capture.recv``). Both give each frame as it was on the wire (the VLAN tag the
kernel stripped put back) with the kernel's receive time.

Each interface is read through one socket per lane (router, extension, neighbor:
``ndpmon.capture.bpf.LANES``), each with its own receive buffer, and ``read`` takes the
router lane first and every lane in bounded batches: a flood of NAs fills only the
neighbour lane's buffer and delays an RA by at most one batch, and a flood of RAs does
not starve the neighbour lane. Lanes are read out of each other's order; every frame
keeps its kernel timestamp, which is what the checks see as its time.

Interfaces come and go on a monitor: one that disappears is logged once, its socket
closed, and ``read`` tries to open it again every ``retry_every`` seconds; one that goes
down keeps its sockets, since the kernel resumes delivery by itself when it comes back up.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ndpmon.capture.bpf import (
    LANES, PACKET_STATISTICS, SOL_PACKET, link_state, open_socket, reason,
)
from ndpmon.capture.recv import drain
from ndpmon.capture.ring import Ring, RingError, open_ring
from ndpmon.errors import CaptureError

__all__ = ["LiveCapture", "Batch", "check_interfaces", "LANE_BATCH", "LANE_BUFSIZE",
           "RING_LANES"]

log = logging.getLogger("ndpmon")

Batch = tuple[str, list[tuple[float, bytes]]]  # (interface, [(time, frame), ...])

_STATS = struct.Struct("=II")  # struct tpacket_stats {tp_packets, tp_drops}


#: Frames read from one lane per ``read``: the router and extension lanes are read first,
#: but bounded too, so that a flood of RAs cannot starve the neighbour lane either.
LANE_BATCH = {"router": 256, "extension": 256}
#: The receive buffer of each lane (SO_RCVBUFFORCE; the kernel doubles it), or the size
#: of its receive ring (RING_LANES). The neighbour lane absorbs bursts of the flood-prone
#: kinds (32 MiB: a ring of 512 blocks, each retired after at most 4 ms or about 390
#: NAs: 100k to 200k NAs under a flood of 50k/s or more; as a socket buffer, about 80k
#: NAs). The others are rare, and their buffer bounds how long a backlog of them can make the
#: next one wait: 1 MiB holds about 2,500 small RAs or 900 of 1,500 bytes, about a
#: second of work at SECURITY.md's budget of 1 ms a frame; a burst beyond that is
#: dropped by the kernel and reported (``capture drops``) instead of delaying detection.
LANE_BUFSIZE = {"router": 1 << 20, "extension": 1 << 20, "neighbor": 32 << 20}
#: The lanes read through a receive ring: the one floods fill. The others are read frame
#: by frame, so that a frame is readable as soon as the kernel queued it, where a ring
#: hands a block over only when full or after ``ring.RETIRE_MS``.
RING_LANES = ("neighbor",)


def _zero() -> dict[str, int]:
    return dict.fromkeys(LANES, 0)


@dataclass(eq=False)
class _Port:
    """One interface: its sockets (one per lane) while open, and its counters per lane
    for the whole run."""

    iface: str
    socks: dict[str, socket.socket] = field(default_factory=dict)
    rings: dict[str, Ring] = field(default_factory=dict)
    index: int = 0
    down: bool = False
    received: dict[str, int] = field(default_factory=_zero)
    dropped: dict[str, int] = field(default_factory=_zero)
    reported: dict[str, int] = field(default_factory=_zero)
    denied: bool = False


class LiveCapture:
    """ND frames from a set of Linux interfaces, in batches of ``(time, bytes)``.

    Each interface is read through one socket per lane (``ndpmon.capture.bpf.LANES``),
    the router lane first: see ``read``. ``bufsize`` maps a lane to its receive buffer
    (LANE_BUFSIZE for the lanes it does not name); a number sets every lane's.
    ``ring_lanes`` are read through a receive ring (RING_LANES; ``()``: none).
    ``clock`` (monotonic seconds) only paces the retries; frame times are the kernel's
    receive timestamps (``time.time()`` scale), so a frame read late keeps its time.
    """

    def __init__(self, ifaces: Sequence[str], *,
                 bufsize: int | Mapping[str, int] | None = None,
                 retry_every: float = 5.0, batch: int = 1024, promisc: bool = True,
                 ring_lanes: Sequence[str] = RING_LANES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ports = {name: _Port(name) for name in dict.fromkeys(ifaces)}
        if isinstance(bufsize, int):
            bufsize = dict.fromkeys(LANES, bufsize)
        self.bufsize = {**LANE_BUFSIZE, **(bufsize or {})}
        self.limits = {lane: min(batch, LANE_BATCH.get(lane, batch)) for lane in LANES}
        self.retry_every, self.batch = retry_every, batch
        self.ring_lanes = frozenset(ring_lanes)
        self._ringless: set[str] = set()  # interfaces whose ring refusal was logged
        self.promisc, self.clock = promisc, clock
        self._poll = select.poll()
        self._by_fd: dict[int, _Port] = {}
        self._buf = bytearray(1 << 17)
        self._wake_r = self._wake_w = -1
        self._next_retry = 0.0

    def __enter__(self) -> LiveCapture:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Open every interface; raise one CaptureError naming each that cannot be.

        Opening an open capture does nothing (so ``with`` works on one opened before).
        """
        if self._wake_r >= 0:
            return
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._poll.register(self._wake_r, select.POLLIN)
        problems = []
        for port in self.ports.values():
            try:
                self._start(port)
            except CaptureError as exc:
                problems.append(str(exc))
        if problems:
            self.close()
            raise CaptureError("; ".join(problems))

    def _start(self, port: _Port) -> None:
        """Open one socket per lane on the port's interface: all of them or none."""
        try:
            for lane in LANES:
                self._open_lane(port, lane)
        except CaptureError:
            self._close_port(port)
            raise
        errors = [_pending_error(sock) for sock in port.socks.values()]
        port.down = errno.ENETDOWN in errors
        if port.down:
            log.warning("%s: interface is down; capturing when it comes up", port.iface)
        for sock in port.socks.values():
            self._by_fd[sock.fileno()] = port
            self._poll.register(sock, select.POLLIN)

    def _open_lane(self, port: _Port, lane: str) -> None:
        """The lane's socket, with a receive ring if it is one of ``ring_lanes`` and
        the kernel agrees (else one log line, and the socket is read frame by frame)."""
        size = self.bufsize[lane]
        if lane in self.ring_lanes:
            made: list[Ring] = []
            try:
                port.socks[lane], port.index = open_socket(
                    port.iface, 0, self.promisc, lane, lambda s: made.append(open_ring(s, size)))
            except RingError as exc:
                if port.iface not in self._ringless:
                    self._ringless.add(port.iface)
                    log.warning("%s: no receive ring for the %s lane (%s); reading it frame "
                                "by frame", port.iface, lane, exc)
            else:
                port.rings[lane] = made[0]
                return
        port.socks[lane], port.index = open_socket(port.iface, size, self.promisc, lane)

    @property
    def wakeup_fd(self) -> int:
        """The write end of the wake pipe, for ``signal.set_wakeup_fd``."""
        return self._wake_w

    def wake(self) -> None:
        """Make a waiting (or the next) ``read`` return at once; safe in signal handlers."""
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"\0")
            except BlockingIOError:
                pass  # the pipe is full: read will wake anyway

    def read(self, timeout: float) -> list[Batch]:
        """Wait up to ``timeout`` seconds, then read every readable lane, by priority.

        Returns ``(iface, [(time, frame), ...])`` batches: the router lanes' first, then
        the extension lanes', then the neighbour lanes'; at most ``LANE_BATCH`` frames
        (the router and extension lanes) or ``batch`` (the neighbour lane) per lane and
        interface per call. The caller handles one call's batches before the next call,
        so an RA waits behind at most one bounded batch of a flood, never behind the
        flood's backlog. An empty list after a timeout or a ``wake``.
        """
        self._retry()
        if self._next_retry:
            timeout = max(0.0, min(timeout, self._next_retry - self.clock()))
        if any(ring.ready() for port in self.ports.values() for ring in port.rings.values()):
            timeout = 0.0  # a ring block read in part: poll may not say so
        ready = {}
        for fd, events in self._poll.poll(int(timeout * 1000 + 0.999)):
            if fd in self._by_fd:
                ready[fd] = events
            else:
                _drain_pipe(fd)
        batches = []
        for lane, limit in self.limits.items():
            for port in self.ports.values():
                sock = port.socks.get(lane)
                if sock is None:
                    continue
                ring = port.rings.get(lane)
                if ring is not None:
                    frames = ring.read(limit)
                    if ready.get(sock.fileno(), 0) & select.POLLERR:
                        self._ring_error(port, sock)
                elif sock.fileno() in ready:
                    frames = self._drain(port, sock, limit)
                else:
                    continue
                if frames:
                    batches.append((port.iface, frames))
        return batches

    def _drain(self, port: _Port, sock: socket.socket,
               limit: int) -> list[tuple[float, bytes]]:
        """Read up to ``limit`` frames from a lane without a ring."""
        frames: list[tuple[float, bytes]] = []
        error = drain(sock, limit, self._buf, frames)
        if error is not None:
            self._failed(port, error)
        return frames

    def _ring_error(self, port: _Port, sock: socket.socket) -> None:
        """A ring socket's error (nothing reads it to raise it): taken and handled as
        ``recvmsg`` raising it would be."""
        err = _pending_error(sock)
        if err:
            self._failed(port, OSError(err, os.strerror(err)))

    def _failed(self, port: _Port, exc: OSError) -> None:
        """A read error: the link went down (the kernel resumes by itself), or the
        interface is gone (Linux reports both as ENETDOWN: look which it is)."""
        state = reason(exc)
        if exc.errno == errno.ENETDOWN:
            state = link_state(_any(port), port.iface, port.index)
        if state == "down":
            if not port.down:
                log.warning("%s: interface went down; capturing when it comes up",
                            port.iface)
            port.down = True
        else:
            self._lost(port, state)
        self._schedule()

    def _lost(self, port: _Port, why: str) -> None:
        log.warning("%s: capture stopped: %s; retrying every %g s", port.iface, why,
                    self.retry_every)
        self._stop(port)

    def _schedule(self) -> None:
        if not self._next_retry:
            self._next_retry = self.clock() + self.retry_every

    def _retry(self) -> None:
        """Every ``retry_every`` s: reopen vanished interfaces, check downed ones."""
        if not self._next_retry or self.clock() < self._next_retry:
            return
        self._next_retry = 0.0
        for port in self.ports.values():
            if not port.socks:
                self._reopen(port)
            elif port.down:
                self._check_down(port)
            if not port.socks or port.down:
                self._schedule()

    def _reopen(self, port: _Port) -> None:
        try:
            self._start(port)
        except CaptureError as exc:
            if "permission denied" in str(exc) and not port.denied:  # --user dropped root
                port.denied = True
                log.warning("%s: the interface is back but cannot be opened again without "
                            "root or CAP_NET_RAW; restart ndpmon", port.iface)
            return  # still gone: logged once already
        if not port.down:
            log.warning("%s: interface is back; capture resumed", port.iface)

    def _check_down(self, port: _Port) -> None:
        state = link_state(_any(port), port.iface, port.index)
        if state == "up":
            port.down = False
            log.warning("%s: interface is up; capture resumed", port.iface)
        elif state != "down":
            self._lost(port, state)

    def _stop(self, port: _Port) -> None:
        for lane, sock in port.socks.items():
            self._count(port, lane, sock)
            self._by_fd.pop(sock.fileno(), None)
            try:
                self._poll.unregister(sock)
            except (KeyError, ValueError):
                pass
        self._close_port(port)
        port.down = False

    @staticmethod
    def _close_port(port: _Port) -> None:
        """Unmap the port's rings and close its sockets."""
        for ring in port.rings.values():
            ring.close()
        for sock in port.socks.values():
            sock.close()
        port.socks, port.rings = {}, {}

    def _count(self, port: _Port, lane: str, sock: socket.socket) -> None:
        """Add the kernel's counters (which reset on every read) to the lane's."""
        try:
            packets, drops = _STATS.unpack(
                sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size))
        except OSError:
            return
        port.received[lane] += packets - drops  # the kernel counts drops in tp_packets too
        port.dropped[lane] += drops

    def lane_stats(self) -> dict[str, dict[str, tuple[int, int]]]:
        """``{iface: {lane: (received, dropped)}}`` since open, over reopenings.

        ``received``: frames the lane's filter passed and the kernel queued for us;
        ``dropped``: frames the filter passed but the lane's full receive buffer lost.
        """
        for port in self.ports.values():
            for lane, sock in port.socks.items():
                self._count(port, lane, sock)
        return {p.iface: {lane: (p.received[lane], p.dropped[lane]) for lane in LANES}
                for p in self.ports.values()}

    def stats(self) -> dict[str, tuple[int, int]]:
        """``{iface: (received, dropped)}`` since open, every lane together."""
        return {iface: (sum(r for r, _d in lanes.values()), sum(d for _r, d in lanes.values()))
                for iface, lanes in self.lane_stats().items()}

    def drops_since_last(self) -> dict[str, dict[str, int]]:
        """``{iface: {lane: frames dropped by the kernel}}`` since the previous call, for
        the lanes that dropped any."""
        self.lane_stats()
        news: dict[str, dict[str, int]] = {}
        for port in self.ports.values():
            for lane in LANES:
                if port.dropped[lane] > port.reported[lane]:
                    news.setdefault(port.iface, {})[lane] = (
                        port.dropped[lane] - port.reported[lane])
                    port.reported[lane] = port.dropped[lane]
        return news

    def close(self) -> None:
        """Close every socket and the wake pipe; counters stay readable."""
        for port in self.ports.values():
            self._stop(port)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        self._poll = select.poll()
        self._next_retry = 0.0


def _any(port: _Port) -> socket.socket:
    """One of the port's sockets, to ask the kernel about its interface."""
    return next(iter(port.socks.values()))


def _pending_error(sock: socket.socket) -> int:
    """Read and clear the socket's pending error (ENETDOWN after binding a down link)."""
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


def _drain_pipe(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def check_interfaces(ifaces: Sequence[str]) -> None:
    """Fail at start, before detaching, when an interface does not exist."""
    missing = []
    for iface in ifaces:
        try:
            socket.if_nametoindex(iface)
        except OSError:
            missing.append(f"{iface}: no such interface")
    if missing:
        raise CaptureError("; ".join(missing))
