"""``ndpmon query``: where and when was a MAC or an address seen, and which alerts name it.

The questions an admin asks during an incident, answered from the PostgreSQL store
(every probe that writes there, with its history) when ``<store>`` or ``--store`` is
set, else from this host's files (the neighbour cache ``-g`` and ``alerts.xml``):

    ndpmon query mac 00:11:22:33:44:55     # neighbours that have (or had) it, alerts naming it
    ndpmon query ip 2001:db8::1             # who holds (or held) the address, alerts naming it
    ndpmon query since 2h                   # neighbours seen and alerts raised since then

Both sources give the same objects (``state.Neighbor``, ``alert.Alert``) to the same
filters and the same printer below. Exit code 0 when something was found, 1 when
nothing was, 2 on an error (one line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

from ndpmon.formats import cache as cachefile
from ndpmon.config import values as convert
from ndpmon.files import reader as xmlsafe
from ndpmon.files.text import printable
from ndpmon.formats import alertsread, alertsxml
from ndpmon.run.options import DEFAULT_CACHE, DEFAULT_CONFIG
from ndpmon.checks.alert import Alert
from ndpmon.errors import NdpmonError
from ndpmon.codec.addr import UNSPECIFIED, ip_full, ip_short, mac_str
from ndpmon.state.neighbors import Neighbor, NeighborCache

__all__ = ["Findings", "by_mac", "by_ip", "since", "parse_time", "load_files",
           "format_findings", "answer", "run", "build_parser"]

Seen = list[tuple[str, Neighbor]]


@dataclass(frozen=True)
class Findings:
    """Neighbours (with their probe) and alerts that answer a question."""

    neighbors: Seen
    alerts: list[Alert]

    def __bool__(self) -> bool:
        return bool(self.neighbors or self.alerts)


# -- the questions (pure) ---------------------------------------------------------------


def _tokens(message: str) -> set[str]:
    return set(message.replace(",", " ").replace("(", " ").replace(")", " ").split())


def by_mac(neighbors: Seen, alerts: Iterable[Alert], mac: bytes) -> Findings:
    """Neighbours whose current, first or an old MAC is ``mac``; alerts naming it."""
    text = mac_str(mac)
    return Findings(
        [(p, nb) for p, nb in neighbors
         if mac == nb.mac or mac == nb.first_mac_seen or mac in nb.old_macs],
        [a for a in alerts if mac in (a.mac, a.mac2) or text in _tokens(a.message)])


def by_ip(neighbors: Seen, alerts: Iterable[Alert], addr: bytes) -> Findings:
    """Neighbours with ``addr`` as link-local or global address; alerts naming it."""
    texts = {ip_short(addr), ip_full(addr)}
    return Findings(
        [(p, nb) for p, nb in neighbors if addr == nb.lla or addr in nb.addresses],
        [a for a in alerts if a.ipv6 == addr or texts & _tokens(a.message)])


def since(neighbors: Seen, alerts: Iterable[Alert], when: float) -> Findings:
    """Neighbours last seen at ``when`` or later; alerts raised then or later."""
    return Findings([(p, nb) for p, nb in neighbors if nb.lastseen >= when],
                    [a for a in alerts if a.time >= when])


def parse_time(text: str, now: float) -> float:
    """``2h`` / ``30m`` / ``7d`` / ``90s`` ago, an ISO date or time (local unless it says
    otherwise: ``2026-01-01``, ``2026-01-01 12:00``, ``...T12:00:00Z``), or ``@EPOCH``."""
    value = text.strip()
    unit = convert.DURATION_UNITS.get(value[-1:].lower())
    if value[:1] == "@":
        try:
            return float(value[1:])
        except ValueError:
            pass
    elif unit and value[:-1].replace(".", "", 1).isdigit():
        return now - float(value[:-1]) * unit
    else:
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise ValueError(f"not a time: {value!r} (e.g. 2h, 7d, 2026-01-01 12:00, @1767225600)")


# -- the files ---------------------------------------------------------------------------


def load_files(cache_path: str, alerts_path: str) -> tuple[Seen, list[Alert]]:
    """The neighbours of a neighbor_list.xml and the alerts of an alerts.xml (either
    may be missing: nothing from it)."""
    neighbors: Seen = []
    names = _probe_names(cache_path)
    if names:
        caches = {name: NeighborCache(10**9, 10**9) for name in names}
        cachefile.load_cache(cache_path, caches)
        neighbors = [(name, nb) for name, cache in caches.items() for nb in cache]
    return neighbors, alertsread.read_alerts(alerts_path)


def _probe_names(path: str) -> list[str]:
    try:
        data = xmlsafe.read(path, xmlsafe.MAX_CACHE_BYTES)
    except FileNotFoundError:
        return []
    if not data.strip():
        return []
    root = xmlsafe.parse(path, data)[0].getroot()
    return list(dict.fromkeys(p.get("name") for p in root.iterfind("probe") if p.get("name")))


#: How to get neighbours seen in the last minute: the cache (and the store's neighbour
#: rows) are written at each save, every 60 s while frames arrive, at exit and on SIGUSR1.
FRESH = "a running ndpmon writes them now on SIGUSR1 (e.g. systemctl kill -s USR1 ndpmon)"


def file_age(path: str, now: float) -> str:
    """How old the cache file is, and how to get a fresher one: a running ndpmon writes
    it every 60 s while frames arrive, so a host seen since is not in it yet."""
    try:
        written = os.stat(path).st_mtime
    except OSError:
        return "missing"
    age = max(now - written, 0.0)
    if age < 120:
        ago = f"{age:.0f} s"
    elif age < 7200:
        ago = f"{age // 60:.0f} min"
    elif age < 2 * 86400:
        ago = f"{age // 3600:.0f} h"
    else:
        ago = f"{age // 86400:.0f} days"
    return f"written {ago} ago, {_date(written)}: hosts seen since are not in it; {FRESH}"


# -- output ------------------------------------------------------------------------------


def _date(when: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
    except (ValueError, OverflowError, OSError):
        return "?"


def format_findings(found: Findings, limit: int) -> list[str]:
    """The answer as text lines: neighbours first, then alerts, then a count."""
    lines: list[str] = []
    for probe, nb in found.neighbors[:limit]:
        lla = "" if nb.lla == UNSPECIFIED else f" lla {ip_short(nb.lla)}"
        lines.append(f"neighbour {probe} {mac_str(nb.mac)}{lla} last seen "
                     f"{_date(nb.lastseen)}")
        if nb.first_mac_seen != nb.mac or nb.old_macs:
            old = " ".join(mac_str(m) for m in nb.old_macs) or "none"
            lines.append(f"  first MAC {mac_str(nb.first_mac_seen)}, old MACs {old}")
        for a in nb.addresses.values():
            lines.append(f"  {ip_short(a.addr)} first seen {_date(a.firstseen)}, "
                         f"last seen {_date(a.lastseen)}")
    for alert in found.alerts[-limit:]:  # the store's text is the packet's: printable
        lines.append(f"alert {_date(alert.time)} {printable(alert.probe)} "
                     f"{alert.priority.label} {printable(alert.reason)}: "
                     f"{printable(alert.message.rstrip())}")
    n, m = len(found.neighbors), len(found.alerts)
    cut = " (the first/last --limit of each shown)" if max(n, m) > limit else ""
    lines.append(f"{n} neighbour{'s' * (n != 1)}, {m} alert{'s' * (m != 1)}{cut}")
    return lines


# -- command line ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``ndpmon query``."""
    p = argparse.ArgumentParser(
        prog="ndpmon query",
        description="Where and when was a MAC or an address seen, and which alerts name "
                    "it: from the PostgreSQL store if the config has <store> (or --store "
                    "is given), else from the neighbour cache and alerts.xml.")
    p.add_argument("what", choices=("mac", "ip", "since"))
    p.add_argument("value", help="a MAC, an IPv6 address, or a time (2h, 7d, "
                                 "2026-01-01 12:00, @EPOCH)")
    p.add_argument("-f", dest="config", metavar="CONFIG", default=DEFAULT_CONFIG,
                   help=f"config_ndpmon.xml, for its <store> (default {DEFAULT_CONFIG}; "
                        "ignored if missing)")
    p.add_argument("-g", dest="cache", metavar="CACHE", default=DEFAULT_CACHE,
                   help=f"neighbor_list.xml without a store (default {DEFAULT_CACHE})")
    p.add_argument("--alerts", metavar="ALERTS",
                   help="alerts.xml without a store (default: beside the cache)")
    p.add_argument("--store", metavar="URL", help="the PostgreSQL store to ask")
    p.add_argument("--files", action="store_true",
                   help="ask the files (-g, --alerts), not the store; the config is not read")
    p.add_argument("--limit", type=int, default=1000, metavar="N",
                   help="show at most N neighbours and N alerts (default 1000)")
    return p


