"""Per-probe runtime state: the neighbour cache with O(1) lookups, bounded.

NDPMon kept neighbours in linked lists scanned for every packet (COMPATIBILITY.md §6.5) and never
forgot anything. Here every lookup (by MAC, by link-local address, by global address) is a
dict access, and both the number of neighbours per probe and the number of addresses per
neighbour are capped: when a cap is reached the least recently seen entry is evicted and
counted (see ``Evictions``). Time is always passed in by the caller. When ``dirty`` is a
dict (the PostgreSQL store sets it), every neighbour that changes is recorded there, so
that only those are written at the next save.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from ndpmon.codec.addr import UNSPECIFIED

__all__ = ["Address", "Neighbor", "NeighborCache", "Evictions"]

#: ``_new(Address, (addr, firstseen, lastseen))``: an Address without the NamedTuple's
#: Python-level ``__new__`` (a flood adds one per frame).
_new = tuple.__new__


class Address(NamedTuple):
    """A global address of a neighbour with its first and last time seen.

    Immutable (an update stores a new one): a tuple of atoms is untracked by the
    garbage collector, which keeps collections cheap when a flood fills the cache.
    """

    addr: bytes
    firstseen: float
    lastseen: float


class Neighbor:
    """One station of the link, as NDPMon's neighbour cache knows it (COMPATIBILITY.md §6.5)."""

    __slots__ = (
        "mac", "first_mac_seen", "previous_mac", "old_macs", "lla",
        "addresses", "lastseen", "vendor", "queued",
    )

    def __init__(self, mac: bytes, lla: bytes, lastseen: float) -> None:
        self.mac = mac
        self.first_mac_seen = mac
        self.previous_mac: bytes | None = None
        #: a tuple, replaced on change: cheaper to create and ignored by the collector
        self.old_macs: tuple[bytes, ...] = ()
        self.lla = lla
        self.addresses: dict[bytes, Address] = {}
        self.lastseen = lastseen
        self.vendor: str | None = None
        #: its places in its cache's LRU queue (NeighborCache: the last one counts)
        self.queued = 0


@dataclass
class Evictions:
    """How many entries the caps pushed out, and when an alert last said so."""

    neighbors: int = 0
    addresses: int = 0
    reported_neighbors: int = 0
    reported_addresses: int = 0
    last_report: float | None = field(default=None)


