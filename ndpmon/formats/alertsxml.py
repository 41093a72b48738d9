"""alerts.xml, NDPMon 2.x's alert log: its one owner (writer, reader, renderer).

* ``AlertsXml`` appends alerts in constant time per alert. NDPMon 2.1 re-parsed and
  rewrote the whole file for every alert (COMPATIBILITY.md §4.7, §6.5), so each alert cost
  O(file size), and a message with control bytes (DNSSL) was written as an empty
  ``<message/>``.  Here the file is opened once; only its last few KB are read, to find
  the final ``</alerts>``; each batch of ``<alert>`` blocks is written over that closing
  tag, followed by a new one.  After every write the file is well-formed XML,
  byte-compatible with what the original wrote (children in alphabetical order,
  two-space indentation); control characters (all but a message's final newline: text
  from packets never starts a line) and characters XML 1.0 forbids are kept readable as
  ``\\x07``-style escapes.
* ``read_alerts`` and ``read_tree`` read it back safely (ndpmon.files.reader: no FIFO,
  no entity, a size cap): ``ndpmon query`` wants Alert objects.
* ``read_newest`` reads only the newest alerts, for ``ndpmon report`` (which runs after
  every cache save): the file only grows, so it is read backwards from its end, at most
  ``TAIL_BYTES`` of it are parsed, and the rest is only counted, in blocks (issue 15).
* ``render_alert`` and ``document`` give the same text for alerts from elsewhere (the
  store's, for the web report).
* ``beside_cache``: where alerts.xml is when no path is given.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import UNSPECIFIED, ip_short, mac_str
from ndpmon.config import values as convert
from ndpmon.errors import ConfigError, WriteError
from ndpmon.files import reader as xmlsafe, secure
from ndpmon.files.text import xml_escape_line

__all__ = ["AlertsXml", "HEADER", "render_alert", "document", "read_alerts", "read_tree",
           "read_newest", "Newest", "counts", "beside_cache", "MAX_ALERTS_BYTES", "TAIL_BYTES"]

#: What a new alerts.xml holds: NDPMon's shipped template (install/alerts.xml).
HEADER = (
    '<?xml version="1.0"?>\n'
    '<?xml-stylesheet type="text/xsl" href="alerts.xsl"?>\n'
    "<alerts>\n"
    "</alerts>\n"
)
#: alerts.xml is never rotated by ndpmon; reading stops at this size (one line, exit 2).
MAX_ALERTS_BYTES = 1024 * 2**20

#: ``read_newest`` parses at most this much of the file's end (about 40,000 alerts).
TAIL_BYTES = 16 * 2**20

_CLOSE = b"</alerts>"
_START = b"<alert>"
_HIGH = b"<priority>2</priority>"
_BLOCK = 2**20  # read and counted in blocks of this size
_ROOT = re.compile(rb"<([A-Za-z_][-A-Za-z0-9_.:]*)")
_TAIL = 4096  # how much of an existing file is read to find its closing tag
_ZERO_MAC = bytes(6)


def beside_cache(cache: str) -> str:
    """The default alerts.xml: in the neighbour cache's directory (NDPMon's layout)."""
    return os.path.join(os.path.dirname(os.path.abspath(cache)), "alerts.xml")


def _element(tag: str, text: str) -> str:
    """One child line; empty text is ``<tag/>`` as libxml2 writes it."""
    if not text:
        return f"    <{tag}/>\n"
    return f"    <{tag}>{xml_escape_line(text)}</{tag}>\n"


def render_alert(alert: Alert) -> str:
    """The ``<alert>`` block of one alert, indented, ending with a newline.

    Only the message, probe and reason can hold characters to escape; the addresses,
    numbers and time are written as they are (one hostile RA can raise dozens of
    alerts, so this runs often: see fuzz/).
    """
    return (
        "  <alert>\n"
        f"    <ethernet_address1>{mac_str(alert.mac or _ZERO_MAC)}</ethernet_address1>\n"
        f"    <ethernet_address2>{mac_str(alert.mac2 or _ZERO_MAC)}</ethernet_address2>\n"
        f"    <ipv6_address>{ip_short(alert.ipv6 or UNSPECIFIED)}</ipv6_address>\n"
        + _element("message", alert.message)
        + f"    <priority>{int(alert.priority)}</priority>\n"
        + _element("probe", alert.probe)
        + _element("reason", alert.reason)
        + f"    <time>{int(alert.time)}</time>\n"
        f"    <time_str>{time.strftime('%c', time.localtime(alert.time))}</time_str>\n"
        "  </alert>\n"
    )


def document(alerts: Iterable[Alert]) -> str:
    """A whole ``<alerts>`` document (without the header lines) holding ``alerts``."""
    return "<alerts>\n" + "".join(render_alert(a) for a in alerts) + "</alerts>\n"


class AlertsXml:
    """An open alerts.xml to which batches of alerts are appended.

    ``write`` raises WriteError (``path: cannot write: ...``) when the OS
    refuses; the caller decides whether that stops the monitor.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._end = 0  # offset of the final "</alerts>"
        self.reopen()

    def reopen(self) -> None:
        """(Re)open the file: after log rotation, or from ``__init__``; through
        ndpmon.files.secure, so a link or someone else's file there is refused."""
        self.close()
        try:  # no link, FIFO, device, hard link or other account's file (issue 14)
            fd = secure.open_output(self.path)
        except OSError as exc:
            raise self._error("cannot open", exc) from None
        self._file = os.fdopen(fd, "r+b")
        try:
            self._end = self._find_end()
        except BaseException:
            self.close()
            raise

    def _error(self, what: str, exc: OSError) -> WriteError:
        return WriteError(self.path, f"{what}: {exc.strerror or exc}")

    def _find_end(self) -> int:
        """Where the final ``</alerts>`` starts; writes the header into an empty file."""
        assert self._file is not None
        try:
            size = self._file.seek(0, os.SEEK_END)
            start = max(0, size - _TAIL)
            self._file.seek(start)
            tail = self._file.read().rstrip(b" \t\r\n")
            if not tail and start == 0:  # empty (or blank): start a new file
                return self._write_at(0, HEADER.encode()) - len(_CLOSE) - 1
        except OSError as exc:
            raise self._error("cannot read", exc) from None
        if not tail.endswith(_CLOSE):
            message = "not an alerts file: does not end with </alerts>"
            raise ConfigError(self.path, None, message)
        return start + len(tail) - len(_CLOSE)

    def _write_at(self, offset: int, data: bytes) -> int:
        """Write ``data`` at ``offset``, cut the file there, flush; return the new size."""
        assert self._file is not None
        self._file.seek(offset)
        self._file.write(data)
        self._file.truncate()
        self._file.flush()
        return offset + len(data)

    def write(self, alerts: Iterable[Alert]) -> None:
        """Append the alerts (one write for the whole batch) and flush."""
        if self._file is None:
            raise WriteError(self.path, "cannot write: file is closed")
        block = "".join(render_alert(alert) for alert in alerts).encode("utf-8")
        if not block:
            return
        try:
            if os.fstat(self._file.fileno()).st_size != self._end + len(_CLOSE) + 1:
                self._end = self._find_end()  # changed behind our back: look again
            self._write_at(self._end, block + _CLOSE + b"\n")
        except OSError as exc:
            self._restore()
            raise self._error("cannot write", exc) from None
        self._end += len(block)

    def _restore(self) -> None:
        """After a failed write, try to put the closing tag back where it was."""
        try:
            self._write_at(self._end, _CLOSE + b"\n")
        except OSError:
            pass  # the next open reports the file as broken

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError:
                pass  # everything was flushed after each write already

    def __enter__(self) -> AlertsXml:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# -- reading ----------------------------------------------------------------------------


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
    return _checked(path, xmlsafe.parse(path, data)[0])


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
    tree = _checked(path, xmlsafe.parse(path, data)[0])
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
    """Where the final ``</alerts>`` starts."""
    start = max(0, size - _TAIL)
    file.seek(start)
    tail = file.read(_TAIL).rstrip(b" \t\r\n")
    if not tail.endswith(_CLOSE):
        raise ConfigError(path, None, "not an alerts file: does not end with </alerts>")
    return start + len(tail) - len(_CLOSE)


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
