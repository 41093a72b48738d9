"""Text forms of MACs and addresses exactly as NDPMon 2.1 printed them (REFERENCE §1.2).

Alert messages are matched by admins' log filters, so each message keeps the helper the
original used: ``ether_ntoa`` (unpadded MAC), ``ipv6_ntoa`` (uncompressed, no leading
zeros), ``inet_ntop`` (compressed) and ``ipv6pre_ntoa`` (first 64 bits only).
"""

from __future__ import annotations

import socket
import struct

__all__ = ["mac_str", "ip_full", "ip_short", "ip_prefix64"]

_H8 = struct.Struct("!8H")
_H4 = struct.Struct("!4H")


def mac_str(mac: bytes) -> str:
    """``ether_ntoa``: lower-case hex without zero padding, e.g. ``0:11:22:33:44:55``."""
    return "%x:%x:%x:%x:%x:%x" % tuple(mac)


def ip_full(addr: bytes) -> str:
    """``ipv6_ntoa``: eight groups, uncompressed, e.g. ``fe80:0:0:0:211:22ff:fe33:4455``."""
    return "%x:%x:%x:%x:%x:%x:%x:%x" % _H8.unpack(addr)


def ip_short(addr: bytes) -> str:
    """``inet_ntop``: the compressed form, e.g. ``fe80::211:22ff:fe33:4455``."""
    return socket.inet_ntop(socket.AF_INET6, addr)


def ip_prefix64(addr: bytes) -> str:
    """``ipv6pre_ntoa``: the first 64 bits only, e.g. ``2001:db8:bad:0``."""
    return "%x:%x:%x:%x" % _H4.unpack_from(addr)
