"""Read and write neighbor_list.xml, the neighbour cache NDPMon keeps between runs.

The format is NDPMon 2.1's (COMPATIBILITY.md §4.6) byte for byte, so either program can
read the other's file.  The original crashed on a missing or empty file, on a
``<mac>`` without ``vendor`` and on missing time attributes, and rewrote the file
in place; here those cases load sensibly, every real problem is a one-line
ConfigError with file and line, and saving is atomic (temporary file, fsync,
rename), so a crash leaves either the old cache or the new one.

A flood fills the cache to its caps (by default 100,000 neighbours of 16 addresses: a
file of about 320 MB, issue 15), so neither direction holds the whole file: this module
loads it a block at a time and stops at the caps; ndpmon.formats.cachewrite saves it
from a snapshot, a chunk at a time (its names are re-exported here). A probe the config
does not have is kept as its text and written back (ndpmon.formats.cachekept).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from typing import BinaryIO, TypeVar

from lxml import etree

from ndpmon.config import values as convert
from ndpmon.files import reader as xmlsafe
from ndpmon.errors import ConfigError
from ndpmon.codec.addr import UNSPECIFIED
from ndpmon.formats.cachekept import KeptProbe, warn_kept
from ndpmon.formats.cacheupgrade import old_cache_hint
from ndpmon.formats.cachewrite import (HEADER, Kept, SaveCancelled, Snapshot,  # noqa: F401
                                       _render, save_cache, snapshot, write_snapshot)
from ndpmon.state.neighbors import Address, Neighbor, NeighborCache

__all__ = ["load_cache", "save_cache", "snapshot", "write_snapshot", "Snapshot",
           "SaveCancelled", "Kept", "adopt"]

_NEIGHBOR_CHILDREN = frozenset(
    ["mac", "first_mac_seen", "lla", "lastseen", "addresses", "old_macs"]
)
Element = etree._Element
T = TypeVar("T")
log = logging.getLogger("ndpmon")


# -- loading ------------------------------------------------------------------


def load_cache(
    path: str, caches: dict[str, NeighborCache], remote: Set[str] = frozenset(),
    kept: list[Kept] | None = None,
) -> None:
    """Add the neighbours saved in ``path`` to the per-probe ``caches``.

    A missing or empty file is an empty cache (the file is created at save).
    Entries of probes named in ``remote`` are skipped. A probe name that is not a key
    of ``caches`` is appended to ``kept`` with a warning, or, without ``kept``, an
    error.  Raises ConfigError on the first problem.

    The file is parsed a block at a time (ndpmon.files.reader.iterparse) and each
    neighbour is dropped from the tree once it is in its cache, so a restart's memory
    is that of the caches, whatever the file holds: past a probe's caps
    (``<limits>``) neighbours and addresses are left out, counted as evicted, and
    logged in one line.
    """
    try:
        file = xmlsafe.open_regular(path, xmlsafe.MAX_CACHE_BYTES)
    except FileNotFoundError:
        return
    with file:
        if _blank(file):
            return
        reader = _Reader(path, caches, remote, kept)
        reader.load(xmlsafe.iterparse(path, file))
    reader.log_left_out()
    if reader.kept is not None and len(reader.kept) > reader.kept_before:
        warn_kept(path, reader.kept[reader.kept_before:])


def adopt(kept: Sequence[Kept], caches: dict[str, NeighborCache], path: str) -> list[Kept]:
    """Load the kept probes the config has again (a reload) into ``caches``, caps
    applied as at a load; the others."""
    rest = []
    for entry in kept:
        if entry.name in caches:
            reader = _Reader(path, {entry.name: caches[entry.name]}, frozenset())
            reader.load(xmlsafe.iterparse(path, _Chunks(_wrapped(entry.xml))))
            reader.log_left_out()
        else:
            rest.append(entry)
    return rest


def _wrapped(xml: str) -> Iterator[bytes]:
    """A kept ``<probe>`` as a document of its own, UTF-8, a MiB at a time."""
    yield b"<neighbors>"
    for start in range(0, len(xml), 2**20):
        yield xml[start:start + 2**20].encode("utf-8")
    yield b"</neighbors>"


class _Chunks:
    """A binary file (``read``) over byte strings, for the parser."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)

    def read(self, size: int = -1) -> bytes:
        return next(self.chunks, b"")


