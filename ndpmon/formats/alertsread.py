"""Reading alerts.xml back: for ``ndpmon query`` (Alert objects) and ``ndpmon report``
(the newest alerts, with a memory bound).

The file's writer and renderer are ndpmon.formats.alertsxml; this module only reads,
always safely (ndpmon.files.reader: no FIFO, no entity, a size cap), and reads a file
cut by a crash as the writer will repair it (``alertsxml.closed``).

* ``read_alerts`` and ``read_tree`` read a whole file (at most ``MAX_ALERTS_BYTES``).
* ``read_newest`` reads only the newest alerts, for ``ndpmon report`` (which runs after
  every cache save): the file only grows, so it is read backwards from its end, at most
  ``TAIL_BYTES`` of it are parsed, and the rest is only counted, in blocks (issue 15).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import UNSPECIFIED
from ndpmon.config import values as convert
from ndpmon.errors import ConfigError
from ndpmon.files import reader as xmlsafe
from ndpmon.formats.alertsxml import MAX_ALERTS_BYTES, closed

__all__ = ["read_alerts", "read_tree", "read_newest", "Newest", "counts", "TAIL_BYTES"]

#: ``read_newest`` parses at most this much of the file's end (about 40,000 alerts).
TAIL_BYTES = 16 * 2**20

_CLOSE = b"</alerts>"
_START = b"<alert>"
_HIGH = b"<priority>2</priority>"
_BLOCK = 2**20  # read and counted in blocks of this size
_ROOT = re.compile(rb"<([A-Za-z_][-A-Za-z0-9_.:]*)")
_TAIL = 4096  # how much of the file's start and end is looked at
_ZERO_MAC = bytes(6)


def read_tree(path: str, required: bool = False) -> etree._ElementTree | None:
    """The tree of the alerts.xml ``path`` (root ``<alerts>``); a blank file is an empty
    document, a missing one None (or ConfigError ``no such file`` if ``required``)."""
    try:
        data = xmlsafe.read(path, MAX_ALERTS_BYTES)
    except FileNotFoundError:
        if required:
            raise ConfigError(path, None, "no such file") from None
        return None
    if not data.strip():
        return etree.ElementTree(etree.Element("alerts"))
    return _checked(path, xmlsafe.parse(path, closed(data))[0])  # a cut file reads as
    # the monitor repairs it


def read_alerts(path: str) -> list[Alert]:
    """The alerts of the alerts.xml ``path`` (none if it is missing); a value that does
    not parse is left out of its Alert (None, or time 0)."""
    tree = read_tree(path)
    return [] if tree is None else [_alert(el) for el in tree.getroot().iterfind("alert")]


def _alert(el: etree._Element) -> Alert:
    def text(tag: str) -> str:
        return (el.findtext(tag) or "").strip()

    def conv(tag: str, func, zero: bytes) -> bytes | None:
        try:
            value = func(text(tag))
        except ValueError:
            return None
        return None if value == zero else value

    try:
        when = float(text("time"))
    except ValueError:
        when = 0.0
    priority = Priority.HIGH if text("priority") == "2" else Priority.LOW
    return Alert(when, text("probe"), priority, text("reason"), el.findtext("message") or "",
                 conv("ethernet_address1", convert.mac, _ZERO_MAC),
                 conv("ethernet_address2", convert.mac, _ZERO_MAC),
                 conv("ipv6_address", convert.ipv6, UNSPECIFIED))


# -- the newest alerts (the report) --------------------------------------------------------


@dataclass(frozen=True)
class Newest:
    """The newest alerts of a file (``tree``, root ``<alerts>``) and the whole file's
    counts: every ``<alert>``, and those of priority 2."""

    tree: etree._ElementTree
    total: int
    high: int


def read_newest(path: str, limit: int, budget: int = TAIL_BYTES,
                required: bool = False) -> Newest | None:
    """The newest alerts of the alerts.xml ``path``, parsing at most ``budget`` bytes.

    A file of at most ``budget`` bytes is parsed whole, as ``read_tree`` does. Of a
    larger one, only its last ``limit`` ``<alert>`` blocks are parsed (fewer if they
    take more than ``budget`` bytes), and the blocks before them are counted, never
    parsed: memory stays bounded however large the file grows. Missing: None (or
    ConfigError ``no such file`` if ``required``); broken: ConfigError ``file:line:``.
    """
    try:
        file = xmlsafe.open_regular(path)
    except FileNotFoundError:
        if required:
            raise ConfigError(path, None, "no such file") from None
        return None
    with file:
        try:
            size = os.fstat(file.fileno()).st_size
            if size <= budget:
                return _whole(path, file.read(budget + 1))
            return _tail(path, file, size, limit, budget)
        except OSError as exc:
            raise ConfigError(path, None, f"cannot read: {exc.strerror or exc}") from None


def _whole(path: str, data: bytes) -> Newest:
    if not data.strip():
        return Newest(etree.ElementTree(etree.Element("alerts")), 0, 0)
    tree = _checked(path, xmlsafe.parse(path, closed(data))[0])  # cut: as repaired
    total, high = counts(tree.getroot())
    return Newest(tree, total, high)


def _checked(path: str, tree: etree._ElementTree) -> etree._ElementTree:
    """``tree``, if its root is ``<alerts>``."""
    root = tree.getroot()
    if root.tag != "alerts":
        raise ConfigError(path, root.sourceline, f"the root element is <{root.tag}>, "
                                                 "not <alerts>")
    return tree


def counts(root: etree._Element) -> tuple[int, int]:
    """The ``<alert>`` children of ``root``, and those of priority 2."""
    alerts = root.findall("alert")
    return len(alerts), sum(1 for a in alerts if (a.findtext("priority") or "").strip() == "2")


def _tail(path: str, file: BinaryIO, size: int, limit: int, budget: int) -> Newest:
    """A file larger than ``budget``: the last ``limit`` blocks, parsed alone."""
    _check_root(path, file)
    end = _closing_tag(path, file, size)
    start, window = _window(file, end, limit, budget)
    before, high, lines = _count_blocks(file, start)
    try:
        tree = xmlsafe.parse(path, b"<alerts>\n" + window + b"</alerts>\n")[0]
    except ConfigError as exc:
        raise _shifted(exc, lines - 1) from None
    total, shown_high = counts(tree.getroot())
    return Newest(tree, before + total, high + shown_high)


def _shifted(exc: ConfigError, lines: int) -> ConfigError:
    """The error of a parsed window with the file's line numbers (``lines`` before)."""
    message = re.sub(r"\bline (\d+)", lambda m: f"line {int(m[1]) + lines}", exc.message)
    return ConfigError(exc.path, exc.line and exc.line + lines, message)


