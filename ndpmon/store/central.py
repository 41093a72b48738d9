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
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from types import MappingProxyType
from typing import Any, Iterable, Sequence

from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.errors import NdpmonError
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.store import read
from ndpmon.store.rows import ROWS
from ndpmon.store.url import StoreError, connect, password, require_psycopg

__all__ = ["Central", "MAC_REASON", "ADDRESS_REASON", "pair_alerts", "main"]

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


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``ndpmon central``."""
    from ndpmon.commands.main import DEFAULT_CONFIG

    p = argparse.ArgumentParser(
        prog="ndpmon central",
        description="Poll the PostgreSQL store for a MAC or an address seen on two of the "
                    "config's remote probes at once, and raise alerts through the "
                    "config's actions.")
    p.add_argument("-f", dest="config", metavar="CONFIG", default=DEFAULT_CONFIG)
    p.add_argument("--store", metavar="URL", help="the store (default: the config's)")
    p.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                   help="seconds between polls (default 30)")
    p.add_argument("--window", type=float, default=600.0, metavar="SECONDS",
                   help="'at once': both last seen within this many seconds (default 600)")
    p.add_argument("--once", action="store_true", help="poll once, then exit")
    p.add_argument("--json-alerts", metavar="FILE", help="one JSON object per alert")
    p.add_argument("--alerts-xml", metavar="FILE", help="also append alerts to this file")
    p.add_argument("-q", "--quiet", action="store_true", help="no alerts on stderr")
    p.add_argument("-v", dest="verbose", action="store_true")
    return p


def main(argv: Sequence[str]) -> int:
    """``ndpmon central ...``: 0 when stopped, 2 on a setup error (one line)."""
    from ndpmon.run.daemon import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return _run(args)
    except NdpmonError as exc:
        print(f"ndpmon: {exc}", file=sys.stderr)
        return 2


def _setup(args: argparse.Namespace):
    from ndpmon.config import loader as configmod
    from ndpmon.store.url import with_store_url

    config = configmod.load(args.config)
    if args.store:
        config = with_store_url(config, args.store)
    store = config.settings.store
    if store is None:
        raise StoreError(f"{args.config}: no <store> (and no --store): nothing to read")
    names = [p.name for p in config.probes if p.type == "remote"]
    if not names:
        raise StoreError(f"{args.config}: no <probe type=\"remote\">: nothing to watch")
    return config, store, names


def _run(args: argparse.Namespace) -> int:
    from ndpmon.run.session import _actions
    from ndpmon.store.writer import StoreWriter

    config, store, names = _setup(args)
    psycopg = require_psycopg()
    secret = password(store)
    outputs = argparse.Namespace(learn=False, quiet=args.quiet, json_alerts=args.json_alerts,
                                 no_alerts_xml=args.alerts_xml is None,
                                 alerts_xml=args.alerts_xml, cache=args.config)
    actions = _actions(outputs, config, deliver=True)
    errors = ((psycopg.OperationalError, psycopg.InterfaceError), psycopg.Error)
    writer = StoreWriter(lambda: connect(store, secret), store.queue_size, errors=errors,
                         name="store (central)", rows=ROWS)
    origin = f"central:{socket.gethostname()}:{os.getpid()}:{time.time():.6f}"
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    for action in actions:
        action.start()
    writer.start()
    central, seq = Central(names, args.window), 0
    log.info("central: watching %s in %s", ", ".join(names), store.url)
    try:
        while not stop.is_set():
            for alert in _poll(central, store, psycopg):
                seq += 1
                for action in actions:
                    action.notify(alert)
                writer.put("alert", [(origin, seq, alert.probe, alert)])
            for action in actions:
                action.flush()
            if args.once:
                break
            stop.wait(args.interval)
    finally:
        for action in actions:
            action.stop()
        writer.close()
    log.info("central: %d alerts raised", seq)
    return 0


def _poll(central: Central, store: Any, psycopg: Any) -> list[Alert]:
    """One poll on a fresh connection; a store that is away is logged, not fatal."""
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
