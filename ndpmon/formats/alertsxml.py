"""alerts.xml, NDPMon 2.x's alert log: its one owner (writer, reader, renderer).

* ``AlertsXml`` appends alerts in constant time per alert. NDPMon 2.1 re-parsed and
  rewrote the whole file for every alert (COMPATIBILITY.md §4.7, §6.5), so each alert cost
  O(file size), and a message with control bytes (DNSSL) was written as an empty
  ``<message/>``.  Here the file is opened once; only its last few KB are read, to find
  the final ``</alerts>``; each batch of ``<alert>`` blocks is written over that closing
  tag, followed by a new one, in one system call.  After every completed write the file
  is well-formed XML, byte-compatible with what the original wrote (children in
  alphabetical order, two-space indentation). A write the disk cannot take is undone
  (ndpmon.files.append); a file that a ``kill -9`` or a crash cut inside an ``<alert>``
  is cut back to its last complete alert and closed at the next open, in one logged
  line (issue 15). Control characters (all but a message's final newline: text
  from packets never starts a line) and characters XML 1.0 forbids are kept readable as
  ``\\x07``-style escapes.
* ``read_alerts`` and ``read_tree`` read it back safely (ndpmon.files.reader: no FIFO,
  no entity, a size cap): ``ndpmon query`` wants Alert objects; a file cut by a crash
  reads as the writer will repair it (``closed``).
* ``read_newest`` reads only the newest alerts, for ``ndpmon report`` (which runs after
  every cache save): the file only grows, so it is read backwards from its end, at most
  ``TAIL_BYTES`` of it are parsed, and the rest is only counted, in blocks (issue 15).
* ``render_alert`` and ``document`` give the same text for alerts from elsewhere (the
  store's, for the web report).
* ``beside_cache``: where alerts.xml is when no path is given.
"""

from __future__ import annotations

import logging
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
from ndpmon.files import append, reader as xmlsafe, secure
from ndpmon.files.text import xml_escape_line

__all__ = ["AlertsXml", "HEADER", "render_alert", "document", "read_alerts", "read_tree",
           "read_newest", "Newest", "counts", "beside_cache", "closed", "MAX_ALERTS_BYTES",
           "TAIL_BYTES"]

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
_CLOSE_NL = _CLOSE + b"\n"
_START = b"<alert>"
_HIGH = b"<priority>2</priority>"
_BLOCK = 2**20  # read and counted in blocks of this size
_ROOT = re.compile(rb"<([A-Za-z_][-A-Za-z0-9_.:]*)")
_TAIL = 4096  # how much of an existing file is read to find its closing tag
_ZERO_MAC = bytes(6)

