"""``ndpmon central``: the alerts only the whole view can raise, from the store.

One probe sees one link. A MAC or a global address that shows up on two links at the
same time is a station that is in two places at once: a spoofed MAC, a stolen address,
or a bridging mistake. A central instance, whose config lists the other hosts' probes
as ``<probe name="host/eth0" type="remote"/>``, polls the store every ``--interval``
seconds and raises, through its normal outputs and actions (and into the store):

* ``MAC on two probes`` (high): one MAC last seen on two remote probes, both within
  the last ``--window`` seconds (routers are left out: a router often uses one MAC on
  every VLAN it serves);
* ``address on two probes`` (high): one global address, likewise.

Each pair is raised once while it lasts, and again if it comes back after it was gone.
The probes write their neighbours at each cache save (every 60 s), which bounds how
soon a pair is seen. ``--once`` polls once and exits (cron, tests).

This module is the logic against the store; the command (options, outputs, the polling
loop) is ndpmon.commands.central.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from types import MappingProxyType
from typing import Any, Iterable, Sequence

from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.config.model import Config, Store
from ndpmon.store import read
from ndpmon.store.rows import ROWS
from ndpmon.store.url import StoreError, connect, password, require_psycopg
from ndpmon.store.writer import StoreWriter

__all__ = ["Central", "MAC_REASON", "ADDRESS_REASON", "pair_alerts", "setup", "alert_writer",
           "poll"]

log = logging.getLogger("ndpmon")

MAC_REASON = reasons.MAC_ON_TWO_PROBES
ADDRESS_REASON = reasons.ADDRESS_ON_TWO_PROBES

_MAC_PAIRS = """
SELECT a.mac::text, a.probe, b.probe, NULL::text, NULL::text,
       extract(epoch FROM GREATEST(a.last_seen, b.last_seen))::float8
FROM ndpmon_neighbor AS a JOIN ndpmon_neighbor AS b ON a.mac = b.mac AND a.probe < b.probe
WHERE a.probe = ANY(%(probes)s::text[]) AND b.probe = ANY(%(probes)s::text[])
  AND a.last_seen >= now() - make_interval(secs => %(window)s)
  AND b.last_seen >= now() - make_interval(secs => %(window)s)
  AND NOT EXISTS (SELECT 1 FROM ndpmon_router AS r WHERE r.mac = a.mac)
ORDER BY 6, 1, 2, 3"""

_ADDRESS_PAIRS = """
SELECT host(a.address), a.probe, b.probe, a.mac::text, b.mac::text,
       extract(epoch FROM GREATEST(a.last_seen, b.last_seen))::float8
FROM ndpmon_address AS a JOIN ndpmon_address AS b
     ON a.address = b.address AND a.probe < b.probe
WHERE a.probe = ANY(%(probes)s::text[]) AND b.probe = ANY(%(probes)s::text[])
  AND a.last_seen >= now() - make_interval(secs => %(window)s)
  AND b.last_seen >= now() - make_interval(secs => %(window)s)
ORDER BY 6, 1, 2, 3"""

Row = tuple[Any, ...]


def pair_alerts(kind: str, rows: Iterable[Row]) -> dict[tuple, Alert]:
    """The alert of each (kind, value, probe, probe) row, keyed by that tuple."""
    out: dict[tuple, Alert] = {}
    for value, first, second, mac_a, mac_b, when in rows:
        key = (kind, value, first, second)
        if kind == "mac":
            mac = bytes.fromhex(value.replace(":", ""))
            message = f"{MAC_REASON} {mac_str(mac)} {first} {second}"
            alert = Alert(when, second, Priority.HIGH, MAC_REASON, message, mac=mac,
                          extra=MappingProxyType({"probes": f"{first} {second}"}))
        else:
            addr = socket.inet_pton(socket.AF_INET6, value)
            macs = [bytes.fromhex(m.replace(":", "")) for m in (mac_a, mac_b)]
            message = (f"{ADDRESS_REASON} {ip_short(addr)} {first} ({mac_str(macs[0])}) "
                       f"{second} ({mac_str(macs[1])})")
            alert = Alert(when, second, Priority.HIGH, ADDRESS_REASON, message,
                          mac=macs[1], mac2=macs[0], ipv6=addr,
                          extra=MappingProxyType({"probes": f"{first} {second}"}))
        out[key] = alert
    return out


class Central:
    """The pairs seen at the last poll, so that each is raised once while it lasts."""

    def __init__(self, probes: Sequence[str], window: float) -> None:
        self.probes = list(probes)
        self.window = window
        self.active: set[tuple] = set()

    def poll(self, conn: Any) -> list[Alert]:
        """Ask the store; return the alerts of pairs that are new since the last poll."""
        params = {"probes": self.probes, "window": self.window}
        current = pair_alerts("mac", conn.execute(_MAC_PAIRS, params).fetchall())
        current.update(pair_alerts("ip", conn.execute(_ADDRESS_PAIRS, params).fetchall()))
        new = [alert for key, alert in current.items() if key not in self.active]
        self.active = set(current)
        return new


def setup(config: Config) -> tuple[Store, list[str]]:
    """The store and the remote probes a central config watches (StoreError if it has
    neither)."""
    store = config.settings.store
    if store is None:
        raise StoreError(f"{config.path}: no <store> (and no --store): nothing to read")
    names = [p.name for p in config.probes if p.type == "remote"]
    if not names:
        raise StoreError(f"{config.path}: no <probe type=\"remote\">: nothing to watch")
    return store, names


def alert_writer(store: Store) -> tuple[StoreWriter, str]:
    """The writer of the central's own alerts into the store, and their origin (unique
    per run: with the sequence number it keys each alert)."""
    psycopg = require_psycopg()
    secret = password(store)
    errors = ((psycopg.OperationalError, psycopg.InterfaceError), psycopg.Error)
    writer = StoreWriter(lambda: connect(store, secret), store.queue_size, errors=errors,
                         name="store (central)", rows=ROWS)
    origin = f"central:{socket.gethostname()}:{os.getpid()}:{time.time():.6f}"
    return writer, origin


def poll(central: Central, store: Store) -> list[Alert]:
    """One poll on a fresh connection; a store that is away is logged, not fatal."""
    psycopg = require_psycopg()
    try:
        conn = read.open_reader(store)
    except StoreError as exc:
        log.warning("central: %s", exc)
        return []
    try:
        return central.poll(conn)
    except psycopg.Error as exc:
        log.warning("central: store query failed: %s", " ".join(str(exc).split()))
        return []
    finally:
        conn.close()
