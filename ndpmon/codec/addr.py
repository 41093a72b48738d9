"""IPv6 and MAC addresses as bytes: the one home of their tests, prefixes and text forms.

Addresses are the 16-byte ``bytes`` the decoder produces and MACs 6-byte ``bytes``.
The tests (link-local, unspecified, ...) are plain byte comparisons, cheap enough for
the per-frame path, so every module asks here rather than spelling ``fe80::/10`` again.

Prefixes (RFC 4291 §2.3): ``prefix_bits(addr, length)`` is the integer of the first
``length`` bits, so two addresses share a prefix when those integers are equal;
``PrefixTable`` answers "inside any of these prefixes?" with one set lookup per length.

Text forms exactly as NDPMon 2.1 printed them (COMPATIBILITY.md §1.2): alert messages are
matched by admins' log filters, so each message keeps the helper the original used:
``ether_ntoa`` (unpadded MAC), ``ipv6_ntoa`` (uncompressed, no leading zeros),
``inet_ntop`` (compressed) and ``ipv6pre_ntoa`` (first 64 bits only).
"""

from __future__ import annotations

import re
import struct
from socket import AF_INET6, inet_ntop, inet_pton
from typing import Iterable

__all__ = ["UNSPECIFIED", "is_unspecified", "is_link_local", "is_local_scope",
           "prefix_bits", "in_prefix", "masked", "PrefixTable",
           "mac_str", "ip_full", "ip_short", "ip_prefix64", "shorten_addresses"]

#: ``::`` (RFC 4291 §2.5.2): the source of a DAD probe, "no address" in the cache.
UNSPECIFIED = bytes(16)

_H8 = struct.Struct("!8H")
_H4 = struct.Struct("!4H")


def is_unspecified(addr: bytes) -> bool:
    """``::`` (RFC 4291 §2.5.2)."""
    return addr == UNSPECIFIED


def is_link_local(addr: bytes) -> bool:
    """fe80::/10 (RFC 4291 §2.5.6)."""
    return addr[0] == 0xFE and addr[1] & 0xC0 == 0x80


def is_local_scope(addr: bytes) -> bool:
    """fe80::/9: link-local (fe80::/10) or the deprecated site-local (fec0::/10,
    RFC 3879): addresses that no router advertises a prefix for."""
    return addr[0] == 0xFE and addr[1] & 0x80 != 0


def prefix_bits(addr: bytes, length: int) -> int:
    """The first ``length`` bits of ``addr`` as an integer (0 for length 0)."""
    return int.from_bytes(addr, "big") >> (128 - length)


def in_prefix(addr: bytes, prefix: bytes, length: int) -> bool:
    """Is ``addr`` inside ``prefix``/``length`` (the bits after the length ignored,
    RFC 4861 §4.6.2)?"""
    shift = 128 - length
    return int.from_bytes(addr, "big") >> shift == int.from_bytes(prefix, "big") >> shift


def masked(addr: bytes, length: int) -> bytes:
    """``addr`` with the bits after the first ``length`` set to zero."""
    shift = 128 - length
    return ((int.from_bytes(addr, "big") >> shift) << shift).to_bytes(16, "big")


class PrefixTable:
    """A set of prefixes, asked "is this address inside one of them?" per packet.

    Per prefix length, the prefixes' bits: a lookup is one set test per distinct length,
    whatever the number of prefixes. A length that is a whole number of bytes (a /64)
    keeps its prefixes as those bytes (``addr[:8]``: cheaper than the integer), the
    others as integers shifted right (``prefix_bits``).
    """

    __slots__ = ("by_length",)

    def __init__(self, prefixes: Iterable[tuple[bytes, int]]) -> None:
        #: (whole bytes of the length or 0, the shift of the integer form, the prefixes)
        self.by_length: tuple[tuple[int, int, set], ...] = ()
        for address, length in prefixes:
            self.add(address, length)

    def add(self, address: bytes, length: int) -> None:
        """One more prefix (learning adds them one by one; no rebuild)."""
        shift = 128 - length
        nbytes = length // 8 if length % 8 == 0 else 0
        value = address[:nbytes] if nbytes else int.from_bytes(address, "big") >> shift
        for _bytes, known_shift, values in self.by_length:
            if known_shift == shift:
                values.add(value)
                return
        self.by_length = tuple(sorted(self.by_length + ((nbytes, shift, {value}),),
                                      key=lambda entry: entry[1]))

    def __contains__(self, addr: bytes) -> bool:
        value = None
        for nbytes, shift, values in self.by_length:
            if nbytes:
                if addr[:nbytes] in values:
                    return True
            else:
                if value is None:
                    value = int.from_bytes(addr, "big")
                if value >> shift in values:
                    return True
        return False


def mac_str(mac: bytes) -> str:
    """``ether_ntoa``: lower-case hex without zero padding, e.g. ``0:11:22:33:44:55``."""
    return "%x:%x:%x:%x:%x:%x" % tuple(mac)


def ip_full(addr: bytes) -> str:
    """``ipv6_ntoa``: eight groups, uncompressed, e.g. ``fe80:0:0:0:211:22ff:fe33:4455``."""
    return "%x:%x:%x:%x:%x:%x:%x:%x" % _H8.unpack(addr)


def ip_short(addr: bytes) -> str:
    """``inet_ntop``: the compressed form, e.g. ``fe80::211:22ff:fe33:4455``."""
    return inet_ntop(AF_INET6, addr)


def ip_prefix64(addr: bytes) -> str:
    """``ipv6pre_ntoa``: the first 64 bits only, e.g. ``2001:db8:bad:0``."""
    return "%x:%x:%x:%x" % _H4.unpack_from(addr)


#: An address in ``ipv6_ntoa``'s form: eight groups, not part of a longer run of them.
_FULL = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}(?![0-9A-Fa-f:])")


def shorten_addresses(text: str) -> str:
    """``text`` (an alert message) with every address in ``ipv6_ntoa``'s uncompressed
    form written compressed, as ``inet_ntop`` (the alert's IPv6 field) writes it: for
    readers (the web report), never for the message itself (log filters match it)."""
    return _FULL.sub(lambda m: inet_ntop(AF_INET6, inet_pton(AF_INET6, m.group())), text)
