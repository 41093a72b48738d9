"""The web report: the config, the neighbour cache and alerts.xml as static HTML pages.

NDPMon 2.1's webinterface plugin ran libxslt over its files (COMPATIBILITY.md §4.8).
``ndpmon report`` (and the web report plugin, on every cache save) does the same with
our own XSLT 1.0 stylesheets (``ndpmon/data/*.xsl``, linked from ``xsl/``): routers
with their prefixes and parameters, neighbours, alerts newest first, and an index.

The files may be hostile (anyone on the link chooses what lands in them): they are
parsed by :mod:`ndpmon.files.reader` (no network, no DTD, no entities); the stylesheets
escape every value, and may read and write no file while they run. Epoch times are
turned into dates here (ndpmon.commands.reportdates), as ``r:`` attributes on a private
copy of each tree, because XSLT 1.0 has no date functions. The overview's charts
(alerts per hour, neighbours first seen per day) are SVG element trees counted and
drawn by ndpmon.formats.charts from the same trees, numbers only. Each page is
replaced atomically, so a web server never serves half a page.

alerts.xml only grows until it is rotated (issue 15: 1 GB took the monitor to 10.4 GB
when the plugin parsed it whole): only its newest ``MAX_ALERTS`` alerts are parsed, from
at most its last 16 MiB (ndpmon.formats.alertsread.read_newest); the rest is counted a
block at a time. ``--memory-limit`` caps the process's address space, as the webreport
plugin runs it, in a child process.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import time
from dataclasses import dataclass
from typing import Sequence

from lxml import etree

from ndpmon.codec.addr import shorten_addresses
from ndpmon.commands import reportdates as dates
from ndpmon.files import reader as xmlsafe
from ndpmon.files import secure
from ndpmon.files.atomic import write_atomic
from ndpmon.run.options import DEFAULT_CACHE, DEFAULT_CONFIG
from ndpmon.errors import ConfigError, NdpmonError, WriteError
from ndpmon.formats import alertsread, alertsxml, charts

__all__ = ["render", "Report", "run", "build_parser", "MAX_ALERTS"]

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
#: The namespace of the attributes added for the stylesheets.
NS = "urn:ndpmon:report"
#: Alerts shown at most (the newest of the file given; rotated files are not read).
MAX_ALERTS = 10000
#: The pages' mode: a web server (www-data, nginx, http: another account on every
#: distribution) must read them, whoever wrote them (ndpmon's umask is 027). They show
#: what the alerts and the config's routers show, for publication; who may read them
#: is set on their directory (kept as the admin made it) or in the web server.
PAGE_MODE = 0o644

Tree = etree._ElementTree
Element = etree._Element


@dataclass(frozen=True)
class Report:
    """What ``render`` wrote: the pages and the counts shown on the index."""

    out_dir: str
    pages: tuple[str, ...]
    routers: int
    neighbors: int
    alerts: int


@functools.lru_cache(maxsize=None)
def stylesheet(name: str) -> etree.XSLT:
    """A compiled stylesheet of ``ndpmon/data`` (compiled once per process)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.parse(os.path.join(DATA, name), parser)
    return etree.XSLT(doc, access_control=etree.XSLTAccessControl.DENY_ALL)


# -- reading ------------------------------------------------------------------


_LIMITS = {"config_ndpmon": xmlsafe.MAX_CONFIG_BYTES, "neighbors": xmlsafe.MAX_CACHE_BYTES}


def _read(path: str, root: str, required: bool) -> Tree | None:
    """The tree of ``path`` whose root must be ``<root>``; None if it is missing and
    not ``required``.  A blank optional file is an empty document.  Read safely
    (ndpmon.files.reader): a FIFO or a device is refused in one line."""
    try:
        data = xmlsafe.read(path, _LIMITS[root])
    except FileNotFoundError:
        if required:
            raise ConfigError(path, None, "no such file") from None
        return None
    if not data.strip() and root != "config_ndpmon":
        return etree.ElementTree(etree.Element(root))
    tree = xmlsafe.parse(path, data)[0]
    found = tree.getroot()
    if found.tag != root:
        raise ConfigError(path, found.sourceline,
                          f"the root element is <{found.tag}>, not <{root}>")
    return tree


def _mark(element: Element, name: str, value: str) -> None:
    if value:
        element.set(f"{{{NS}}}{name}", value)


# -- preparing the trees ------------------------------------------------------


def _prepare_cache(root: Element) -> int:
    """Add readable dates (and each neighbour's first sight); return the neighbour count."""
    count = 0
    for neighbor in root.iterfind("probe/neighbor"):
        count += 1
        firsts = []
        for address in neighbor.iterfind("addresses/address"):
            first = address.get("firstseen")
            _mark(address, "first", dates.local_date(first))
            _mark(address, "last", dates.local_date(address.get("lastseen")))
            firsts.append(dates.number(first))
        lastseen = neighbor.find("lastseen")
        if lastseen is not None:
            _mark(lastseen, "when", dates.local_date(lastseen.text))
        if firsts and max(firsts) > float("-inf"):
            first = min(f for f in firsts if f > float("-inf"))
            _mark(neighbor, "firstseen", dates.local_date(str(first)))
    return count


