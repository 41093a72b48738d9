"""alerts.xml, NDPMon 2.x's alert log: its writer and renderer (reading it back:
ndpmon.formats.alertsread).

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
  ``\\x07``-style escapes. Given a ``size``, it rotates the file before a write would
  take it over that size (alerts.xml.1, .2, ..., ``files`` in all; ndpmon.files.rotate),
  so alerts.xml never grows without bound (issue 16); each rotated file is a whole
  alerts.xml, closed with ``</alerts>``, that ``ndpmon report`` and ``query`` read.
* ``closed``: what a cut file becomes, for the writer's repair and the readers alike.
* ``render_alert`` and ``document`` give the same text for alerts from elsewhere (the
  store's, for the web report).
* ``beside_cache``: where alerts.xml is when no path is given.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable


from ndpmon.checks.alert import Alert
from ndpmon.codec.addr import UNSPECIFIED, ip_short, mac_str
from ndpmon.errors import ConfigError, WriteError
from ndpmon.files import append, rotate, secure
from ndpmon.files.text import xml_escape_line

__all__ = ["AlertsXml", "HEADER", "render_alert", "document", "beside_cache", "closed",
           "MAX_ALERTS_BYTES"]

#: What a new alerts.xml holds: NDPMon's shipped template (install/alerts.xml).
HEADER = (
    '<?xml version="1.0"?>\n'
    '<?xml-stylesheet type="text/xsl" href="alerts.xsl"?>\n'
    "<alerts>\n"
    "</alerts>\n"
)
#: Reading stops at this size (one line, exit 2); ndpmon rotates alerts.xml at
#: ``<delivery alerts_xml_size>`` (64 MiB by default, at most this).
MAX_ALERTS_BYTES = 1024 * 2**20


_CLOSE = b"</alerts>"
_CLOSE_NL = _CLOSE + b"\n"
_TAIL = 4096  # how much of an existing file is read to find its closing tag
_EMPTY_END = len(HEADER) - len(_CLOSE_NL)  # where "</alerts>" is in a file of no alert
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

    ``size`` (bytes; None: never rotated) and ``files``: rotation, see ``limit``.
    """

    def __init__(self, path: str, size: int | None = None, files: int = 5) -> None:
        self.path = path
        self.size, self.files = size, files
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

    def limit(self, size: int | None, files: int) -> None:
        """Rotate before a write would take the file over ``size`` bytes (None: never),
        keeping ``files`` files in all (alerts.xml, alerts.xml.1, ...)."""
        self.size, self.files = size, files

    def write(self, alerts: Iterable[Alert]) -> None:
        """Append the alerts (one write for the whole batch), whole or not at all; a
        batch that a rotation splits is written in two, each whole or not at all."""
        if self._fd is None:
            raise WriteError(self.path, "cannot write: file is closed")
        blocks = [render_alert(alert).encode("utf-8") for alert in alerts]
        rotated = False
        while blocks:
            size = self._check()
            count = self._fitting(blocks, size)
            if count == 0 and not rotated and self._end != _EMPTY_END:
                self._rotate()
                rotated = True
                continue
            count = max(count, 1)  # an alert larger than the size: alone in its file
            self._append(b"".join(blocks[:count]), size)
            blocks, rotated = blocks[count:], False

    def _check(self) -> int:
        """The file's size, after ``_ready`` if where its end is is unknown or the file
        changed behind our back."""
        assert self._fd is not None
        try:
            size = os.fstat(self._fd).st_size
            if self._end is None or size != self._end + len(_CLOSE_NL):
                self._ready()
                size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise self._error("cannot write", exc) from None
        return size

    def _fitting(self, blocks: list[bytes], size: int) -> int:
        """How many of ``blocks`` fit in the file of ``size`` bytes, at most."""
        if self.size is None:
            return len(blocks)
        room, count = self.size - size, 0
        for block in blocks:
            room -= len(block)
            if room < 0:
                break
            count += 1
        return count

    def _append(self, block: bytes, size: int) -> None:
        """Write ``block`` over the closing tag and close again, in one system call."""
        assert self._fd is not None and self._end is not None
        try:
            new_size = append.write_whole(self._fd, block + _CLOSE_NL, self._end)
        except OSError as exc:
            self._restore()
            raise self._error("cannot write", exc) from None
        if size > new_size:  # blank lines after the old </alerts>
            append.cut(self._fd, new_size)
        self._end = new_size - len(_CLOSE_NL)
        self.unwritten = None

    def _rotate(self) -> None:
        """alerts.xml becomes alerts.xml.1 (and so on), and a new one is started."""
        assert self._fd is not None
        try:
            rotate.shift(self.path, self.files, self._fd)
        except OSError as exc:
            raise self._error("cannot rotate", exc) from None
        self.reopen()
        if self.unwritten is not None:
            raise self.unwritten

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


# -- what a cut file becomes (the writer's repair, the readers' view) ----------------


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



