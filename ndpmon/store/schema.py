"""The store's tables, created and migrated by ndpmon itself, versioned.

``ndpmon_schema`` holds one row per migration applied. At every connection ndpmon
applies the migrations the database lacks, in one transaction under an advisory lock,
so two instances starting at once do not both migrate, and a failed migration leaves
the database as it was. A database newer than this ndpmon is refused (one line). To
change the schema, append a migration: never edit one that was released.

The tables (README "Distributed monitoring" documents every column):

* ``ndpmon_probe``: each probe that writes (``source/interface``), when it last did;
* ``ndpmon_neighbor``: one row per (probe, MAC), upserted: first MAC seen, previous and
  old MACs, link-local address, vendor, first and last seen;
* ``ndpmon_address``: one row per (probe, MAC, global address), first and last seen;
* ``ndpmon_router``: each probe's routers (configured and learned) as config XML;
* ``ndpmon_alert``: every alert, appended; (origin, seq) makes a retried batch harmless.
"""

from __future__ import annotations

from typing import Any

from ndpmon.store.url import StoreError

__all__ = ["MIGRATIONS", "LATEST", "migrate"]

#: An arbitrary key for pg_advisory_xact_lock: "ndpm" in ASCII.
LOCK_KEY = 0x6E64706D

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """CREATE TABLE ndpmon_probe (
            name      text PRIMARY KEY,
            source    text NOT NULL,
            last_sync timestamptz NOT NULL)""",
        """CREATE TABLE ndpmon_neighbor (
            probe          text NOT NULL,
            mac            macaddr NOT NULL,
            first_mac_seen macaddr NOT NULL,
            previous_mac   macaddr,
            old_macs       macaddr[] NOT NULL DEFAULT '{}',
            lla            inet,
            vendor         text,
            first_seen     timestamptz NOT NULL,
            last_seen      timestamptz NOT NULL,
            PRIMARY KEY (probe, mac))""",
        "CREATE INDEX ndpmon_neighbor_mac ON ndpmon_neighbor (mac)",
        "CREATE INDEX ndpmon_neighbor_last_seen ON ndpmon_neighbor (last_seen)",
        """CREATE TABLE ndpmon_address (
            probe      text NOT NULL,
            mac        macaddr NOT NULL,
            address    inet NOT NULL,
            first_seen timestamptz NOT NULL,
            last_seen  timestamptz NOT NULL,
            PRIMARY KEY (probe, mac, address))""",
        "CREATE INDEX ndpmon_address_address ON ndpmon_address (address)",
        """CREATE TABLE ndpmon_router (
            probe      text NOT NULL,
            mac        macaddr NOT NULL,
            lla        inet NOT NULL,
            prefixes   inet[] NOT NULL DEFAULT '{}',
            config_xml text NOT NULL,
            updated    timestamptz NOT NULL,
            PRIMARY KEY (probe, mac, lla))""",
        """CREATE TABLE ndpmon_alert (
            id       bigserial PRIMARY KEY,
            origin   text NOT NULL,
            seq      bigint NOT NULL,
            time     timestamptz NOT NULL,
            probe    text NOT NULL,
            priority smallint NOT NULL,
            reason   text NOT NULL,
            message  text NOT NULL,
            mac      macaddr,
            mac2     macaddr,
            ipv6     inet,
            fields   jsonb NOT NULL DEFAULT '{}',
            UNIQUE (origin, seq))""",
        "CREATE INDEX ndpmon_alert_time ON ndpmon_alert (time)",
        "CREATE INDEX ndpmon_alert_mac ON ndpmon_alert (mac)",
        "CREATE INDEX ndpmon_alert_ipv6 ON ndpmon_alert (ipv6)",
    )),
)
LATEST = MIGRATIONS[-1][0]


def migrate(conn: Any) -> tuple[int, int]:
    """Bring the schema of ``conn``'s database up to LATEST; return (before, after).

    Runs in its own transaction; raises StoreError for a database whose schema is
    newer than this ndpmon knows.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS ndpmon_schema ("
                     "version integer PRIMARY KEY, "
                     "applied timestamptz NOT NULL DEFAULT now())")
        row = conn.execute("SELECT coalesce(max(version), 0) FROM ndpmon_schema").fetchone()
        current = int(row[0])
        if current > LATEST:
            raise StoreError(f"the store's schema is version {current}, newer than this "
                             f"ndpmon knows ({LATEST}): upgrade ndpmon")
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO ndpmon_schema (version) VALUES (%s)", (version,))
    return current, LATEST
