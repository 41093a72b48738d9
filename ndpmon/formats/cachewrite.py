"""Write neighbor_list.xml (ndpmon.formats.cache reads it): from a snapshot, a chunk at a time.

The layout is libxml2's ``xmlSaveFormatFile``, as NDPMon 2.1 wrote it, byte for byte
(tests/test_cachefile.py and the golden files pin it). A full cache is a file of some
hundred MB (issue 15: 100,000 neighbours of 16 addresses, 320 MB), so it is never one
string: ``snapshot`` takes what a save writes as tuples of immutable values (cheap: the
live loop takes it, ndpmon.run.cachesave), and ``write_snapshot`` renders and writes it
a chunk at a time into the temporary file of an atomic replace (ndpmon.files.atomic),
from any thread.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.files.atomic import write_atomic_chunks
from ndpmon.files.text import xml_escape
from ndpmon.state.neighbors import NeighborCache

__all__ = ["save_cache", "snapshot", "write_snapshot", "Snapshot", "SaveCancelled", "HEADER",
           "Kept"]

HEADER = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    '<?xml-stylesheet type="text/xsl" href="neighbor.xsl"?>\n'
    '<!DOCTYPE neighbors SYSTEM "neighbor_list.dtd">\n'
)
_ZERO_MAC = bytes(6)
_LAST = ' last="true"'

#: One neighbour as a save sees it: (mac, first_mac_seen, previous_mac, old_macs, lla,
#: lastseen, vendor, addresses), immutable values only (Address is a NamedTuple).
Saved = tuple
#: Every probe to save: (name, interface MAC, interface addresses, neighbours), then
#: the text of each kept probe (Kept.xml).
Snapshot = tuple["tuple[str, bytes | None, tuple[bytes, ...], tuple[Saved, ...]] | str", ...]
_CHUNK = 2**20  # characters rendered, encoded and written at a time


@dataclass(frozen=True)
class Kept:
    """A ``<probe>`` of the file that the config does not have (an interface renamed,
    eth0 to enp3s0): checked at load (ndpmon.formats.cache), then kept as XML text and
    written back as it was at every save, so that naming the probe back brings its
    neighbours back (issue 17)."""

    name: str
    neighbors: int
    xml: str


class SaveCancelled(Exception):
    """``write_snapshot`` was asked to stop (the save at exit replaces it)."""


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
    write_snapshot(path, snapshot(caches, probe_macs, probe_addresses, kept))


def snapshot(
    caches: Mapping[str, NeighborCache],
    probe_macs: Mapping[str, bytes] | None = None,
    probe_addresses: Mapping[str, list[bytes]] | None = None,
    kept: Sequence[Kept] = (),
) -> Snapshot:
    """What a save writes, as tuples of immutable values: cheap to take in the capture
    thread (no text is made), safe to write from another thread while the caches
    change. The ``kept`` probes' texts (strings: not copied) come last."""
    macs, addresses = probe_macs or {}, probe_addresses or {}
    return tuple((name, macs.get(name), tuple(addresses.get(name, ())),
                  tuple([(nb.mac, nb.first_mac_seen, nb.previous_mac, nb.old_macs, nb.lla,
                          nb.lastseen, nb.vendor, tuple(nb.addresses.values()))
                         for nb in cache]))
                 for name, cache in caches.items()) + tuple(entry.xml for entry in kept)


def write_snapshot(path: str, snap: Snapshot, stop: Callable[[], bool] | None = None) -> None:
    """Write ``snap`` to ``path`` atomically, rendered and written a chunk at a time (a
    full cache is some hundred MB: never one string).  ``stop`` is asked between chunks;
    when it says so, the temporary file is removed and SaveCancelled raised."""
    write_atomic_chunks(path, _chunks(snap, stop))