@dataclass(frozen=True)
class _AlertCounts:
    total: int
    high: int
    latest: str


def _prepare_alerts(root: Element, limit: int, unread: tuple[int, int]) -> _AlertCounts:
    """Keep the ``limit`` newest alerts, add readable dates and each one's place in
    the file (the order of alerts of the same second); count them all, with the
    ``unread`` (total, high) ones of the file that were counted but not parsed."""
    alerts = root.findall("alert")
    times = [dates.number(alert.findtext("time")) for alert in alerts]
    high = unread[1] + sum(1 for alert in alerts
                           if (alert.findtext("priority") or "").strip() == "2")
    newest = max(times, default=float("-inf"))
    latest = dates.local_date(str(newest)) if newest > float("-inf") else ""
    total = unread[0] + len(alerts)
    if len(alerts) > limit:
        order = sorted(range(len(alerts)), key=lambda i: (times[i], i))
        for i in order[: len(alerts) - limit]:
            root.remove(alerts[i])
    if total > min(limit, len(alerts)):
        root.set(f"{{{NS}}}total", str(total))
    for seq, alert in enumerate(root.iterfind("alert")):
        _mark(alert, "when", dates.local_date(alert.findtext("time")))
        _mark(alert, "seq", str(seq))
        # the message as the IPv6 column shows addresses, without NDPMon's final newline
        _mark(alert, "message", shorten_addresses((alert.findtext("message") or "").strip()))
    return _AlertCounts(total, high, latest)


def _summary(paths: tuple[str, str, str], config: Element, neighbors: int,
             alerts: _AlertCounts, note: str, drawn: list[Element]) -> Tree:
    """The small document index.xsl turns into the front page, with the ``drawn``
    charts (ndpmon.formats.charts)."""
    root = etree.Element("summary")
    values = {
        "config": paths[0], "cache": paths[1],
        "probes": len(config.findall("probes/probe")),
        "routers": len(config.findall("probes/probe/routers/router")),
        "prefixes": len(config.findall("probes/probe/routers/router/prefixes/prefix")),
        "neighbors": neighbors, "note": note,
    }
    for tag, value in values.items():
        etree.SubElement(root, tag).text = str(value)
    element = etree.SubElement(root, "alerts", total=str(alerts.total), high=str(alerts.high),
                               low=str(alerts.total - alerts.high), latest=alerts.latest)
    element.text = paths[2]
    root.extend(drawn)
    return etree.ElementTree(root)


# -- rendering ----------------------------------------------------------------


def render(config_path: str, cache_path: str, alerts_path: str, out_dir: str,
           now: float | None = None, max_alerts: int = MAX_ALERTS,
           store=None) -> Report:
    """Write index.html, config.html, neighbors.html and alerts.html into ``out_dir``.

    A missing alerts file gives a report without alerts and a note saying so; a
    missing or broken config or cache, or an unreadable alerts file, raises
    ConfigError (``file:line: what``) and writes nothing.  ``now`` (default: the
    clock) is the time the pages say they were made.  With a ``store``
    (model.Store), the config's remote probes are read from it (ndpmon.store.remote)
    and the cache may be missing.
    """
    config, cache, (alerts, unread), note = _inputs(config_path, cache_path, alerts_path,
                                                    store, max_alerts)
    neighbors = _prepare_cache(cache.getroot())
    counts = _prepare_alerts(alerts.getroot(), max_alerts, unread)
    drawn = [charts.alert_chart(alerts.getroot(), dates.local_offset, counts.total),
             charts.neighbor_chart(cache.getroot(), dates.local_offset)]
    summary = _summary((config_path, cache_path, alerts_path), config.getroot(), neighbors,
                       counts, note, drawn)
    pages = _pages(config, cache, alerts, summary, note,
                   time.time() if now is None else now)
    _make_dir(out_dir)
    for name, result in pages.items():  # index last: it links to the others
        write_atomic(os.path.join(out_dir, name), bytes(result), mode=PAGE_MODE)
    routers = len(config.getroot().findall("probes/probe/routers/router"))
    return Report(out_dir, tuple(pages), routers, neighbors, counts.total)


def _inputs(config_path: str, cache_path: str, alerts_path: str, store, max_alerts: int):
    """The three trees (config, cache, alerts; the store's remote probes added), the
    (total, high) counts of the alerts of the file left out of its tree, and the note
    the alerts page shows when there is no alerts file.  Of alerts.xml, only the newest
    ``max_alerts`` are parsed (alertsread.read_newest)."""
    config = _read(config_path, "config_ndpmon", required=True)
    cache = _read(cache_path, "neighbors", required=store is None)
    newest = alertsread.read_newest(alerts_path, max_alerts)
    note, unread = "", (0, 0)
    if newest is None:
        note = f"No alerts file {alerts_path}: no alert has been written yet."
        alerts = etree.ElementTree(etree.Element("alerts"))
    else:
        alerts, (shown, high) = newest.tree, alertsread.counts(newest.tree.getroot())
        unread = (newest.total - shown, newest.high - high)
    if cache is None:
        cache = etree.ElementTree(etree.Element("neighbors"))
    assert config is not None
    if store is not None:
        from ndpmon.store.remote import add_remote

        add_remote(store, config.getroot(), cache.getroot(), alerts.getroot(), max_alerts)
        note = ""
    return config, cache, (alerts, unread), note


