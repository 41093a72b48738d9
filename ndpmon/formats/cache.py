"""Read and write neighbor_list.xml, the neighbour cache NDPMon keeps between runs.

The format is NDPMon 2.1's (COMPATIBILITY.md §4.6) byte for byte, so either program can
read the other's file.  The original crashed on a missing or empty file, on a
``<mac>`` without ``vendor`` and on missing time attributes, and rewrote the file
in place; here those cases load sensibly, every real problem is a one-line
ConfigError with file and line, and saving is atomic (temporary file, fsync,
rename), so a crash leaves either the old cache or the new one.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import TypeVar

from lxml import etree

from ndpmon.config import values as convert
from ndpmon.files import reader as xmlsafe
from ndpmon.files.atomic import write_atomic
from ndpmon.files.text import xml_escape
from ndpmon.errors import ConfigError
from ndpmon.codec.addr import UNSPECIFIED, ip_short, mac_str
from ndpmon.state.neighbors import Address, Neighbor, NeighborCache

__all__ = ["load_cache", "save_cache", "Kept", "adopt"]

log = logging.getLogger("ndpmon")

HEADER = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    '<?xml-stylesheet type="text/xsl" href="neighbor.xsl"?>\n'
    '<!DOCTYPE neighbors SYSTEM "neighbor_list.dtd">\n'
)
_ZERO_MAC = bytes(6)
_LAST = ' last="true"'
_NEIGHBOR_CHILDREN = frozenset(
    ["mac", "first_mac_seen", "lla", "lastseen", "addresses", "old_macs"]
)
Element = etree._Element
T = TypeVar("T")


# -- loading ------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """A ``<probe>`` of the file that the config does not have (an interface renamed,
    eth0 to enp3s0): checked, then kept as XML text and written back as it was at every
    save, so that naming the probe back brings its neighbours back (issue 17)."""

    name: str
    neighbors: int
    xml: str


def load_cache(
    path: str, caches: dict[str, NeighborCache], remote: Set[str] = frozenset(),
    kept: list[Kept] | None = None,
) -> None:
    """Add the neighbours saved in ``path`` to the per-probe ``caches``.

    A missing or empty file is an empty cache (the file is created at save).
    Entries of probes named in ``remote`` are skipped. A probe name that is not a key
    of ``caches`` is appended to ``kept`` with a warning, or, without ``kept``, an
    error.  Raises ConfigError on the first problem.
    """
    try:
        data = xmlsafe.read(path, xmlsafe.MAX_CACHE_BYTES)
    except FileNotFoundError:
        return
    if not data.strip():
        return
    before = 0 if kept is None else len(kept)
    _Reader(path).load(_parse(path, data), caches, remote, kept)
    if kept is not None and len(kept) > before:
        _warn_kept(path, kept[before:])


def _warn_kept(path: str, kept: Sequence[Kept]) -> None:
    count = sum(k.neighbors for k in kept)
    names = ", ".join(k.name for k in kept)
    log.warning("%s: %d neighbour%s of probe%s %s, which the config does not have: kept "
                "in the file as they are (give a probe that name again to use them)", path,
                count, "s" * (count != 1), "s" * (len(kept) > 1), names)


def adopt(kept: Sequence[Kept], caches: Mapping[str, NeighborCache],
          path: str) -> list[Kept]:
    """Load the kept probes the config has again (a reload) into ``caches``; the others."""
    rest = []
    for entry in kept:
        if entry.name in caches:
            probe = xmlsafe.parse(path, entry.xml.encode("utf-8"))[0].getroot()
            _Reader(path).probe(probe, caches[entry.name])
        else:
            rest.append(entry)
    return rest


def _parse(path: str, data: bytes) -> Element:
    """The root element; lxml never reads a DTD, an entity or a URL."""
    return xmlsafe.parse(path, data)[0].getroot()


def _elements(parent: Element) -> Iterator[Element]:
    """The child elements of ``parent``, skipping comments and PIs."""
    return (child for child in parent if isinstance(child.tag, str))


class _Reader:
    """Turns the tree into Neighbor objects; every error names file, line, element."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, element: Element, what: str) -> ConfigError:
        return ConfigError(self.path, element.sourceline, what)

    def load(
        self, root: Element, caches: dict[str, NeighborCache], remote: Set[str],
        kept: list[Kept] | None = None,
    ) -> None:
        if root.tag != "neighbors":
            raise self.error(root, f"the root element is <{root.tag}>, not <neighbors>"
                                   f"{_old_format(self.path, root)}")
        for node in root.iter(etree.Entity):  # never expanded: refuse, don't misread
            message = f"entity reference {convert.quote(node.text)} is not allowed"
            raise self.error(node, message)
        for probe in _elements(root):
            if probe.tag != "probe":
                raise self.error(probe, f"<neighbors>: unexpected <{probe.tag}>")
            name = probe.get("name")
            if name is None:
                raise self.error(probe, "<probe name>: missing value")
            if name in remote:
                continue
            if name in caches:
                self.probe(probe, caches[name])
            elif kept is not None:
                self.probe(probe, NeighborCache(0, 1))  # checked, not kept in memory twice
                xml = etree.tostring(probe, encoding="unicode", with_tail=False)
                kept.append(Kept(name, len(probe.findall("neighbor")), xml))
            else:
                message = f"<probe name={_quoted(name)}>: no such probe in the config"
                raise self.error(probe, message)

    def probe(self, probe: Element, cache: NeighborCache) -> None:
        for child in _elements(probe):
            if child.tag == "neighbor":
                cache.insert(self.neighbor(child))
            elif child.tag != "address":  # the interface's own addresses
                raise self.error(child, f"<probe>: unexpected <{child.tag}>")

    def children(self, element: Element) -> dict[str, Element]:
        """The children of a ``<neighbor>`` by tag; unknown or repeated ones are errors."""
        found: dict[str, Element] = {}
        for child in _elements(element):
            if child.tag not in _NEIGHBOR_CHILDREN:
                raise self.error(child, f"<neighbor>: unexpected <{child.tag}>")
            if child.tag in found:
                raise self.error(child, f"<neighbor>: more than one <{child.tag}>")
            found[child.tag] = child
        return found

    def neighbor(self, element: Element) -> Neighbor:
        parts = self.children(element)
        first = parts.get("first_mac_seen")
        # The mherrb fork may omit <mac> (COMPATIBILITY.md §7.15): first_mac_seen is the best guess.
        mac_el = parts.get("mac", first)
        if mac_el is None:
            raise self.error(element, "<neighbor>: missing <mac>")
        mac = self.value(mac_el, convert.mac)
        lla = parts.get("lla")
        seen = parts.get("lastseen")
        nb = Neighbor(
            mac,
            UNSPECIFIED if lla is None else self.value(lla, convert.ipv6),
            0 if seen is None else self.value(seen, _timestamp),
        )
        nb.vendor = mac_el.get("vendor") or None
        nb.first_mac_seen = mac if first is None else self.value(first, convert.mac)
        if "addresses" in parts:
            self.addresses(parts["addresses"], nb)
        if "old_macs" in parts:
            self.old_macs(parts["old_macs"], nb)
        return nb

    def addresses(self, element: Element, nb: Neighbor) -> None:
        for child in self.only(element, "address"):
            addr = self.value(child, convert.ipv6)
            lastseen = self.attr(child, "lastseen", nb.lastseen)
            firstseen = self.attr(child, "firstseen", lastseen)
            nb.addresses[addr] = Address(addr, firstseen, lastseen)

    def old_macs(self, element: Element, nb: Neighbor) -> None:
        for child in self.only(element, "mac"):
            mac = self.value(child, convert.mac)
            if mac not in nb.old_macs:
                nb.old_macs += (mac,)
            if child.get("last") == "true":
                nb.previous_mac = mac

    def only(self, element: Element, tag: str) -> Iterator[Element]:
        """The children of ``element``, which must all be ``<tag>``."""
        for child in _elements(element):
            if child.tag != tag:
                raise self.error(child, f"<{element.tag}>: unexpected <{child.tag}>")
            yield child

    def value(self, element: Element, convert_: Callable[[str], T]) -> T:
        try:
            return convert_(element.text or "")
        except ValueError as exc:
            raise self.error(element, f"<{element.tag}>: {exc}") from None

    def attr(self, element: Element, name: str, default: float) -> float:
        raw = element.get(name)
        if raw is None:
            return default
        try:
            return _timestamp(raw)
        except ValueError as exc:
            raise self.error(element, f"<{element.tag} {name}>: {exc}") from None


