"""``ndpmon upgrade`` for neighbour caches: NDPMon 1.4's neighbor_list.xml, plain or from the
802.1Q fork, as ndpmon's (NDPMon 2.1's) neighbour caches, one per probe.

1.4's cache (REFERENCE §2.5) has the root ``neighbor_list`` and, per ``<neighbor>``,
``mac[@vendor], lla, time[@timestr], addresses, old_mac`` (the fork puts a ``<vlan_id>``
first; 4095 means untagged). It names no probe: its neighbours belong to the interface
given with ``-i``, a VLAN's to the probe ``<interface>.<vlan>``, as
ndpmon.config.upgrade14 names the VLANs' probes. ``time`` is the last time seen, and the
first MAC, which 1.4 did not save, is the oldest of the old MACs (1.4 appended them in
order), or the current one. Pure: bytes in, caches out; the command writes them with
ndpmon.formats.cache.save_cache.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from lxml import etree

from ndpmon.codec.addr import UNSPECIFIED
from ndpmon.config import values as convert
from ndpmon.errors import ConfigError
from ndpmon.files import reader as xmlsafe
from ndpmon.state.neighbors import Address, Neighbor, NeighborCache

__all__ = ["CacheResult", "upgrade_cache", "old_cache_hint", "UNTAGGED"]

Element = etree._Element
T = TypeVar("T")
UNTAGGED = 4095
#: Caps as high as a file can need: every neighbour of the old file is kept.
_NO_CAP = 10**9


@dataclass
class CacheResult:
    """What the input was, the caches by probe name (None: nothing to convert), changes."""

    kind: str
    caches: dict[str, NeighborCache] | None = None
    changes: list[str] = field(default_factory=list)


def upgrade_cache(path: str, data: bytes, iface: str | None) -> CacheResult:
    """Convert the cache ``data`` read from ``path`` for interface ``iface``."""
    tree, _ = xmlsafe.parse(path, data)
    root = tree.getroot()
    for node in root.iter(etree.Entity):
        raise ConfigError(path, node.sourceline, f"entity reference "
                                                 f"{convert.quote(node.text)} is not allowed")
    if root.tag == "neighbors":
        return CacheResult("neighbour cache in ndpmon's format (NDPMon 2.1's)")
    if root.tag == "config_neighbor_list" and root.find("neighbor_list") is not None:
        root = root.find("neighbor_list")  # what 1.4's own DTD declares as the root
    if root.tag != "neighbor_list":
        raise ConfigError(path, root.sourceline, f"the root element is <{root.tag}>: not a "
                                                 "neighbour cache of ndpmon or NDPMon")
    fork = root.find("neighbor/vlan_id") is not None
    kind = "NDPMon 1.4 (802.1Q fork) neighbour cache" if fork else "NDPMon 1.4 neighbour cache"
    if not iface:
        raise ConfigError(path, None, f"{kind}: it names no interface; give the one NDPMon "
                                      "listened on with -i IFACE")
    caches: dict[str, NeighborCache] = {iface: NeighborCache(_NO_CAP, _NO_CAP)}
    reader = _Reader(path)
    for element in root.iterchildren("neighbor"):
        vlan, neighbor = reader.neighbor(element)
        name = iface if vlan == UNTAGGED else f"{iface}.{vlan}"
        caches.setdefault(name, NeighborCache(_NO_CAP, _NO_CAP)).insert(neighbor)
    return CacheResult(kind, caches, _changes(caches, fork))


def _changes(caches: dict[str, NeighborCache], fork: bool) -> list[str]:
    lines = [f"{len(cache)} neighbour{'s' * (len(cache) != 1)} → <probe name=\"{name}\">"
             for name, cache in caches.items()]
    if fork:
        lines.append("each VLAN's neighbours go to the probe <interface>.<vlan>, as "
                     "`ndpmon upgrade` names the VLANs' probes in the config")
    lines.append("<time> → <lastseen>; <old_mac> → <old_macs>; <first_mac_seen>, which "
                 "NDPMon 1.4 did not save: the oldest old MAC, else the current one")
    return lines


class _Reader:
    """1.4's ``<neighbor>`` elements as Neighbor objects; errors name file and line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def text(self, element: Element | None, what: str) -> str:
        if element is None:
            raise ConfigError(self.path, None, f"<neighbor>: missing <{what}>")
        return "".join(element.itertext()).strip()

    def value(self, element: Element | None, tag: str, conv: Callable[[str], T]) -> T:
        try:
            return conv(self.text(element, tag))
        except ValueError as exc:
            line = None if element is None else element.sourceline
            raise ConfigError(self.path, line, f"<{tag}>: {exc}") from None

    def neighbor(self, element: Element) -> tuple[int, Neighbor]:
        vlan_el = element.find("vlan_id")
        vlan = UNTAGGED if vlan_el is None else self.value(vlan_el, "vlan_id", _vlan)
        mac_el = element.find("mac")
        if mac_el is None:
            raise ConfigError(self.path, element.sourceline, "<neighbor>: missing <mac>")
        mac = self.value(mac_el, "mac", convert.mac)
        lla = element.find("lla")
        seen = element.find("time")
        nb = Neighbor(mac, UNSPECIFIED if lla is None else self.value(lla, "lla", convert.ipv6),
                      0 if seen is None else self.value(seen, "time", _time))
        nb.vendor = mac_el.get("vendor") or None
        for child in element.iterfind("addresses/address"):
            addr = self.value(child, "address", convert.ipv6)
            last = self.value_attr(child, "lastseen", nb.lastseen)
            nb.addresses[addr] = Address(addr, self.value_attr(child, "firstseen", last), last)
        for child in element.iterfind("old_mac/mac"):
            old = self.value(child, "mac", convert.mac)
            if old not in nb.old_macs:
                nb.old_macs += (old,)
            if child.get("last") == "true":
                nb.previous_mac = old
        nb.first_mac_seen = nb.old_macs[0] if nb.old_macs else mac
        return vlan, nb

    def value_attr(self, element: Element, name: str, default: int) -> int:
        raw = element.get(name)
        if raw is None:
            return default
        try:
            return _time(raw)
        except ValueError as exc:
            raise ConfigError(self.path, element.sourceline,
                              f"<{element.tag} {name}>: {exc}") from None


