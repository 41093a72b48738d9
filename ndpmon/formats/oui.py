"""MAC address vendors from the OUI databases a Debian admin already has.

NDPMon's mac_resolv read Wireshark's ``manuf`` file, kept only its 24-bit entries and
scanned them all, with an ``sscanf`` each, for every lookup (COMPATIBILITY.md §4.11, §6.5). Here
the IEEE registries as Debian's ``ieee-data`` package ships them (``oui.csv``: 24-bit
MA-L, ``mam.csv``: 28-bit MA-M, ``oui36.csv`` and ``iab.csv``: 36-bit MA-S and IAB) or
Wireshark's ``manuf`` (``libwireshark-data``; ``/28`` and ``/36`` lines included) are
read once into one dict per prefix length. A lookup tries the longest assignment first,
so a 36-bit block inside a 24-bit one gets its own vendor, and costs at most three dict
accesses, whatever the size of the database.

The vendor of a MAC is written as NDPMon wrote it: the first word of the name, at most
15 characters (the ``vendor`` attribute of the neighbour cache, ``Vendor:`` in mails).
"""

from __future__ import annotations

import csv
import io
import os
from typing import Iterable, Iterator

from ndpmon.files.trust import read_input

__all__ = ["OuiDatabase", "short_name", "DEFAULT_PATHS", "IEEE_FILES"]

#: Tried in this order when no path is configured.
DEFAULT_PATHS = ("/usr/share/ieee-data", "/usr/share/wireshark/manuf")
#: The registries of an ieee-data folder (any of them may be missing).
IEEE_FILES = ("oui.csv", "mam.csv", "oui36.csv", "iab.csv")
VENDOR_SIZE = 15  # NDPMon's vendor[16]
#: The largest database file read (Wireshark's manuf is about 3 MiB, oui.csv 4 MiB).
MAX_BYTES = 64 * 2**20
_HEX = frozenset("0123456789abcdefABCDEF")


def short_name(name: str) -> str:
    """The first word of a vendor name, cut to 15 characters (NDPMon's form)."""
    words = name.split()
    return words[0].rstrip(",;")[:VENDOR_SIZE] if words else ""


class OuiDatabase:
    """Assignments by prefix length: ``{bits: {prefix: vendor}}``."""

    def __init__(self) -> None:
        self.tables: dict[int, dict[int, str]] = {}
        self._order: tuple[tuple[int, dict[int, str]], ...] = ()
        self.sources: list[str] = []

    def __len__(self) -> int:
        return sum(len(table) for table in self.tables.values())

    def add(self, bits: int, prefix: int, vendor: str) -> None:
        """Assign the ``bits``-bit ``prefix`` (an int) to ``vendor``; the first wins."""
        table = self.tables.get(bits)
        if table is None:
            table = self.tables[bits] = {}
            self._order = tuple(sorted(self.tables.items(), reverse=True))
        table.setdefault(prefix, vendor)

    def lookup(self, mac: bytes) -> str | None:
        """The vendor of a 6-byte MAC, from its longest assigned prefix; None if none."""
        value = int.from_bytes(mac, "big")
        for bits, table in self._order:
            vendor = table.get(value >> (48 - bits))
            if vendor is not None:
                return vendor
        return None

    # -- loading --------------------------------------------------------------

    @classmethod
    def load(cls, path: str) -> OuiDatabase:
        """Read an ieee-data folder, one of its CSV files, or a Wireshark manuf file.

        Raises OSError for a missing file, NdpmonError for one another account can change
        (ndpmon.files.trust) or that cannot be read, ValueError for a file that holds no
        assignment.
        """
        db = cls()
        if os.path.isdir(path):
            files = [os.path.join(path, n) for n in IEEE_FILES
                     if os.path.isfile(os.path.join(path, n))]
            if not files:
                raise ValueError(f"{path}: no {', '.join(IEEE_FILES)} in this folder")
        else:
            files = [path]
        for name in files:
            text = read_input(name, MAX_BYTES).decode("utf-8", errors="replace")
            before = len(db)
            rows = _ieee_rows(text) if name.endswith(".csv") else _manuf_rows(text)
            db.extend(rows)
            if len(db) == before:
                raise ValueError(f"{name}: no OUI assignment found (not an IEEE CSV "
                                 f"registry or a Wireshark manuf file)")
            db.sources.append(name)
        return db

    def extend(self, rows: Iterable[tuple[int, int, str]]) -> None:
        for bits, prefix, vendor in rows:
            self.add(bits, prefix, vendor)


def _ieee_rows(text: str) -> Iterator[tuple[int, int, str]]:
    """``Registry,Assignment,Organization Name,...`` rows: the assignment is 6, 7 or 9
    hex digits (24, 28 or 36 bits)."""
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 3:
            continue
        digits = row[1].strip()
        if not digits or not set(digits) <= _HEX or len(digits) not in (6, 7, 9):
            continue  # the header, or a line we do not understand
        vendor = short_name(row[2])
        if vendor:
            yield len(digits) * 4, int(digits, 16), vendor


def _manuf_rows(text: str) -> Iterator[tuple[int, int, str]]:
    """Wireshark manuf lines: ``00:00:01<TAB>Xerox<TAB>Xerox Corporation`` and
    ``00:55:DA:10:00:00/28<TAB>KoolPOS<TAB>KoolPOS Inc.``; ``#`` starts a comment."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        fields = line.split(None, 1)
        if len(fields) < 2:
            continue
        address, _, mask = fields[0].partition("/")
        digits = address.replace(":", "").replace("-", "").replace(".", "")
        if not digits or len(digits) % 2 or len(digits) > 12 or not set(digits) <= _HEX:
            continue
        width = len(digits) * 4
        bits = int(mask) if mask.isdigit() else width
        if not 8 <= bits <= width:
            continue
        vendor = short_name(fields[1])
        if vendor:
            yield bits, int(digits, 16) >> (width - bits), vendor
