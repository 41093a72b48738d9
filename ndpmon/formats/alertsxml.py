"""Append alerts to alerts.xml in NDPMon 2.x's format, in constant time per alert.

NDPMon 2.1 re-parsed and rewrote the whole file for every alert (REFERENCE §2.6,
§6.2), so each alert cost O(file size), and a message with control bytes (DNSSL)
was written as an empty ``<message/>``.  Here the file is opened once; only its
last few KB are read, to find the final ``</alerts>``; each batch of ``<alert>``
blocks is written over that closing tag, followed by a new one.  After every
write the file is well-formed XML, byte-compatible with what the original wrote
(children in alphabetical order, two-space indentation), and characters XML 1.0
forbids are kept readable as ``\\x07``-style escapes.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable
from typing import BinaryIO

from ndpmon.checks.alert import Alert
from ndpmon.errors import ConfigError
from ndpmon.codec.addr import UNSPECIFIED, ip_short, mac_str

__all__ = ["AlertsXml", "xml_escape", "HEADER"]

#: What a new alerts.xml holds: NDPMon's shipped template (install/alerts.xml).
HEADER = (
    '<?xml version="1.0"?>\n'
    '<?xml-stylesheet type="text/xsl" href="alerts.xsl"?>\n'
    "<alerts>\n"
    "</alerts>\n"
)

_CLOSE = b"</alerts>"
_TAIL = 4096  # how much of an existing file is read to find its closing tag
_ZERO_MAC = bytes(6)

# Characters XML 1.0 does not allow anywhere (not even as &#...; references).
_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR = {**_TEXT, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
_TEXT_RE = re.compile("[&<>\r]")
_ATTR_RE = re.compile('[&<>\r"\n\t]')


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_escape(text: str, attribute: bool = False) -> str:
    """``text`` escaped as libxml2 does for element text (or attribute values).

    Characters XML 1.0 forbids become visible escapes (``\\x07``, ``\\ud800``)
    instead of making the file unreadable.
    """
    text = _INVALID.sub(_visible, text)
    if attribute:
        return _ATTR_RE.sub(lambda m: _ATTR[m.group()], text)
    return _TEXT_RE.sub(lambda m: _TEXT[m.group()], text)


def _element(tag: str, text: str) -> str:
    """One child line; empty text is ``<tag/>`` as libxml2 writes it."""
    if not text:
        return f"    <{tag}/>\n"
    return f"    <{tag}>{xml_escape(text)}</{tag}>\n"


def _render(alert: Alert) -> str:
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


class AlertsXml:
    """An open alerts.xml to which batches of alerts are appended.

    ``write`` raises ConfigError (``path: cannot write: ...``) when the OS
    refuses; the caller decides whether that stops the monitor.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._end = 0  # offset of the final "</alerts>"
        self.reopen()

    def reopen(self) -> None:
        """(Re)open the file: after log rotation, or from ``__init__``."""
        self.close()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        except OSError as exc:
            raise self._error("cannot open", exc) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO cannot even be buffered
            os.close(fd)
            raise ConfigError(self.path, None, "cannot open: not a regular file")
        self._file = os.fdopen(fd, "r+b")
        try:
            self._end = self._find_end()
        except BaseException:
            self.close()
            raise

    def _error(self, what: str, exc: OSError) -> ConfigError:
        return ConfigError(self.path, None, f"{what}: {exc.strerror or exc}")

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
            raise ConfigError(self.path, None, "cannot write: file is closed")
        block = "".join(_render(alert) for alert in alerts).encode("utf-8")
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