def _old_format(path: str, root: Element) -> str:
    """The hint for NDPMon 1.4's cache (root ``neighbor_list``; REFERENCE §2.5)."""
    if root.tag not in ("neighbor_list", "config_neighbor_list"):
        return ""
    fork = " of the 802.1Q fork" if root.find(".//neighbor/vlan_id") is not None else ""
    return (f" (the NDPMon 1.4 format{fork}: convert it with `ndpmon upgrade "
            f"{shlex.quote(path)} -i IFACE -o NEW.xml`)")


def _quoted(text: str) -> str:
    return '"' + convert.quote(text)[1:-1] + '"'


def _timestamp(text: str) -> int:
    """A Unix time as NDPMon writes it (``%i``, so possibly negative)."""
    value = text.strip()
    digits = value[1:] if value.startswith("-") else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19):
        raise ValueError(f"not a number: {convert.quote(value)}")
    return int(value)


# -- saving -------------------------------------------------------------------


def save_cache(
    path: str,
    caches: Mapping[str, NeighborCache],
    probe_macs: Mapping[str, bytes] | None = None,
    probe_addresses: Mapping[str, list[bytes]] | None = None,
    kept: Sequence[Kept] = (),
) -> None:
    """Write every probe of ``caches`` to ``path`` atomically, as NDPMon 2.1 did, then
    the ``kept`` ones as they were read.

    ``probe_macs`` and ``probe_addresses`` are each interface's MAC and IPv6
    addresses (all-zero MAC and none when unknown, e.g. for a pcap file).
    Raises WriteError (``path: cannot write: ...``) if the OS refuses.
    """
    text = _render(caches, probe_macs or {}, probe_addresses or {}, kept)
    write_atomic(path, text.encode("iso-8859-1", "xmlcharrefreplace"))


