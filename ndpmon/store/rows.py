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
from typing import Any, Iterable

from ndpmon.checks.alert import Alert
from ndpmon.config.writeback import router_lines
from ndpmon.codec.addr import UNSPECIFIED, ip_short
from ndpmon.config.model import Router
from ndpmon.state.neighbors import Neighbor

__all__ = ["clean", "snapshot", "neighbor_row", "ROWS", "alert_row", "router_rows",
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
    return (probe, mac.hex(":"), first.hex(":"), hexmac(previous),
            [m.hex(":") for m in old], None if lla == UNSPECIFIED else ip_short(lla),
            clean(vendor), float(last), [ip_short(a.addr) for a in addresses],
            [float(a.firstseen) for a in addresses], [float(a.lastseen) for a in addresses])


def alert_row(origin: str, seq: int, probe: str, alert: Alert) -> AlertRow:
    """(origin, seq, time, probe, priority, reason, message, mac, mac2, ipv6, fields)."""
    fields = json.dumps(alert.to_json()["fields"], default=str, sort_keys=True)
    return (origin, seq, float(alert.time), clean(probe), int(alert.priority),
            clean(alert.reason), clean(alert.message), hexmac(alert.mac),
            hexmac(alert.mac2), ip_short(alert.ipv6) if alert.ipv6 else None,
            clean(fields.replace("\\u0000", "\\\\x00")))  # jsonb refuses \u0000


def router_xml(router: Router) -> str:
    """The router as the ``<router>`` element a config holds (ndpmon.config.writeback)."""
    return "\n".join("  " * depth + text for depth, text in router_lines(router))


def router_rows(probe: str, routers: Iterable[Router]) -> list[RouterRow]:
    """(probe, mac, lla, prefixes as address/length text, config XML) of each router."""
    return [(probe, r.mac.hex(":"), ip_short(r.lla),
             [f"{ip_short(p.address)}/{p.length}" for p in r.prefixes], router_xml(r))
            for r in routers]


#: What the writer's thread turns each queued item of a kind into (ndpmon.store.writer).
ROWS = {"neighbor": neighbor_row, "alert": lambda item: alert_row(*item)}