def _blank(file: BinaryIO) -> bool:
    """An empty (or blank) file: no document at all. Rewinds the file."""
    while True:
        block = file.read(65536)
        if block.strip() or not block:
            file.seek(0)
            return not block


class _Reader:
    """Turns the parser's events into Neighbor objects; every error names file, line,
    element. What it has used is removed from the tree (depth: 0 ``<neighbors>``,
    1 ``<probe>``, 2 ``<neighbor>``, 3 its children, 4 their ``<address>``/``<mac>``)."""

    def __init__(self, path: str, caches: dict[str, NeighborCache], remote: Set[str],
                 kept: list[Kept] | None = None) -> None:
        self.path, self.caches, self.remote = path, caches, remote
        self.kept = kept  # where unknown probes go; None: they are errors
        self.kept_before = 0 if kept is None else len(kept)
        self.keeping: KeptProbe | None = None  # the current probe, if unknown
        self.events: Iterator[tuple[str, Element]] = iter(())
        self.cache: NeighborCache | None = None  # of the current probe; None: skipped
        self.name = ""  # of the current probe
        self.keep = False  # the current neighbour is read (not skipped, not over the cap)
        self.bound = 0  # elements in a probe's child before ``prune`` is called
        self.previous: bytes | None = None  # ``last="true"`` of an old MAC left out
        self.left_out: dict[str, list[int]] = {}  # probe -> [neighbours, addresses]
        self.times: dict[int, int] = {}  # each time read, once

    def error(self, element: Element, what: str) -> ConfigError:
        return ConfigError(self.path, element.sourceline, what)

    def load(self, events: Iterator[tuple[str, Element]]) -> None:
        """Go through the events; below a probe's child (depth 3 and more) only count
        them, until a child holds more than a valid one can: then ``prune``."""
        depth = inner = -1
        self.events = events  # (the hint for a wrong root reads on)
        for event, element in events:
            if event == "start":
                depth += 1
                if depth <= 2:
                    self.start(depth, element)
                    inner = 0
            elif depth <= 2:
                self.end(depth, element)
                depth -= 1
            else:
                inner += 1
                if inner > self.bound:
                    self.prune(depth, element)
                depth -= 1

    def start(self, depth: int, element: Element) -> None:
        if depth == 0 and element.tag != "neighbors":
            hint = old_cache_hint(self.path, element, self.events)
            raise self.error(element, f"the root element is <{element.tag}>, not "
                                      f"<neighbors>{hint}")
        if depth == 1:
            self.cache = self.probe_cache(element)
        elif depth == 2:
            self.previous = None
            self.keep = element.tag == "neighbor" and self.cache is not None \
                and not self.full(element)
            # a neighbour has 6 children and at most max_addresses of each list; a kept
            # probe's are kept whole (its text is written back)
            self.bound = 2 * self.cache.max_addresses + 8 if self.keep else \
                sys.maxsize if self.keeping else 64

    def end(self, depth: int, element: Element) -> None:
        if depth <= 1:
            self.refuse_entities(element)  # the rest was checked and removed already
            if depth == 1 and self.keeping is not None:
                self.keeping.close(element)
        elif self.keeping is not None:
            self.keep_child(element)
        else:
            self.probe_child(element)

    def prune(self, depth: int, element: Element) -> None:
        """Bound the memory of one probe child: drop ``element`` (just ended) when it is
        never read, trim a list of addresses or old MACs to the probe's cap."""
        parent = element.getparent()
        if parent is None:  # trimmed already (the parser reads ahead of its events)
            return
        if self.keep and depth == 4 and parent.tag in ("addresses", "old_macs"):
            self.trim(parent)
        elif self.keep and depth == 3:
            self.children(parent)  # an unknown or repeated child: the error, now
        else:
            _remove(element)  # skipped, or no place in the format

    def probe_cache(self, probe: Element) -> NeighborCache | None:
        """The cache the neighbours of ``probe`` go to; None for a remote probe or one
        the config does not have (kept)."""
        self.keeping = None
        if probe.tag != "probe":
            raise self.error(probe, f"<neighbors>: unexpected <{probe.tag}>")
        name = probe.get("name")
        if name is None:
            raise self.error(probe, "<probe name>: missing value")
        if name in self.remote:
            return None
        if name not in self.caches:
            if self.kept is None:
                message = f"<probe name={_quoted(name)}>: no such probe in the config"
                raise self.error(probe, message)
            self.keeping = KeptProbe(name, self.kept)
            return None
        self.name = name
        return self.caches[name]

    def full(self, element: Element) -> bool:
        """The probe's cache is at its cap: the neighbour is left out (and counted)."""
        assert self.cache is not None
        if len(self.cache) < self.cache.max_neighbors:
            return False
        self.cache.evictions.neighbors += 1
        self.left_out.setdefault(self.name, [0, 0])[0] += 1
        return True

    def probe_child(self, child: Element) -> None:
        if child.tag == "neighbor":
            if self.keep:
                self.refuse_entities(child)
                assert self.cache is not None
                self.cache.insert(self.neighbor(child))
        elif child.tag != "address" and self.cache is not None:  # address: the interface's
            raise self.error(child, f"<probe>: unexpected <{child.tag}>")
        _remove(child)

    def keep_child(self, child: Element) -> None:
        """A child of a kept probe: checked as a known probe's is, then left in the
        tree until its text is complete: until the next child has ended."""
        assert self.keeping is not None
        if child.tag == "neighbor":
            self.refuse_entities(child)
            self.neighbor(child)
            self.keeping.neighbors += 1
        elif child.tag != "address":
            raise self.error(child, f"<probe>: unexpected <{child.tag}>")
        while (previous := child.getprevious()) is not None:  # its text is complete
            self.refuse_entities(previous)
            self.keeping.take(previous)

    def refuse_entities(self, element: Element) -> None:
        for node in element.iter(etree.Entity):  # never expanded: refuse, don't misread
            message = f"entity reference {convert.quote(node.text)} is not allowed"
            raise self.error(node, message)

    def trim(self, parent: Element) -> None:
        """Past the probe's ``max_addresses``, the first (oldest) addresses, or old MACs,
        of a list are checked and dropped, as NeighborCache would evict them."""
        assert self.cache is not None
        tag = "address" if parent.tag == "addresses" else "mac"
        while len(parent) > self.cache.max_addresses:
            first = parent[0]
            self.refuse_entities(first)
            if first.tag != tag:
                raise self.error(first, f"<{parent.tag}>: unexpected <{first.tag}>")
            if tag == "address":
                self.value(first, convert.ipv6)
                self.attr(first, "lastseen", 0)
                self.attr(first, "firstseen", 0)
                self.cache.evictions.addresses += 1
                self.left_out.setdefault(self.name, [0, 0])[1] += 1
            elif first.get("last") == "true":
                self.previous = self.value(first, convert.mac)
            else:
                self.value(first, convert.mac)
            parent.remove(first)

    def log_left_out(self) -> None:
        for name, (neighbors, addresses) in self.left_out.items():
            cache = self.caches[name]
            log.warning("%s: probe %s: %d neighbours and %d addresses over the caps "
                        "(<limits max_neighbors=\"%d\" max_addresses=\"%d\">) were left "
                        "out", self.path, name, neighbors, addresses, cache.max_neighbors,
                        cache.max_addresses)

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
        nb.previous_mac = self.previous
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
        """A time attribute; equal times share one object (a flood's addresses are
        seen in the same few seconds: 90 MB less for a full cache)."""
        raw = element.get(name)
        if raw is None:
            return default
        try:
            value = _timestamp(raw)
        except ValueError as exc:
            raise self.error(element, f"<{element.tag} {name}>: {exc}") from None
        if len(self.times) >= 65536:  # all different: keep the table small
            self.times.clear()
        return self.times.setdefault(value, value)


def _elements(parent: Element) -> Iterator[Element]:
    """The child elements of ``parent``, skipping entity references."""
    return (child for child in parent if isinstance(child.tag, str))


def _remove(element: Element) -> None:
    """Drop a finished element (and its tail) from the tree being built."""
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _quoted(text: str) -> str:
    return '"' + convert.quote(text)[1:-1] + '"'


def _timestamp(text: str) -> int:
    """A Unix time as NDPMon writes it (``%i``, so possibly negative)."""
    if text.isdigit() and text.isascii() and len(text) <= 19:  # the usual case, fast
        return int(text)
    value = text.strip()
    digits = value[1:] if value.startswith("-") else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19):
        raise ValueError(f"not a number: {convert.quote(value)}")
    return int(value)
