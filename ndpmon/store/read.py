"""The store's contents as ndpmon's own objects: neighbour caches, alerts, routers.

The web report, ``ndpmon query`` and ``ndpmon central`` read the store through these
functions, which return the same objects the XML files give (``state.Neighbor`` in a
``NeighborCache`` per probe, ``alert.Alert``), so one piece of code renders or filters
both. The SQL only narrows the rows down; the caller's own filter has the last word.
"""

from __future__ import annotations

import socket
from typing import Any, Iterable

from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import UNSPECIFIED
from ndpmon.state.neighbors import Address, Neighbor, NeighborCache

__all__ = ["neighbors", "alerts", "routers", "probes", "open_reader", "Where"]

#: (SQL condition over the aliases n / a, parameters); ("TRUE", {}) for all rows.
Where = tuple[str, dict]

_NEIGHBORS = """
SELECT n.probe, n.mac::text, n.first_mac_seen::text, n.previous_mac::text,
       n.old_macs::text[], host(n.lla), n.vendor, extract(epoch FROM n.last_seen)::float8
FROM ndpmon_neighbor AS n
WHERE ({where}) AND (%(probes)s::text[] IS NULL OR n.probe = ANY(%(probes)s::text[]))
ORDER BY n.probe, n.first_seen, n.mac"""

_ADDRESSES = """
SELECT a.probe, a.mac::text, host(a.address), extract(epoch FROM a.first_seen)::float8,
       extract(epoch FROM a.last_seen)::float8
FROM ndpmon_address AS a JOIN ndpmon_neighbor AS n USING (probe, mac)
WHERE ({where}) AND (%(probes)s::text[] IS NULL OR n.probe = ANY(%(probes)s::text[]))
ORDER BY a.first_seen"""

_ALERTS = """
SELECT extract(epoch FROM a.time)::float8, a.probe, a.priority, a.reason, a.message,
       a.mac::text, a.mac2::text, host(a.ipv6)
FROM ndpmon_alert AS a
WHERE ({where}) AND (%(probes)s::text[] IS NULL OR a.probe = ANY(%(probes)s::text[]))
ORDER BY a.time DESC, a.id DESC LIMIT %(limit)s"""


def _mac(text: str | None) -> bytes | None:
    return bytes.fromhex(text.replace(":", "")) if text else None


def _ip(text: str | None) -> bytes | None:
    return socket.inet_pton(socket.AF_INET6, text) if text and ":" in text else None


def neighbors(conn: Any, where: Where = ("TRUE", {}),
              probes: Iterable[str] | None = None) -> dict[str, NeighborCache]:
    """The neighbours matching ``where`` (over ``n``, ndpmon_neighbor), per probe."""
    condition, params = where
    params = {**params, "probes": None if probes is None else list(probes)}
    caches: dict[str, NeighborCache] = {}
    found: dict[tuple[str, bytes], Neighbor] = {}
    for row in conn.execute(_NEIGHBORS.format(where=condition), params):
        probe, mac, first, previous, old, lla, vendor, last = row
        nb = Neighbor(_mac(mac), _ip(lla) or UNSPECIFIED, last)
        nb.first_mac_seen = _mac(first) or nb.mac
        nb.previous_mac = _mac(previous)
        nb.old_macs = tuple(_mac(m) for m in old or ())
        nb.vendor = vendor
        found[probe, nb.mac] = nb
        cache = caches.setdefault(probe, NeighborCache(10**9, 10**9))
        cache.insert(nb)
    for probe, mac, addr, first, last in conn.execute(_ADDRESSES.format(where=condition),
                                                      params):
        nb = found.get((probe, _mac(mac)))
        packed = _ip(addr)
        if nb is not None and packed is not None:
            nb.addresses[packed] = Address(packed, first, last)
            caches[probe].by_ip.setdefault(packed, nb)
    return caches


def alerts(conn: Any, where: Where = ("TRUE", {}), probes: Iterable[str] | None = None,
           limit: int = 10000) -> list[Alert]:
    """The newest ``limit`` alerts matching ``where`` (over ``a``), oldest first."""
    condition, params = where
    params = {**params, "limit": limit,
              "probes": None if probes is None else list(probes)}
    rows = conn.execute(_ALERTS.format(where=condition), params).fetchall()
    return [Alert(when, probe, Priority(priority) if priority in (1, 2) else Priority.HIGH,
                  reason, message, _mac(mac), _mac(mac2), _ip(ipv6))
            for when, probe, priority, reason, message, mac, mac2, ipv6 in reversed(rows)]


def routers(conn: Any, probes: Iterable[str]) -> dict[str, list[str]]:
    """The ``<router>`` XML of each probe's routers, as the probe last wrote them."""
    out: dict[str, list[str]] = {}
    rows = conn.execute("SELECT probe, config_xml FROM ndpmon_router "
                        "WHERE probe = ANY(%s::text[]) ORDER BY probe, mac, lla",
                        (list(probes),))
    for probe, xml in rows:
        out.setdefault(probe, []).append(xml)
    return out


def probes(conn: Any) -> list[tuple[str, str, float]]:
    """Every probe that wrote to the store: (name, source, last write as epoch)."""
    return conn.execute("SELECT name, source, extract(epoch FROM last_sync)::float8 "
                        "FROM ndpmon_probe ORDER BY name").fetchall()


def open_reader(store: Any) -> Any:
    """A connection for reading (autocommit); one-line StoreError when it fails or when
    no ndpmon has written to this database yet."""
    from ndpmon.store.url import StoreError, connect, password, require_psycopg

    psycopg = require_psycopg()
    try:
        conn = connect(store, password(store))
        conn.autocommit = True
        ok = conn.execute("SELECT to_regclass('ndpmon_alert') IS NOT NULL").fetchone()[0]
    except psycopg.Error as exc:
        raise StoreError(f"store {store.url}: {' '.join(str(exc).split())}") from None
    if not ok:
        conn.close()
        raise StoreError(f"store {store.url}: no ndpmon tables yet (no ndpmon has written "
                         "to it)")
    return conn