def _render(
    caches: Mapping[str, NeighborCache],
    probe_macs: Mapping[str, bytes],
    probe_addresses: Mapping[str, list[bytes]],
    kept: Sequence[Kept] = (),
) -> str:
    """The whole file as text, laid out as libxml2's ``xmlSaveFormatFile`` does."""
    probes = [
        _probe(name, cache, probe_macs.get(name), probe_addresses.get(name, ()))
        for name, cache in caches.items()
    ] + [f"  {entry.xml}\n" for entry in kept]
    if not probes:
        return HEADER + "<neighbors/>\n"
    return HEADER + "<neighbors>\n" + "".join(probes) + "</neighbors>\n"


def _probe(
    name: str, cache: NeighborCache, mac: bytes | None, addresses: Iterable[bytes]
) -> str:
    start = f'  <probe name="{xml_escape(name, True)}" mac="{mac_str(mac or _ZERO_MAC)}"'
    body = [f"    <address>{ip_short(addr)}</address>\n" for addr in addresses]
    body.extend(_neighbor(nb) for nb in cache)
    if not body:
        return start + "/>\n"
    return start + ">\n" + "".join(body) + "  </probe>\n"


def _ctime(when: float) -> str:
    """``ctime()`` with its newline, as an attribute value (``...&#10;``)."""
    try:
        return xml_escape(time.ctime(int(when)) + "\n", True)
    except (OverflowError, ValueError, OSError):  # a time no calendar can show
        return ""


def _block(tag: str, lines: list[str]) -> str:
    """``<tag>`` holding ``lines`` at neighbour-child depth, or ``<tag/>``."""
    if not lines:
        return f"      <{tag}/>\n"
    return f"      <{tag}>\n" + "".join(lines) + f"      </{tag}>\n"


def _neighbor(nb: Neighbor) -> str:
    vendor = f' vendor="{xml_escape(nb.vendor, True)}"' if nb.vendor else ""
    addresses = [
        f'        <address firstseen="{int(a.firstseen)}" firstseenstr="{_ctime(a.firstseen)}"'
        f' lastseen="{int(a.lastseen)}" lastseenstr="{_ctime(a.lastseen)}">'
        f"{ip_short(a.addr)}</address>\n"
        for a in nb.addresses.values()
    ]
    old_macs = [
        f"        <mac{_LAST if mac == nb.previous_mac else ''}>{mac_str(mac)}</mac>\n"
        for mac in nb.old_macs
    ]
    return (
        "    <neighbor>\n"
        f"      <mac{vendor}>{mac_str(nb.mac)}</mac>\n"
        f"      <first_mac_seen>{mac_str(nb.first_mac_seen)}</first_mac_seen>\n"
        f"      <lla>{ip_short(nb.lla)}</lla>\n"
        f'      <lastseen lastseenstr="{_ctime(nb.lastseen)}">{int(nb.lastseen)}</lastseen>\n'
        + _block("addresses", addresses)
        + _block("old_macs", old_macs)
        + "    </neighbor>\n"
    )