class NeighborCache:
    """The neighbours of one probe, indexed by MAC, by LLA and by global address.

    ``_found`` holds the neighbours in the order they were found, which iteration (and so
    the saved file) follows, as NDPMon's list did. ``_lru`` is a queue, least recently
    seen first: ``add`` and ``touch`` put the neighbour at its end, so a neighbour seen
    again has several places, and only its last one counts (``Neighbor.queued`` counts
    them); a full cache evicts the first neighbour in its last place. A queue costs a
    flood of new stations far less per frame than an ordered dict did; when stale places
    make it more than twice as long as the cache, it is compacted. A flood adds one
    neighbour per frame, so ``add`` does its work inline (one object, one address
    record, a store per index).
    """

    def __init__(self, max_neighbors: int = 100_000, max_addresses: int = 64) -> None:
        self.max_neighbors = max_neighbors
        self.max_addresses = max_addresses
        self.by_mac: dict[bytes, Neighbor] = {}
        self.by_lla: dict[bytes, Neighbor] = {}
        self.by_ip: dict[bytes, Neighbor] = {}
        self._lru: deque[Neighbor] = deque()
        self._found: dict[Neighbor, Neighbor] = {}
        self.evictions = Evictions()
        #: id -> neighbour changed since the store last took them (None: not tracked).
        self.dirty: dict[int, Neighbor] | None = None

    def __len__(self) -> int:
        return len(self._found)

    def __iter__(self):
        return iter(list(self._found.values()))

    # -- neighbours -------------------------------------------------------------

    def add(self, mac: bytes, lla: bytes, now: float, addr: bytes | None = None) -> Neighbor:
        """Create a neighbour (evicting the least recently seen one if full), with its
        first global address ``addr`` if given."""
        if len(self._found) >= self.max_neighbors:
            self._make_room()
        nb = Neighbor(mac, lla, now)
        self._found[nb] = nb
        nb.queued = 1
        self._lru.append(nb)
        if self.dirty is not None:
            self.dirty[id(nb)] = nb
        self.by_mac[mac] = nb
        if lla != UNSPECIFIED:
            self.by_lla[lla] = nb
        if addr is not None:
            if self.max_addresses > 0:
                nb.addresses[addr] = _new(Address, (addr, now, now))
                self.by_ip[addr] = nb
            else:
                self.add_address(nb, addr, now)
        return nb

    def _make_room(self) -> None:
        """Evict the least recently seen neighbours until one more fits (a flood of new
        stations evicts one per frame), and take them out of the indices."""
        lru, found, dirty = self._lru, self._found, self.dirty
        by_mac, by_lla, by_ip = self.by_mac, self.by_lla, self.by_ip
        evicted = 0
        while found and len(found) >= self.max_neighbors:
            oldest = lru.popleft()
            oldest.queued -= 1
            if oldest.queued:
                continue  # a stale place: it was seen again since
            del found[oldest]
            if by_mac.get(oldest.mac) is oldest:
                del by_mac[oldest.mac]
            if by_lla.get(oldest.lla) is oldest:
                del by_lla[oldest.lla]
            for addr in oldest.addresses:
                if by_ip.get(addr) is oldest:
                    del by_ip[addr]
            evicted += 1
            if dirty is not None:
                dirty.pop(id(oldest), None)
        self.evictions.neighbors += evicted

    def insert(self, nb: Neighbor) -> None:
        """Put a neighbour loaded from the cache file back into the indices.

        A file larger than the caps keeps its first neighbours and each neighbour's
        most recent addresses; what does not fit is counted as evicted.
        """
        if len(self._found) >= self.max_neighbors:
            self.evictions.neighbors += 1
            return
        while len(nb.addresses) > self.max_addresses:
            del nb.addresses[next(iter(nb.addresses))]
            self.evictions.addresses += 1
        self._found[nb] = nb
        nb.queued = 1
        self._lru.append(nb)
        self.by_mac.setdefault(nb.mac, nb)
        if nb.lla != UNSPECIFIED:
            self.by_lla.setdefault(nb.lla, nb)
        for addr in nb.addresses:
            self.by_ip.setdefault(addr, nb)

    def touch(self, nb: Neighbor, now: float) -> None:
        """Mark ``nb`` as seen now (NDPMon's timer reset)."""
        nb.lastseen = now
        nb.queued += 1
        lru = self._lru
        lru.append(nb)
        if len(lru) > 2 * len(self._found) + 1024:
            self._compact()
        if self.dirty is not None:
            self.dirty[id(nb)] = nb

    def _compact(self) -> None:
        """Keep each neighbour's last place in the LRU queue only."""
        kept = []
        for nb in self._lru:
            nb.queued -= 1
            if not nb.queued:
                kept.append(nb)
        for nb in kept:
            nb.queued = 1
        self._lru = deque(kept)

    def _changed(self, nb: Neighbor) -> None:
        if self.dirty is not None:
            self.dirty[id(nb)] = nb

    # -- changes ------------------------------------------------------------------

    def set_lla(self, nb: Neighbor, lla: bytes) -> None:
        """Replace the single link-local address of ``nb`` (NDPMon keeps only one)."""
        if self.by_lla.get(nb.lla) is nb:
            del self.by_lla[nb.lla]
        nb.lla = lla
        self.by_lla[lla] = nb
        self._changed(nb)

    def set_mac(self, nb: Neighbor, mac: bytes) -> None:
        """Give ``nb`` a new current MAC, keeping the old-MAC history as NDPMon does.

        The new MAC leaves the old-MAC list, the current one joins it (once), and it
        becomes ``previous_mac``: the basis of the flip-flop check.
        """
        old = nb.mac
        macs = tuple(m for m in nb.old_macs if m != mac)
        if old not in macs:
            macs = (macs + (old,))[-self.max_addresses:]
        nb.old_macs = macs
        nb.previous_mac = old
        if self.by_mac.get(old) is nb:
            del self.by_mac[old]
        nb.mac = mac
        self.by_mac[mac] = nb
        self._changed(nb)

    def add_address(self, nb: Neighbor, addr: bytes, now: float) -> None:
        """Record a global address of ``nb`` (evicting its least recently seen one if full)."""
        if len(nb.addresses) >= self.max_addresses:
            old = next(iter(nb.addresses))
            del nb.addresses[old]
            if self.by_ip.get(old) is nb:
                del self.by_ip[old]
            self.evictions.addresses += 1
        nb.addresses[addr] = _new(Address, (addr, now, now))
        self.by_ip[addr] = nb
        self._changed(nb)

    def see_address(self, nb: Neighbor, addr: bytes, now: float) -> None:
        """Update the last-seen time of a known address of ``nb``."""
        entry = nb.addresses.pop(addr, None)
        if entry is not None:  # re-inserted: now the most recently seen
            nb.addresses[addr] = _new(Address, (addr, entry.firstseen, now))
            self._changed(nb)

    def move_address(self, addr: bytes, to: Neighbor, now: float) -> None:
        """An address changed hands: remove it from its owner and give it to ``to``."""
        owner = self.by_ip.get(addr)
        if owner is not None and owner is not to:
            owner.addresses.pop(addr, None)
            del self.by_ip[addr]
            self._changed(owner)
        if addr not in to.addresses:
            self.add_address(to, addr, now)
