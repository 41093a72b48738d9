"""Alerts to the local syslog daemon, in the exact form NDPMon's ``syslog(3)`` calls had.

The stdlib ``syslog`` module always writes to /dev/log, and logging's SysLogHandler
adds its own framing; we need a configurable socket (``<delivery syslog_socket>``) and
glibc's wire format, which admins' filters see: ``<PRI>Mmm dd hh:mm:ss NDPMon[pid]:
msg`` over a datagram socket, NUL-terminated over a stream socket (COMPATIBILITY.md §5.5).
Per alert the message is ``" %s "`` around the alert message, at LOG_INFO, whatever
the priority; start and stop are LOG_NOTICE lines.

The message is made printable first (ndpmon.files.text): a DNSSL label holding
``\\n<13>... evil: forged`` must not forge a record of its own with the attacker's
facility and program name (over a stream socket a newline ends a record: rsyslog
imptcp, syslog-ng unix-stream), nor reach the log file as a line of its own. Only the
final newline of NDPMon's ``new IP`` messages is kept over a datagram socket, as
NDPMon sent it (rsyslog writes it ``#012``); over a stream socket it is written
``\\x0a``.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import syslog as _names
import time
from typing import Callable

from ndpmon.alerts.action import Action
from ndpmon.checks.alert import Alert
from ndpmon.files.text import printable_line

__all__ = ["Syslog", "facility_number", "start_text", "STOP_TEXT"]

log = logging.getLogger("ndpmon")

STOP_TEXT = "NDPMon stopped."
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SEND_TIMEOUT = 1.0  # a wedged daemon must not hold delivery for long


def start_text() -> str:
    """NDPMon's start notice."""
    return "NDPMon started by user %d" % os.getuid()


def facility_number(name: str) -> int:
    """``LOG_LOCAL1`` → 136 (the facility already shifted, as the C constants are)."""
    value = getattr(_names, name, None)
    if not name.startswith("LOG_") or not isinstance(value, int):
        raise ValueError(f"not a syslog facility: {name!r}")
    return value


def _stamp(now: float) -> str:
    """glibc's ``%h %e %T`` in the C locale, local time."""
    t = time.localtime(now)
    return "%s %2d %02d:%02d:%02d" % (_MONTHS[t.tm_mon - 1], t.tm_mday,
                                       t.tm_hour, t.tm_min, t.tm_sec)


class Syslog(Action):
    """A tiny syslog client bound to one UNIX socket; failures are logged, not raised.

    ``failures`` counts the alerts that did not leave the process (not the start and
    stop notices); a socket that does not work is logged once until it works again,
    also across a SIGHUP's new instance (``take_over``)."""

    label = "syslog"

    def __init__(self, path: str = "/dev/log", facility: str = "LOG_LOCAL1", *,
                 ident: str = "NDPMon", clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.facility = facility_number(facility)
        self.ident = ident
        self.failures = 0
        self._clock = clock
        self._sock: socket.socket | None = None
        self._stream = False
        self._warned = False

    def start(self) -> None:
        self._connect()

    def notify(self, alert: Alert) -> None:
        if not self.send(_names.LOG_INFO, self.text(alert)):
            self.failures += 1

    def take_over(self, previous: Action) -> None:
        """SIGHUP: this client replaces ``previous``; a warning it gave about the same
        socket is not given again."""
        if isinstance(previous, Syslog) and previous.path == self.path:
            self._warned = previous._warned

    @staticmethod
    def text(alert: Alert) -> str:
        """NDPMon's ``" %s "`` around the alert's message, made printable (but for its
        final newline)."""
        return " %s " % printable_line(alert.message)

    def notice(self, text: str) -> None:
        """A LOG_NOTICE line (start and stop notices)."""
        self.send(_names.LOG_NOTICE, text)

    def stop(self) -> None:
        self._close()

    def frame(self, severity: int, text: str) -> bytes:
        """The bytes glibc would send (without the stream NUL) for ``text``, printable
        but for a message's final newline, which a stream socket gets as ``\\x0a``
        (there it would end the record)."""
        # A NUL would end the C string early and break stream framing: make it visible.
        text = text.replace("\0", "\\x00")
        if self._stream:
            text = text.replace("\n", "\\x0a")
        head = "<%d>%s %s[%d]: " % (self.facility | severity, _stamp(self._clock()),
                                     self.ident, os.getpid())
        return (head + text).encode("utf-8", "backslashreplace")

    def send(self, severity: int, text: str) -> bool:
        """Send one line, reconnecting once; True when it left the process."""
        data = self.frame(severity, text)
        error: OSError | None = None
        for _ in range(2):
            if self._sock is None and not self._connect():
                return self._failed(None)
            try:
                assert self._sock is not None
                if self._stream:
                    self._sock.sendall(data + b"\0")
                else:
                    self._sock.send(data)
            except OSError as exc:
                error = exc
                self._close()
                continue
            self._warned = False
            return True
        return self._failed(error)

    def _connect(self) -> bool:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            sock = socket.socket(socket.AF_UNIX, kind)
            sock.settimeout(_SEND_TIMEOUT)
            try:
                sock.connect(self.path)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EPROTOTYPE:  # a stream socket: try again, as glibc
                    continue
                self._warn(exc)
                return False
            self._sock, self._stream = sock, kind == socket.SOCK_STREAM
            return True
        return False

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _failed(self, error: OSError | None) -> bool:
        if error is not None:
            self._warn(error)
        return False

    def _warn(self, exc: OSError) -> None:
        """One warning until a line gets through again, not one per alert."""
        if not self._warned:
            self._warned = True
            log.warning("syslog socket %s: %s; syslog alerts are dropped until it works",
                        self.path, exc.strerror or exc)
