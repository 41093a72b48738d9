"""The fields of NDPMon's user rules: what ``<match field value/>`` can test, and how.

NDPMon's rules plugin (COMPATIBILITY.md §4.9, ``rules.c:16-107``) lets an admin raise ``user
defined rule matched`` for packets with given header values. Every field it lists is
here with the value it takes: a MAC, an IPv6 address with an optional ``/prefix``
(default /128), an unsigned integer of the field's width, or none (a message type, a
flag, an option's presence). ``parse`` turns the config's text into an operand once
(ndpmon.config.build reports a bad field or value with its line); ``test`` evaluates a field on
a decoded message, purely.

``test`` returns None when the field does not apply (an RA field on an NS, as NDPMon:
then neither ``<match>`` nor ``<no-match>`` holds). An option field on a message
without that option is false, so ``<no-match>`` holds, as NDPMon; unlike NDPMon, a
message with several prefix options matches if any of them does, ``nd.opt.mtu.mtu``
reads the MTU option (NDPMon read the target link-layer option), and ``<no-match>``
of ``nd.rs`` and the other message types is negated (NDPMon's was not).
"""

from __future__ import annotations

from typing import Any, Callable

from ndpmon.codec.addr import in_prefix
from ndpmon.config import values as convert
from ndpmon.codec.message import (NA, NS, OPT_MTU, OPT_PREFIX, OPT_SLLA, OPT_TLLA, RA, REDIRECT, RS,
                    NdMessage)

__all__ = ["FIELDS", "parse", "test"]

Getter = Callable[[NdMessage], Any]


def _mac(text: str) -> bytes:
    return convert.mac(text)


def _prefix(text: str) -> tuple[bytes, int]:
    """``address[/len]`` as (prefix, length): a match is ``in_prefix(addr, *operand)``."""
    return convert.prefix(text)


def _flag(text: str) -> bool:
    """Presence and flag fields take no value (``1`` is accepted as "set")."""
    if text not in ("", "1"):
        raise ValueError(f"takes no value (got {convert.quote(text)})")
    return True


KINDS: dict[str, Callable[[str], Any]] = {
    "mac": _mac, "addr": _prefix, "u8": convert.u8, "u16": convert.u16,
    "u32": convert.u32, "flag": _flag,
}


def _only(kind: int, get: Getter) -> Getter:
    """``get`` for messages of type ``kind``; None (not applicable) for the others."""
    return lambda msg: get(msg) if msg.type == kind else None


def _has(opt_type: int) -> Getter:
    return lambda msg: any(o.type == opt_type for o in msg.options)


def _pios(msg: NdMessage) -> list:
    return [o for o in msg.options if o.type == OPT_PREFIX]


def _type(kind: int) -> Getter:
    return lambda msg: msg.type == kind


#: field -> (value kind, getter). A getter returns the value compared with the operand
#: (flags: a bool), a list of values (any may match), or None (does not apply).
FIELDS: dict[str, tuple[str, Getter]] = {
    "ethernet.source": ("mac", lambda m: m.eth_src),
    "ethernet.destination": ("mac", lambda m: m.eth_dst),
    "inet6.source": ("addr", lambda m: m.src),
    "inet6.destination": ("addr", lambda m: m.dst),
    "inet6.payload": ("u16", lambda m: m.plen),
    "inet6.nextheader": ("u8", lambda m: m.ext[0] if m.ext else 58),
    "inet6.hoplimit": ("u8", lambda m: m.hlim),
    "icmp6.type": ("u8", lambda m: m.type),
    "icmp6.code": ("u8", lambda m: m.code),
    "nd.rs": ("flag", _type(RS)),
    "nd.ra": ("flag", _type(RA)),
    "nd.ns": ("flag", _type(NS)),
    "nd.na": ("flag", _type(NA)),
    "nd.rd": ("flag", _type(REDIRECT)),
    "nd.ra.curhoplimit": ("u8", _only(RA, lambda m: m.chlim)),
    "nd.ra.flag.managed": ("flag", _only(RA, lambda m: bool(m.ra_flags & 0x80))),
    "nd.ra.flag.other": ("flag", _only(RA, lambda m: bool(m.ra_flags & 0x40))),
    "nd.ra.flag.homeagent": ("flag", _only(RA, lambda m: bool(m.ra_flags & 0x20))),
    "nd.ra.lifetime": ("u16", _only(RA, lambda m: m.routerlifetime)),
    "nd.ra.reachabletimer": ("u32", _only(RA, lambda m: m.reachabletime)),
    "nd.ra.retranstimer": ("u32", _only(RA, lambda m: m.retranstimer)),
    "nd.ns.targetaddress": ("addr", _only(NS, lambda m: m.target)),
    "nd.na.flag.router": ("flag", _only(NA, lambda m: bool(m.na_flags & 0x80))),
    "nd.na.flag.solicited": ("flag", _only(NA, lambda m: bool(m.na_flags & 0x40))),
    "nd.na.flag.override": ("flag", _only(NA, lambda m: bool(m.na_flags & 0x20))),
    "nd.na.targetaddress": ("addr", _only(NA, lambda m: m.target)),
    "nd.rd.targetaddress": ("addr", _only(REDIRECT, lambda m: m.target)),
    "nd.rd.destinationaddress": ("addr", _only(REDIRECT, lambda m: m.rd_dst)),
    "nd.opt.sourcelinklayer": ("flag", _has(OPT_SLLA)),
    "nd.opt.targetlinklayer": ("flag", _has(OPT_TLLA)),
    "nd.opt.prefixinfo": ("flag", _has(OPT_PREFIX)),
    "nd.opt.mtu": ("flag", _has(OPT_MTU)),
    "nd.opt.sourcelinklayer.address": ("mac", lambda m: [m.slla] if m.slla else []),
    "nd.opt.targetlinklayer.address": ("mac", lambda m: [m.tlla] if m.tlla else []),
    "nd.opt.prefixinfo.flag.onlink": (
        "flag", lambda m: any(o.flags & 0x80 for o in _pios(m))),
    "nd.opt.prefixinfo.flag.autoconf": (
        "flag", lambda m: any(o.flags & 0x40 for o in _pios(m))),
    "nd.opt.prefixinfo.validlifetime": (
        "u32", lambda m: [o.validlifetime for o in _pios(m)]),
    "nd.opt.prefixinfo.preferredlifetime": (
        "u32", lambda m: [o.preferredlifetime for o in _pios(m)]),
    "nd.opt.prefixinfo.prefix": ("addr", lambda m: [o.prefix for o in _pios(m)]),
    "nd.opt.mtu.mtu": ("u32", lambda m: [o.mtu for o in m.options if o.type == OPT_MTU]),
}


def parse(field: str, value: str | None) -> Any:
    """The operand of a clause: its value converted for ``field`` (ValueError if the
    field is unknown or the value does not fit it)."""
    entry = FIELDS.get(field)
    if entry is None:
        raise ValueError(f"unknown field {convert.quote(field)}")
    kind = entry[0]
    if value is None or value == "":
        if kind != "flag":
            raise ValueError(f"field {field} needs a value")
        return True
    return KINDS[kind](value.strip())


def test(field: str, operand: Any, msg: NdMessage) -> bool | None:
    """Does ``field`` of ``msg`` equal (or, for addresses, lie in) ``operand``? None if
    the field does not apply to this message."""
    kind, get = FIELDS[field]
    got = get(msg)
    if got is None or kind == "flag":
        return got
    values = got if isinstance(got, list) else (got,)
    if kind == "addr":
        prefix, length = operand
        return any(in_prefix(v, prefix, length) for v in values)
    return operand in values
