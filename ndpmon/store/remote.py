"""The remote probes of a central config, read from the store into the report's trees.

A central instance lists the probes of other hosts as ``<probe name="host/eth0"
type="remote"/>`` (NDPMon's name for them, COMPATIBILITY.md §6.7). ``ndpmon report`` asks the
store for their routers, neighbours and alerts and adds them to the same three trees it
reads from the files, in the files' own formats (the routers as config ``<router>``
elements, the neighbours as neighbor_list.xml writes them, the alerts as alerts.xml
does), so the same stylesheets render every probe.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ndpmon.formats import alertsxml
from ndpmon.formats import cache as cachefile
from ndpmon.files import reader as xmlsafe
from ndpmon.config.model import Store
from ndpmon.store import read

__all__ = ["remote_names", "add_remote"]

Element = etree._Element


def remote_names(config_root: Element) -> list[str]:
    """The names of the config's ``<probe type="remote">``."""
    return [p.get("name", "") for p in config_root.iterfind("probes/probe")
            if (p.get("type") or "").strip() == "remote" and p.get("name")]


def add_remote(store: Store, config: Element, cache: Element, alerts: Element,
               max_alerts: int) -> int:
    """Add the remote probes' routers to ``config``, neighbours to ``cache`` and
    alerts to ``alerts``; return how many remote probes the store had data for."""
    names = remote_names(config)
    if not names:
        return 0
    conn = read.open_reader(store)
    try:
        routers = read.routers(conn, names)
        caches = read.neighbors(conn, probes=names)
        found = read.alerts(conn, probes=names, limit=max_alerts)
        known = {name for name, _, _ in read.probes(conn)}
    finally:
        conn.close()
    _add_routers(config, routers)
    _add_neighbors(cache, names, caches)
    for element in _parse("store alerts", alertsxml.document(found)):
        alerts.append(element)
    return len(known & set(names))


def _parse(what: str, text: str) -> Element:
    return xmlsafe.parse(what, text.encode("utf-8"))[0].getroot()


def _add_routers(config: Element, routers: dict[str, list[str]]) -> None:
    for probe in config.iterfind("probes/probe"):
        xml = routers.get(probe.get("name", ""))
        if not xml or (probe.get("type") or "").strip() != "remote":
            continue
        old = probe.find("routers")
        if old is not None:
            probe.remove(old)
        block = _parse("store routers", "<routers>" + "".join(xml) + "</routers>")
        after = probe.find("countermeasures_enabled")
        probe.insert(0 if after is None else probe.index(after) + 1, block)


def _add_neighbors(cache: Element, names: list[str], caches: dict[str, Any]) -> None:
    for probe in cache.findall("probe"):
        if probe.get("name") in names:  # the store is the truth about remote probes
            cache.remove(probe)
    ordered = {name: caches[name] for name in names if name in caches}
    if ordered:
        for probe in _parse("store neighbours", cachefile._render(ordered, {}, {})):
            cache.append(probe)
