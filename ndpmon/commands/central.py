"""``ndpmon central``: the command that polls the store for stations on two probes at once.

The logic (the queries, each pair raised once while it lasts) is ndpmon.store.central;
this is the command around it: its options, its outputs (built by ndpmon.run.outputs
like any run's, with the config's actions), the polling loop and its signals. Exit code
0 when stopped, 2 with one line on a setup error (ndpmon.commands.main).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Sequence

from ndpmon.alerts.action import Action
from ndpmon.config import loader as configmod
from ndpmon.run.options import DEFAULT_CONFIG, RunOptions
from ndpmon.run.outputs import build_outputs
from ndpmon.store.central import Central, alert_writer, poll, setup
from ndpmon.store.url import require_psycopg, with_store_url

__all__ = ["build_parser", "run"]

log = logging.getLogger("ndpmon")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``ndpmon central``."""
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


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Poll until SIGTERM or SIGINT (or once with ``--once``); 0 when stopped."""
    config = configmod.load(args.config)
    if args.store:
        config = with_store_url(config, args.store)
    store, names = setup(config)
    require_psycopg()
    # alerts.xml only if asked: a central has no neighbour cache to put it beside
    options = RunOptions(config=args.config, quiet=args.quiet, json_alerts=args.json_alerts,
                         alerts_xml=args.alerts_xml, no_alerts_xml=args.alerts_xml is None,
                         verbose=args.verbose)
    actions = build_outputs(options, config)
    writer, origin = alert_writer(store)
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
            seq = _raise(poll(central, store), actions, writer, origin, seq)
            if args.once:
                break
            stop.wait(args.interval)
    finally:
        for action in actions:
            action.stop()
        writer.close()
    log.info("central: %d alerts raised", seq)
    return 0


def _raise(alerts, actions: list[Action], writer, origin: str, seq: int) -> int:
    """Hand the alerts of one poll to the outputs and the store; return the last seq."""
    for alert in alerts:
        seq += 1
        for action in actions:
            action.notify(alert)
        writer.put("alert", [(origin, seq, alert.probe, alert)])
    for action in actions:
        action.flush()
    return seq