def _vlan(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= UNTAGGED):
        raise ValueError(f"not a VLAN number (1-4094, or 4095: untagged): "
                         f"{convert.quote(text)}")
    return int(text)


def _time(text: str) -> int:
    """A Unix time as 1.4 wrote it (``%d``)."""
    value = text.strip()
    digits = value[1:] if value.startswith("-") else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19):
        raise ValueError(f"not a number: {convert.quote(value)}")
    return int(value)


def old_cache_hint(path: str, root: Element, events: Iterator[tuple[str, Element]]) -> str:
    """The hint for NDPMon 1.4's cache (root ``neighbor_list``; REFERENCE §2.5), when
    ``root`` is its root: the command that converts it. ``events`` (the loader's parser,
    just after the root's start) are read on to tell the 802.1Q fork's."""
    if root.tag not in ("neighbor_list", "config_neighbor_list"):
        return ""
    fork = " of the 802.1Q fork" if _has_vlan_id(events) else ""
    return (f" (the NDPMon 1.4 format{fork}: convert it with `ndpmon upgrade "
            f"{shlex.quote(path)} -i IFACE -o NEW.xml`)")


def _has_vlan_id(events: Iterator[tuple[str, Element]]) -> bool:
    """Whether the first ``<neighbor>`` of an NDPMon 1.4 cache, read from ``events``
    (just after its root's start), has the 802.1Q fork's ``<vlan_id>``."""
    depth = 0
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 2 and element.tag == "vlan_id":
                    return True
            elif depth == 1:  # the first neighbour ended
                return False
            else:
                depth -= 1
    except ConfigError:  # broken further on: the root is the error to report
        pass
    return False