def _chunks(snap: Snapshot, stop: Callable[[], bool] | None) -> Iterator[bytes]:
    parts: list[str] = []
    size = 0
    for text in _texts(snap):
        parts.append(text)
        size += len(text)
        if size >= _CHUNK:
            if stop is not None and stop():
                raise SaveCancelled()
            yield "".join(parts).encode("iso-8859-1", "xmlcharrefreplace")
            parts, size = [], 0
    yield "".join(parts).encode("iso-8859-1", "xmlcharrefreplace")


def _render(
    caches: Mapping[str, NeighborCache],
    probe_macs: Mapping[str, bytes],
    probe_addresses: Mapping[str, list[bytes]],
) -> str:
    """The whole file as text (for the store's remote probes: a few neighbours)."""
    return "".join(_texts(snapshot(caches, probe_macs, probe_addresses)))


def _texts(snap: Snapshot) -> Iterator[str]:
    """The file's text in pieces, laid out as libxml2's ``xmlSaveFormatFile`` does."""
    if not snap:
        yield HEADER + "<neighbors/>\n"
        return
    yield HEADER + "<neighbors>\n"
    for probe in snap:
        if isinstance(probe, str):  # a kept probe's text, as it was read
            yield "  "
            yield from _pieces(probe)
            yield "\n"
            continue
        name, mac, addresses, neighbors = probe
        start = f'  <probe name="{xml_escape(name, True)}" mac="{mac_str(mac or _ZERO_MAC)}"'
        if not addresses and not neighbors:
            yield start + "/>\n"
            continue
        yield start + ">\n" + "".join(f"    <address>{ip_short(a)}</address>\n"
                                      for a in addresses)
        for saved in neighbors:
            yield _neighbor(saved)
        yield "  </probe>\n"
    yield "</neighbors>\n"


def _pieces(text: str) -> Iterator[str]:
    """``text`` in slices of a chunk (a kept probe may be some hundred MB)."""
    for start in range(0, len(text), _CHUNK):
        yield text[start:start + _CHUNK]


def _ctime(when: float) -> str:
    """``ctime()`` with its newline, as an attribute value (``...&#10;``)."""
    try:
        return _ctime_in(int(when), time.tzname, time.timezone, time.altzone)
    except (OverflowError, ValueError, OSError):  # a time no calendar can show
        return ""


@functools.lru_cache(maxsize=4096)
def _ctime_in(when: int, *zone: object) -> str:
    """(Cached per time zone: a flood fills the cache within a few seconds, and this
    took more than half of a save.)"""
    return xml_escape(time.ctime(when) + "\n", True)


def _block(tag: str, lines: list[str]) -> str:
    """``<tag>`` holding ``lines`` at neighbour-child depth, or ``<tag/>``."""
    if not lines:
        return f"      <{tag}/>\n"
    return f"      <{tag}>\n" + "".join(lines) + f"      </{tag}>\n"


def _neighbor(saved: Saved) -> str:
    mac, first_mac_seen, previous_mac, old_macs, lla, lastseen, vendor, addresses = saved
    vendor = f' vendor="{xml_escape(vendor, True)}"' if vendor else ""
    lines = [
        f'        <address firstseen="{int(a.firstseen)}" firstseenstr="{_ctime(a.firstseen)}"'
        f' lastseen="{int(a.lastseen)}" lastseenstr="{_ctime(a.lastseen)}">'
        f"{ip_short(a.addr)}</address>\n"
        for a in addresses
    ]
    macs = [f"        <mac{_LAST if m == previous_mac else ''}>{mac_str(m)}</mac>\n"
            for m in old_macs]
    return (
        "    <neighbor>\n"
        f"      <mac{vendor}>{mac_str(mac)}</mac>\n"
        f"      <first_mac_seen>{mac_str(first_mac_seen)}</first_mac_seen>\n"
        f"      <lla>{ip_short(lla)}</lla>\n"
        f'      <lastseen lastseenstr="{_ctime(lastseen)}">{int(lastseen)}</lastseen>\n'
        + _block("addresses", lines)
        + _block("old_macs", macs)
        + "    </neighbor>\n"
    )