log = logging.getLogger("ndpmon")


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

    Opening refuses what is not ndpmon's to write (ndpmon.files.secure: WriteError) and a
    file that is not an alerts file (ConfigError); a file cut by a crash or a full disk
    is repaired (``_repair``). A write the disk cannot take (``write`` raises WriteError
    ``path: cannot write: ...``; the caller decides whether that stops the monitor)
    leaves the file as it was; so does opening, with the error kept in ``unwritten``
    (a new file's header on a full disk) and the next ``write`` trying again.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._end: int | None = None  # offset of the final "</alerts>"; None: unknown
        self.unwritten: WriteError | None = None  # why opening could not write
        self.reopen()

    def reopen(self) -> None:
        """(Re)open the file: after log rotation, or from ``__init__``; through
        ndpmon.files.secure, so a link or someone else's file there is refused."""
        self.close()
        try:  # no link, FIFO, device, hard link or other account's file (issue 14)
            self._fd = secure.open_output(self.path)
        except OSError as exc:
            raise self._error("cannot open", exc) from None
        self.unwritten = None
        try:
            self._ready()
        except WriteError as exc:
            self.unwritten = exc  # a full disk: the next write tries again
        except BaseException:
            self.close()
            raise

    def _error(self, what: str, exc: OSError) -> WriteError:
        return WriteError(self.path, f"{what}: {exc.strerror or exc}")

    def _ready(self) -> None:
        """Find the final ``</alerts>``: write the header into an empty file, repair a
        file that ends inside an ``<alert>`` (``_repair``)."""
        assert self._fd is not None
        self._end = None
        try:
            size = os.fstat(self._fd).st_size
            data = append.tail(self._fd, size, _TAIL)
            last = data.rstrip(b" \t\r\n\0")  # NULs: a crash after the size grew
            if not last and size <= _TAIL:  # empty (or blank): start a new file
                self._end = self._rewrite(0, HEADER.encode()) - len(_CLOSE_NL)
            elif last.endswith(_CLOSE):
                self._end = size - len(data) + len(last) - len(_CLOSE)
            else:
                self._repair(size)
        except OSError as exc:
            raise self._error("cannot write", exc) from None

    def _repair(self, size: int) -> None:
        """Cut a file that ends inside an ``<alert>`` (a ``kill -9`` during a write, a
        crash, a full disk) back to its last complete ``</alert>``, close it with
        ``</alerts>`` and log one line; refuse (ConfigError) a file that has no
        ``<alerts>`` at its top, or text after its ``</alerts>``."""
        assert self._fd is not None
        head = os.pread(self._fd, _TAIL, 0)
        if size < len(HEADER) and HEADER.encode().startswith(head):  # cut in the header
            self._end = self._rewrite(0, HEADER.encode()) - len(_CLOSE_NL)
            log.warning("%s: ended inside its header (kill -9 or a crash): header written "
                        "again", self.path)
            return
        if b"<alerts>" in head:
            end = append.last_end(self._fd, size, (b"</alert>", b"<alerts>"))
        else:
            end = None
        if end is None or _CLOSE in os.pread(self._fd, size - end, end):
            raise ConfigError(self.path, None, "not an alerts file: does not end with "
                                               "</alerts>")
        self._end = self._rewrite(end, b"\n" + _CLOSE_NL) - len(_CLOSE_NL)
        log.warning("%s: ended inside an <alert> (kill -9, a crash or a full disk): cut "
                    "back to its last complete alert, %d bytes dropped, and closed with "
                    "</alerts>", self.path, size - end)

    def _rewrite(self, offset: int, data: bytes) -> int:
        """Cut the file at ``offset`` and write ``data`` there; return the new size."""
        assert self._fd is not None
        os.ftruncate(self._fd, offset)
        return append.write_whole(self._fd, data, offset)

    def write(self, alerts: Iterable[Alert]) -> None:
        """Append the alerts (one write for the whole batch), whole or not at all."""
        if self._fd is None:
            raise WriteError(self.path, "cannot write: file is closed")
        block = "".join(render_alert(alert) for alert in alerts).encode("utf-8")
        if not block:
            return
        try:
            if (self._end is None
                    or os.fstat(self._fd).st_size != self._end + len(_CLOSE_NL)):
                self._ready()  # unknown, or changed behind our back: look again
            size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise self._error("cannot write", exc) from None
        assert self._end is not None
        try:
            new_size = append.write_whole(self._fd, block + _CLOSE_NL, self._end)
        except OSError as exc:
            self._restore()
            raise self._error("cannot write", exc) from None
        if size > new_size:  # blank lines after the old </alerts>
            append.cut(self._fd, new_size)
        self._end = new_size - len(_CLOSE_NL)
        self.unwritten = None

    def _restore(self) -> None:
        """After a failed write (cut back to where it began), put the closing tag back
        where it was; if even that fails, the next write (or open) repairs the file."""
        assert self._fd is not None and self._end is not None
        try:
            append.write_whole(self._fd, _CLOSE_NL, self._end)
        except OSError:
            self._end = None

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> AlertsXml:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# -- reading ----------------------------------------------------------------------------


def closed(data: bytes) -> bytes:
    """The text of an alerts.xml that a crash cut inside an ``<alert>`` (it does not end
    with ``</alerts>``) cut back to its last complete alert and closed, as AlertsXml
    repairs it at open; any other text as it is (the parser says what is wrong)."""
    last = data.rstrip(b" \t\r\n\0")
    if last.endswith(_CLOSE) or b"<alerts>" not in data[:_TAIL]:
        return data
    end = last.rfind(b"</alert>")
    end = end + len(b"</alert>") if end >= 0 else last.find(b"<alerts>") + len(b"<alerts>")
    if _CLOSE in last[end:]:
        return data  # text after the end: not a cut
    return last[:end] + b"\n" + _CLOSE_NL



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