def _question(args: argparse.Namespace):
    """(filter function, its argument) for ``what value``; ValueError for a bad value."""
    if args.what == "mac":
        return by_mac, convert.mac(args.value)
    if args.what == "ip":
        return by_ip, convert.ipv6(args.value)
    return since, parse_time(args.value, time.time())


def _store_of(args: argparse.Namespace, explicit_config: bool):
    """The store to ask (``--store`` over ``<store>``), or None for the files."""
    from ndpmon.config import loader as configmod
    from ndpmon.config.model import Config, Store
    from ndpmon.store.url import with_store_url

    if args.files:
        return None
    config = None
    if explicit_config or os.path.exists(args.config):
        config = configmod.load(args.config)
    if args.store:
        return with_store_url(config or Config(args.config), args.store).settings.store
    if config is None:
        return None
    store: Store | None = config.settings.store
    return store


def answer(args: argparse.Namespace, explicit_config: bool) -> tuple[Findings, str]:
    """Answer the question; also say where the answer came from."""
    try:
        func, value = _question(args)
    except ValueError as exc:
        raise NdpmonError(f"query {args.what}: {exc}") from None
    store = _store_of(args, explicit_config)
    if store is None:
        alerts_path = args.alerts or alertsxml.beside_cache(args.cache)
        neighbors, alerts = load_files(args.cache, alerts_path)
        where = f"{args.cache} ({file_age(args.cache, time.time())}), {alerts_path}"
        return func(neighbors, alerts, value), where
    from ndpmon.store.query import ask

    neighbors, alerts = ask(store, args.what, value)
    where = (f"store {store.url}; its neighbours are those of each ndpmon's last cache "
             f"save (every 60 s): {FRESH}")
    return func(neighbors, alerts, value), where


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """``ndpmon query ...``: 0 found, 1 nothing (NdpmonError: one line, exit 2, by
    ndpmon.commands.main)."""
    explicit = any(a == "-f" or a.startswith("-f") for a in argv)
    found, where = answer(args, explicit)
    for line in format_findings(found, max(args.limit, 1)):
        print(line)
    print(f"(from {where})", file=sys.stderr)
    return 0 if found else 1
