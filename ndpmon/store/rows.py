"""Neighbours, routers and alerts as the rows the writer sends (pure, no database).

The capture thread does as little as possible: for an alert it queues the (immutable)
Alert itself, and at a cache save a *snapshot* of each changed neighbour, a tuple of
the immutable values it holds (bytes, floats, the Address tuples), since the Neighbor
object keeps changing. The writer's thread turns both into rows of plain strings,
numbers and lists: times stay epoch seconds (the database turns them into timestamps),
MACs are ``00:11:22:33:44:55`` (the ``macaddr`` input form), addresses their short text.

A neighbour is one row carrying its global addresses as three parallel lists, so that
a neighbour counts once in the queue bound and addresses cost no extra row.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

from ndpmon.checks.alert import Alert
from ndpmon.config.writeback import router_lines
from ndpmon.codec.addr import UNSPECIFIED, ip_short, mac_str
from ndpmon.config.model import Router
from ndpmon.state.neighbors import Neighbor

__all__ = ["clean", "jsonb", "snapshot", "neighbor_row", "ROWS", "alert_row", "router_rows",
           "router_xml", "hexmac", "NeighborRow", "AlertRow", "RouterRow"]

NeighborRow = tuple[Any, ...]
AlertRow = tuple[Any, ...]
RouterRow = tuple[str, str, str, list[str], str]


def clean(text: str | None) -> str | None:
    """Text PostgreSQL accepts: no NUL, valid UTF-8 (a packet's bytes become
    ``\\x00``-style escapes instead of making the database refuse the whole batch)."""
    if text is None or (text.isascii() and "\0" not in text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\0", "\\x00")


def jsonb(value: Any) -> str:
    """``value`` as JSON text that ``jsonb`` accepts: every string in it (keys too)
    made ``clean`` *before* encoding, so no ``\\u0000`` or lone surrogate escape is ever
    written, whatever the packet held (the six characters ``\\u0000`` in a DNSSL label
    stay six characters); NaN and infinities, which JSON lacks, become text, and
    addresses kept as bytes their text forms (as in ``Alert.to_json``)."""
    return json.dumps(_jsonable(value), sort_keys=True, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {clean(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return {16: ip_short, 6: mac_str}.get(len(value), bytes.hex)(value)
    return clean(str(value))


def hexmac(mac: bytes | None) -> str | None:
    """``00:11:22:33:44:55`` (what ``macaddr`` reads), or None."""
    return mac.hex(":") if mac else None


def snapshot(probe: str, nb: Neighbor) -> tuple:
    """The neighbour's values now (capture thread): immutable, cheap, for ``neighbor_row``."""
    return (probe, nb.mac, nb.first_mac_seen, nb.previous_mac, nb.old_macs, nb.lla,
            nb.vendor, nb.lastseen, tuple(nb.addresses.values()))


def neighbor_row(snap: tuple) -> NeighborRow:
    """(probe, mac, first_mac_seen, previous_mac, old_macs, lla, vendor, last_seen,
    addresses, first_seen of each, last_seen of each) of a ``snapshot``."""
    probe, mac, first, previous, old, lla, vendor, last, addresses = snap
    return (clean(probe), mac.hex(":"), first.hex(":"), hexmac(previous),
            [m.hex(":") for m in old], None if lla == UNSPECIFIED else ip_short(lla),
            clean(vendor), float(last), [ip_short(a.addr) for a in addresses],
            [float(a.firstseen) for a in addresses], [float(a.lastseen) for a in addresses])


def alert_row(origin: str, seq: int, probe: str, alert: Alert) -> AlertRow:
    """(origin, seq, time, probe, priority, reason, message, mac, mac2, ipv6, fields)."""
    return (origin, seq, float(alert.time), clean(probe), int(alert.priority),
            clean(alert.reason), clean(alert.message), hexmac(alert.mac),
            hexmac(alert.mac2), ip_short(alert.ipv6) if alert.ipv6 else None,
            jsonb(dict(alert.extra)))


def router_xml(router: Router) -> str:
    """The router as the ``<router>`` element a config holds (ndpmon.config.writeback)."""
    return "\n".join("  " * depth + text for depth, text in router_lines(router))


def router_rows(probe: str, routers: Iterable[Router]) -> list[RouterRow]:
    """(probe, mac, lla, prefixes as address/length text, config XML) of each router."""
    return [(clean(probe), r.mac.hex(":"), ip_short(r.lla),
             [f"{ip_short(p.address)}/{p.length}" for p in r.prefixes], clean(router_xml(r)))
            for r in routers]


#: What the writer's thread turns each queued item of a kind into (ndpmon.store.writer).
ROWS = {"neighbor": neighbor_row, "alert": lambda item: alert_row(*item)}
