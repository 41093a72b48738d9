"""Per-probe memory of fragmented packets, for the fragment check (checks/fragments.py).

Per probe, the byte ranges of up to ``MAX_PACKETS`` recent fragmented packets, keyed by
(source, destination, identification), each forgotten after the reassembly timeout
(RFC 8200 §4.5: 60 s) or when the table is full (oldest first), with at most
``MAX_RANGES`` ranges each. A flood of fragments therefore costs bounded memory; what it
pushes out can no longer be matched, which only makes a later overlap go unseen.
"""

from __future__ import annotations

from collections import OrderedDict

from ndpmon.codec.message import Fragment

__all__ = ["FragmentTable", "REASSEMBLY_TIMEOUT", "MAX_PACKETS", "MAX_RANGES"]

REASSEMBLY_TIMEOUT = 60.0
MAX_PACKETS = 4096
MAX_RANGES = 64


class FragmentTable:
    """(src, dst, id) -> (time of the first fragment seen, [(start, end), ...])."""

    def __init__(self) -> None:
        self.packets: OrderedDict[tuple, tuple[float, list[tuple[int, int]]]] = OrderedDict()

    def ranges(self, frag: Fragment, now: float) -> list[tuple[int, int]]:
        """The ranges seen so far of ``frag``'s packet (a fresh list if new or expired)."""
        key = (frag.src, frag.dst, frag.ident)
        entry = self.packets.get(key)
        if entry is None or now - entry[0] > REASSEMBLY_TIMEOUT:
            self.packets.pop(key, None)
            entry = self.packets[key] = (now, [])
            while len(self.packets) > MAX_PACKETS:
                self.packets.popitem(last=False)
        return entry[1]
