"""The store's side of ``ndpmon query``: SQL that narrows the rows down to a question.

ndpmon.commands.query applies its own filter to what comes back, so the files and the store
answer alike; the SQL here only keeps the database from sending every row (the
indexes on MAC, address and time serve these conditions).
"""

from __future__ import annotations

from typing import Any

from ndpmon.checks.alert import Alert
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.config.model import Store
from ndpmon.state.neighbors import Neighbor
from ndpmon.store import read

__all__ = ["ask", "conditions"]

_NEIGHBOR = {
    "mac": "n.mac = %(v)s::macaddr OR n.first_mac_seen = %(v)s::macaddr "
           "OR %(v)s::macaddr = ANY(n.old_macs)",
    "ip": "n.lla = %(v)s::inet OR EXISTS (SELECT 1 FROM ndpmon_address AS x WHERE "
          "x.probe = n.probe AND x.mac = n.mac AND x.address = %(v)s::inet)",
    "since": "n.last_seen >= to_timestamp(%(v)s)",
}
_ALERT = {
    "mac": "a.mac = %(v)s::macaddr OR a.mac2 = %(v)s::macaddr OR a.message LIKE %(like)s",
    "ip": "a.ipv6 = %(v)s::inet OR a.message LIKE %(like)s",
    "since": "a.time >= to_timestamp(%(v)s)",
}


def conditions(what: str, value: Any) -> tuple[read.Where, read.Where]:
    """The (neighbour, alert) WHERE clauses and parameters for a question."""
    if what == "mac":
        params = {"v": value.hex(":"), "like": f"%{mac_str(value)}%"}
    elif what == "ip":
        params = {"v": ip_short(value), "like": f"%{ip_short(value)}%"}
    else:
        params = {"v": float(value)}
    return (_NEIGHBOR[what], params), (_ALERT[what], params)


def ask(store: Store, what: str, value: Any,
        limit: int = 100_000) -> tuple[list[tuple[str, Neighbor]], list[Alert]]:
    """The candidate neighbours (with their probe) and alerts for ``what value``."""
    where_n, where_a = conditions(what, value)
    conn = read.open_reader(store)
    try:
        caches = read.neighbors(conn, where_n)
        alerts = read.alerts(conn, where_a, limit=limit)
    finally:
        conn.close()
    return [(probe, nb) for probe, cache in caches.items() for nb in cache], alerts
