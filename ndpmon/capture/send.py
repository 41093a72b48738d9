"""Frames ndpmon sends itself: packet sockets per interface, and the memory of what was sent.

Plugins that act on the network (countermeasures, ndproxy) send whole Ethernet frames
from a packet socket bound to a captured interface. The capture filter never shows
ndpmon a frame its own host sent on that interface (ndpmon.capture.bpf), but another captured
interface on the same link receives it like any frame: ``SentFrames`` remembers the
SHA-1 of the last frames sent so that a plugin's ``frame`` hook can drop them before any
check sees them (NDPMon did the same for its countermeasures). ``SendBudget`` bounds
how often a plugin may send: token buckets per key (a countermeasure, a target), with the
time passed in (the capture time of the frame that calls for an answer).
"""

from __future__ import annotations

import hashlib
import socket
import struct
from collections import OrderedDict
from typing import Hashable

from ndpmon.codec.addr import is_link_local
from ndpmon.config import vlans

__all__ = ["PacketSender", "SentFrames", "SendBudget", "socket_ioctl", "link_local",
           "addresses"]

SIOCGIFHWADDR, SIOCGIFINDEX = 0x8927, 0x8933
ETH_P_8021Q = 0x8100
_TAG = struct.Struct("!HH")
IFA_F_TENTATIVE, IFA_F_DADFAILED = 0x40, 0x08


class SentFrames:
    """The SHA-1 of the last ``size`` frames sent."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.hashes: OrderedDict[bytes, None] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def __len__(self) -> int:
        return len(self.hashes)

    def remember(self, frame: bytes) -> None:
        digest = hashlib.sha1(frame).digest()
        self.hashes[digest] = None
        self.hashes.move_to_end(digest)
        if len(self.hashes) > self.size:
            self.hashes.popitem(last=False)

    def __contains__(self, frame: bytes) -> bool:
        return hashlib.sha1(frame).digest() in self.hashes


class SendBudget:
    """Token buckets, one per key: ``burst`` sends at once, then ``rate`` per second.

    ``ready`` refills a key's bucket and says whether it holds a token; ``take`` spends
    it (two budgets, say one per countermeasure and one per target, are both asked
    before either is spent). At most ``max_keys`` buckets are kept, the least recently
    used dropped first: a dropped key starts full again, so pair a budget with many keys
    with one of few. Time is passed in; a clock that steps back refills nothing then.
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 1024) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self.buckets: OrderedDict[Hashable, list[float]] = OrderedDict()  # [tokens, time]

    def ready(self, key: Hashable, now: float) -> bool:
        """Refill ``key``'s bucket up to ``now``; does it hold a token?"""
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.buckets.popitem(last=False)
            bucket = self.buckets[key] = [float(self.burst), now]
        else:
            self.buckets.move_to_end(key)
            if now > bucket[1]:
                bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        return bucket[0] >= 1

    def take(self, key: Hashable) -> None:
        """Spend one token of ``key`` (after ``ready`` said there is one)."""
        self.buckets[key][0] -= 1


class PacketSender:
    """Frames out of any interface through one packet socket, opened by ``open``.

    The socket listens to nothing (protocol 0) and names the interface at every
    ``sendto``: opened in a plugin's ``start``, before ``--user`` drops root, it keeps
    working without any capability, on interfaces that come back and on probes a
    SIGHUP switches on (ndpmon.run.privs).
    """

    def __init__(self) -> None:
        self.sock: socket.socket | None = None

    def open(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        return self.sock

    def send(self, iface: str, frame: bytes) -> None:
        """Send ``frame`` on ``iface``; on a VLAN probe read from its trunk
        (``eth0.105`` with no such interface: ndpmon.run.trunk), tagged on the trunk."""
        device, vid = self._device(iface)
        if vid is not None:
            frame = frame[:12] + _TAG.pack(ETH_P_8021Q, vid) + frame[12:]
        self.open().sendto(frame, (device, 0))

    def mac(self, iface: str) -> bytes:
        """The interface's MAC address (a VLAN probe's trunk's, if it has none)."""
        raw = self._device(iface)[0].encode()[:15]
        out = socket_ioctl(self.open(), SIOCGIFHWADDR, struct.pack("16s24x", raw))
        return out[18:24]

    def address(self, iface: str) -> tuple[bytes, bytes | None]:
        """The interface's MAC and link-local address (None if it has none)."""
        return self.mac(iface), link_local(self._device(iface)[0])

    def _device(self, iface: str) -> tuple[str, int | None]:
        """Where frames for ``iface`` go: itself if it exists (asked in the socket's
        network namespace), else for a VLAN probe's name its trunk and VLAN id
        (ndpmon.config.vlans)."""
        parts = vlans.split(iface)
        if parts is None:
            return iface, None
        raw = iface.encode()
        if len(raw) >= 16:  # longer than an interface name (IFNAMSIZ)
            return parts
        try:
            socket_ioctl(self.open(), SIOCGIFINDEX, struct.pack("16s24x", raw))
        except OSError:
            return parts
        return iface, None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def socket_ioctl(sock: socket.socket, request: int, arg: bytes) -> bytes:
    import fcntl

    return fcntl.ioctl(sock, request, arg)


def addresses(iface: str) -> list[bytes]:
    """The usable (not tentative, not failed) IPv6 addresses of ``iface`` in this
    network namespace (/proc/net/if_inet6), in the kernel's order."""
    found = []
    try:
        with open("/proc/net/if_inet6") as file:
            for line in file:
                fields = line.split()
                if len(fields) >= 6 and fields[5] == iface:
                    if int(fields[4], 16) & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
                        continue
                    found.append(bytes.fromhex(fields[0]))
    except (OSError, ValueError):
        pass
    return found


def link_local(iface: str) -> bytes | None:
    """The first link-local address of ``iface`` (None if it has none)."""
    for addr in addresses(iface):
        if is_link_local(addr):
            return addr
    return None
