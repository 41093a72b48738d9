"""One batch of rows into the database, in one transaction, fast and idempotent.

Rows are streamed with COPY into temporary staging tables, then merged with one
``INSERT ... SELECT ... ON CONFLICT`` per table: about ten times faster than row by
row inserts (README gives the rate measured). Every statement can be repeated
without harm, so a batch whose commit was lost with the connection is simply sent
again after the reconnect: neighbours and addresses keep the earliest first-seen and
the latest last-seen, alerts are keyed by (origin, seq), routers are replaced per probe.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["prepare", "write_batch", "Batch"]

#: kind -> rows; kinds: "probe", "neighbor", "router", "alert".
Batch = Mapping[str, Sequence[Any]]

_STAGE = (
    """CREATE TEMP TABLE IF NOT EXISTS ndpmon_stage_neighbor (
        probe text, mac macaddr, first_mac macaddr, previous_mac macaddr,
        old_macs macaddr[], lla inet, vendor text, last_seen float8,
        addrs inet[], firsts float8[], lasts float8[]) ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS ndpmon_stage_alert (
        origin text, seq bigint, time float8, probe text, priority smallint,
        reason text, message text, mac macaddr, mac2 macaddr, ipv6 inet,
        fields jsonb) ON COMMIT DELETE ROWS""",
)
# How psycopg sends each column: MACs and addresses as text, which the server reads
# into the staging table's macaddr and inet columns.
_NEIGHBOR_TYPES = ("text", "text", "text", "text", "text[]", "text", "text",
                   "float8", "text[]", "float8[]", "float8[]")
_ALERT_TYPES = ("text", "int8", "float8", "text", "int2", "text", "text", "text",
                "text", "text", "text")

_UPSERT_NEIGHBORS = """
INSERT INTO ndpmon_neighbor AS n (probe, mac, first_mac_seen, previous_mac, old_macs, lla,
                                  vendor, first_seen, last_seen)
SELECT DISTINCT ON (probe, mac) probe, mac, first_mac, previous_mac, old_macs, lla, vendor,
       to_timestamp(LEAST(last_seen, (SELECT min(f) FROM unnest(firsts) AS f))),
       to_timestamp(last_seen)
FROM ndpmon_stage_neighbor ORDER BY probe, mac, last_seen DESC
ON CONFLICT (probe, mac) DO UPDATE SET
    first_mac_seen = EXCLUDED.first_mac_seen, previous_mac = EXCLUDED.previous_mac,
    old_macs = EXCLUDED.old_macs, lla = EXCLUDED.lla,
    vendor = coalesce(EXCLUDED.vendor, n.vendor),
    first_seen = LEAST(n.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(n.last_seen, EXCLUDED.last_seen)"""

_UPSERT_ADDRESSES = """
INSERT INTO ndpmon_address AS a (probe, mac, address, first_seen, last_seen)
SELECT DISTINCT ON (s.probe, s.mac, u.address) s.probe, s.mac, u.address,
       to_timestamp(u.first), to_timestamp(u.last)
FROM ndpmon_stage_neighbor AS s, unnest(s.addrs, s.firsts, s.lasts) AS u(address, first, last)
ORDER BY s.probe, s.mac, u.address, u.last DESC
ON CONFLICT (probe, mac, address) DO UPDATE SET
    first_seen = LEAST(a.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(a.last_seen, EXCLUDED.last_seen)"""

_INSERT_ALERTS = """
INSERT INTO ndpmon_alert (origin, seq, time, probe, priority, reason, message, mac, mac2,
                          ipv6, fields)
SELECT origin, seq, to_timestamp(time), probe, priority, reason, message, mac, mac2, ipv6,
       fields
FROM ndpmon_stage_alert ON CONFLICT (origin, seq) DO NOTHING"""

_UPSERT_PROBE = """
INSERT INTO ndpmon_probe (name, source, last_sync) VALUES (%s, %s, to_timestamp(%s))
ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source,
    last_sync = GREATEST(ndpmon_probe.last_sync, EXCLUDED.last_sync)"""

_INSERT_ROUTER = """
INSERT INTO ndpmon_router (probe, mac, lla, prefixes, config_xml, updated)
VALUES (%s, %s, %s, %s::inet[], %s, now())
ON CONFLICT (probe, mac, lla) DO UPDATE SET prefixes = EXCLUDED.prefixes,
    config_xml = EXCLUDED.config_xml, updated = EXCLUDED.updated"""


def prepare(conn: Any) -> None:
    """Create this connection's staging tables (after ``schema.migrate``)."""
    with conn.transaction():
        for statement in _STAGE:
            conn.execute(statement)


def write_batch(conn: Any, batch: Batch) -> None:
    """Write every row of ``batch`` in one transaction (all or nothing)."""
    with conn.transaction(), conn.cursor() as cur:
        if batch.get("probe"):
            cur.executemany(_UPSERT_PROBE, batch["probe"])
        if batch.get("neighbor"):
            _copy(cur, "ndpmon_stage_neighbor", _NEIGHBOR_TYPES, batch["neighbor"])
            cur.execute(_UPSERT_NEIGHBORS)
            cur.execute(_UPSERT_ADDRESSES)
        if batch.get("router"):
            _routers(cur, batch["router"])
        if batch.get("alert"):
            _copy(cur, "ndpmon_stage_alert", _ALERT_TYPES, batch["alert"])
            cur.execute(_INSERT_ALERTS)


def _copy(cur: Any, table: str, types: Sequence[str], rows: Sequence[Any]) -> None:
    with cur.copy(f"COPY {table} FROM STDIN") as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _routers(cur: Any, items: Sequence[tuple[str, list]]) -> None:
    """Each item is (probe, router rows): the probe's routers are replaced."""
    for probe, rows in items:
        cur.execute("DELETE FROM ndpmon_router WHERE probe = %s", (probe,))
        if rows:
            cur.executemany(_INSERT_ROUTER, rows)
