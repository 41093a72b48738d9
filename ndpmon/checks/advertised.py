"""What a Router Advertisement told the hosts, as the fields of a rogue router's alert.

An admin triaging ``wrong ipv6 router`` (and the other unknown-router alerts) must know
what the hosts were told: a router lifetime above 0 makes it a default router (RFC 4861
§6.3.4), its preference ranks it against the real one (RFC 4191 §2.2), the M and O flags
send hosts to DHCPv6, a prefix with the A flag gives them addresses (RFC 4862 §5.5.3),
RDNSS names their DNS servers (RFC 8106). The values are text and numbers, ready for
JSON (``--json-alerts`` ``fields``, the store) and the mail body; addresses in the
compressed form. An RA carries at most a frame's worth of options, so this is bounded.
"""

from __future__ import annotations

from typing import Any

from ndpmon.codec.addr import ip_short
from ndpmon.codec.message import Dnssl, Mtu, NdMessage, PrefixInfo, Rdnss, RouteInfo

__all__ = ["advertised", "PREFERENCES"]

#: RFC 4191 §2.1: the 2-bit Prf field.
PREFERENCES = ("medium", "high", "reserved", "low")
_RA_FLAGS = ((0x80, "M"), (0x40, "O"), (0x20, "H"), (0x04, "P"))
_PREFIX_FLAGS = ((0x80, "L"), (0x40, "A"), (0x20, "R"))


def _names(byte: int, table: tuple[tuple[int, str], ...]) -> list[str]:
    return [name for bit, name in table if byte & bit]


def _preference(byte: int) -> str:
    return PREFERENCES[(byte >> 3) & 3]


def advertised(msg: NdMessage) -> dict[str, Any]:
    """The RA's header values and options (prefixes, RDNSS, DNSSL, routes, MTU)."""
    flags = msg.ra_flags or 0
    out: dict[str, Any] = {
        "router_lifetime": msg.routerlifetime, "preference": _preference(flags),
        "ra_flags": _names(flags, _RA_FLAGS), "hop_limit": msg.chlim,
        "prefixes": [], "rdnss": [], "dnssl": [], "routes": []}
    for opt in msg.options:
        kind = type(opt)
        if kind is PrefixInfo:
            out["prefixes"].append({
                "prefix": f"{ip_short(opt.prefix)}/{opt.prefixlen}",
                "flags": _names(opt.flags, _PREFIX_FLAGS), "valid": opt.validlifetime,
                "preferred": opt.preferredlifetime})
        elif kind is Rdnss:
            out["rdnss"] += [{"server": ip_short(s), "lifetime": opt.lifetime}
                             for s in opt.servers]
        elif kind is Dnssl:
            out["dnssl"] += [{"domain": d, "lifetime": opt.lifetime} for d in opt.domains]
        elif kind is RouteInfo:
            out["routes"].append({"route": f"{ip_short(opt.prefix)}/{opt.prefixlen}",
                                  "preference": _preference(opt.pref),
                                  "lifetime": opt.rtlifetime})
        elif kind is Mtu:
            out["mtu"] = opt.mtu
    return out