def _check_root(path: str, file: BinaryIO) -> None:
    """The first element of the file must be ``<alerts>`` (after the prolog)."""
    file.seek(0)
    head = re.sub(rb"<[?!][^>]*>", b"", file.read(_TAIL))
    found = _ROOT.search(head)
    if found is None or found.group(1) != b"alerts":
        tag = found.group(1).decode("ascii") if found else "?"
        raise ConfigError(path, None, f"the root element is <{tag}>, not <alerts>")


def _closing_tag(path: str, file: BinaryIO, size: int) -> int:
    """Where the final ``</alerts>`` starts; in a file cut by a crash, the end of its last
    complete ``</alert>`` (read as the writer will repair it: ``closed``)."""
    start = max(0, size - _TAIL)
    file.seek(start)
    tail = file.read(_TAIL).rstrip(b" \t\r\n")
    if tail.endswith(_CLOSE):
        return start + len(tail) - len(_CLOSE)
    cut = tail.rfind(b"</alert>")
    if cut < 0 or _CLOSE in tail[cut:]:
        raise ConfigError(path, None, "not an alerts file: does not end with </alerts>")
    return start + cut + len(b"</alert>")


def _window(file: BinaryIO, end: int, limit: int, budget: int) -> tuple[int, bytes]:
    """(offset, bytes) of the last ``limit`` ``<alert>`` blocks before ``end``, read
    backwards in blocks and at most ``budget`` bytes; fewer blocks if they do not fit."""
    data, pos, found = b"", end, 0
    while pos > 0 and found < limit and end - pos < budget:
        step = min(_BLOCK, pos, budget - (end - pos))
        pos -= step
        file.seek(pos)
        chunk = file.read(step)
        found += (chunk + data[:len(_START) - 1]).count(_START)
        data = chunk + data
    cut = len(data)
    for _ in range(limit):
        at = data.rfind(_START, 0, cut)
        if at < 0:
            break
        cut = at  # fewer than ``limit``: from the first whole block on
    return pos + cut, data[cut:]


def _count_blocks(file: BinaryIO, stop: int) -> tuple[int, int, int]:
    """The ``<alert>`` blocks, those of priority 2 and the lines in the first ``stop``
    bytes, counted a block at a time."""
    alerts = high = lines = 0
    file.seek(0)
    carry, pos = b"", 0
    while pos < stop:
        chunk = file.read(min(_BLOCK, stop - pos))
        if not chunk:
            break
        pos += len(chunk)
        data = carry + chunk
        alerts += data.count(_START) - carry.count(_START)
        high += data.count(_HIGH) - carry.count(_HIGH)
        lines += chunk.count(b"\n")
        carry = data[-(len(_HIGH) - 1):]
    return alerts, high, lines