def _pages(config, cache, alerts, summary, note: str, when: float) -> dict:
    """The four pages, index last, each its stylesheet applied to its tree."""
    params = {
        "generated": etree.XSLT.strparam(dates.local_date(str(when))),
        "timezone": etree.XSLT.strparam(dates.zone_name(when)),
    }
    return {
        "config.html": stylesheet("config.xsl")(config, **params),
        "neighbors.html": stylesheet("neighbor.xsl")(cache, **params),
        "alerts.html": stylesheet("alerts.xsl")(alerts, note=etree.XSLT.strparam(note),
                                                **params),
        "index.html": stylesheet("index.xsl")(summary, **params),
    }


def _make_dir(path: str) -> None:
    """Make the pages' directory (and the missing ones above it) the way every output
    is reached: no link of another account followed, no directory others may write in
    (ndpmon.files.secure; WriteError ``path: ...; refusing to write there``). Those it
    makes are 0755 whatever the umask, like the pages (PAGE_MODE); an existing one is
    left as the admin made it."""
    made, above = [], os.path.abspath(path)
    while not os.path.lexists(above):
        made.append(above)
        above = os.path.dirname(above)
    try:
        os.close(secure.open_dir(path, create=True))
        for folder in made:
            os.chmod(folder, 0o755, follow_symlinks=False)
    except OSError as exc:
        raise WriteError(path, f"cannot create: {exc.strerror or exc}") from None


# -- command line -------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``ndpmon report``."""
    p = argparse.ArgumentParser(
        prog="ndpmon report",
        description="Write the web report (index.html, config.html, neighbors.html, "
                    "alerts.html) from the config, the neighbour cache and alerts.xml.")
    p.add_argument("-f", dest="config", metavar="CONFIG", default=DEFAULT_CONFIG,
                   help=f"config_ndpmon.xml (default {DEFAULT_CONFIG})")
    p.add_argument("-g", dest="cache", metavar="CACHE", default=DEFAULT_CACHE,
                   help=f"neighbour cache neighbor_list.xml (default {DEFAULT_CACHE})")
    p.add_argument("--alerts", metavar="ALERTS",
                   help="alerts.xml (default: alerts.xml beside the cache); a missing "
                        "file is a report without alerts")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="directory for the HTML pages (created if missing)")
    p.add_argument("--memory-limit", metavar="MIB", type=_mebibytes,
                   help="stop with an error rather than use more than MIB MiB of address "
                        "space (the webreport plugin renders this way)")
    p.add_argument("--store", metavar="URL",
                   help="read the config's remote probes from this PostgreSQL store "
                        "(default: the config's <store>, if it has remote probes)")
    return p


def _store(args: argparse.Namespace):
    """The store to read remote probes from: --store, or the config's <store> when the
    config has remote probes; None without either."""
    from ndpmon.config import loader as configmod
    from ndpmon.store.url import with_store_url

    if not args.store:
        try:
            text = xmlsafe.read(args.config, xmlsafe.MAX_CONFIG_BYTES)
        except (OSError, NdpmonError):
            return None  # render() reports the missing or unreadable config
        if b"remote" not in text or b"<store" not in text:
            return None
    config = configmod.load(args.config)
    if args.store:
        config = with_store_url(config, args.store)
    return config.settings.store


def _mebibytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a number of MiB: {text!r}")
    return value


def limit_memory(mib: int) -> None:
    """Cap this process's address space (RLIMIT_AS) at ``mib`` MiB: past it, allocations
    fail (MemoryError) instead of growing into the machine's memory."""
    limit = mib * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """``ndpmon report ...``: 0 (NdpmonError: one line, exit 2, by ndpmon.commands.main)."""
    alerts = args.alerts or alertsxml.beside_cache(args.cache)
    if args.memory_limit:
        limit_memory(args.memory_limit)
    try:
        report = render(args.config, args.cache, alerts, args.out, store=_store(args))
    except MemoryError:
        raise NdpmonError(f"{args.out}: not written: out of memory (over --memory-limit "
                          f"{args.memory_limit} MiB)" if args.memory_limit else
                          f"{args.out}: not written: out of memory") from None
    print(f"ndpmon: wrote {os.path.join(report.out_dir, 'index.html')} ({report.routers} "
          f"routers, {report.neighbors} neighbours, {report.alerts} alerts)", file=sys.stderr)
    return 0
