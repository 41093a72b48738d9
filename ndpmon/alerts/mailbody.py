"""The "mail message" NDPMon sends by mail and to exec_pipe_program, and its DNS line.

Scripts written for NDPMon parse this body (COMPATIBILITY.md §5.3), so it is reproduced byte for
byte: ``"%-9s%s\\n"`` lines for Reason, MAC, MAC2, IPv6 and DNS. The DNS line needs a
reverse lookup, which can hang for seconds on a broken resolver; ``ReverseDns`` bounds
it with a timeout and a cache so that a flood of alerts cannot stall delivery.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import OrderedDict
from typing import Callable

from ndpmon.checks.alert import Alert
from ndpmon.codec.addr import UNSPECIFIED, ip_short, mac_str
from ndpmon.files.text import printable

__all__ = ["mail_body", "body_for", "addresses", "advertised_text", "ReverseDns",
           "UNKNOWN_HOST", "TIMEOUT"]

log = logging.getLogger("ndpmon")

UNKNOWN_HOST = "<Unknown host>"
TIMEOUT = "<timeout>"
_NONE_MAC = bytes(6)


def _line(label: str, value: str) -> str:
    return "%-9s%s\n" % (label, printable(value))


def addresses(alert: Alert, absent: str) -> tuple[str, str, str]:
    """MAC, MAC2 and IPv6 as text; ``absent`` for a missing or all-zero one (NDPMon
    stored "none" as zeros, COMPATIBILITY.md §5.3)."""
    mac = mac_str(alert.mac) if alert.mac else absent
    mac2 = mac_str(alert.mac2) if alert.mac2 and alert.mac2 != _NONE_MAC else absent
    ipv6 = ip_short(alert.ipv6) if alert.ipv6 and alert.ipv6 != UNSPECIFIED else absent
    return mac, mac2, ipv6


def mail_body(alert: Alert, dns: str = "n/a") -> str:
    """NDPMon's mail message for ``alert``: five lines, the last ending with ``\\n``.

    When the mac_resolv plugin put the vendors in the alert, ``Vendor:`` follows
    ``MAC:`` and ``Vendor2:`` follows ``MAC2:``, as NDPMon built with mac_resolv wrote.
    """
    mac, mac2, ipv6 = addresses(alert, "n/a")
    vendor = alert.extra.get("vendor")
    if vendor is None:
        return (_line("Reason:", alert.reason) + _line("MAC:", mac) + _line("MAC2:", mac2)
                + _line("IPv6:", ipv6) + _line("DNS:", dns))
    return (_line("Reason:", alert.reason) + _line("MAC:", mac) + _line("Vendor:", vendor)
            + _line("MAC2:", mac2) + _line("Vendor2:", alert.extra.get("vendor2", "n/a"))
            + _line("IPv6:", ipv6) + _line("DNS:", dns))


def advertised_text(alert: Alert) -> str:
    """For a rogue router's alert (its fields from ndpmon.checks.advertised), what it
    advertised, after NDPMon's lines and a blank one; "" for other alerts. The mail gets
    it; the pipe program's input stays NDPMon's (its scripts parse it)."""
    fields = alert.extra
    if "router_lifetime" not in fields or "prefixes" not in fields:
        return ""
    flags = " ".join(fields.get("ra_flags") or ()) or "none"
    lines = [f"router lifetime {fields['router_lifetime']} s, preference "
             f"{fields.get('preference')}, flags {flags}, hop limit {fields.get('hop_limit')}"]
    for p in fields["prefixes"]:
        lines.append(f"prefix {p['prefix']} (flags {' '.join(p['flags']) or 'none'}, valid "
                     f"{p['valid']} s, preferred {p['preferred']} s)")
    lines += [f"RDNSS {r['server']} (lifetime {r['lifetime']} s)" for r in fields["rdnss"]]
    lines += [f"DNSSL {d['domain']} (lifetime {d['lifetime']} s)" for d in fields["dnssl"]]
    lines += [f"route {r['route']} (preference {r['preference']}, lifetime {r['lifetime']} s)"
              for r in fields["routes"]]
    if "mtu" in fields:
        lines.append(f"MTU {fields['mtu']}")
    return "\nAdvertised:\n" + "".join(f"  {printable(line)}\n" for line in lines)


def body_for(alert: Alert, dns: ReverseDns | None) -> str:
    """The body with the DNS line filled in when reverse lookups are on (``dns`` given)."""
    if dns is None or not alert.ipv6 or alert.ipv6 == UNSPECIFIED:
        return mail_body(alert)
    return mail_body(alert, dns.lookup(alert.ipv6))


def _resolve(addr: str) -> str:
    """``gethostbyaddr`` as NDPMon called it; errors become ``<hstrerror text>``."""
    try:
        return socket.gethostbyaddr(addr)[0]
    except socket.herror as exc:
        text = exc.args[1] if len(exc.args) > 1 else ""
        return f"<{text}>" if text else UNKNOWN_HOST
    except (OSError, UnicodeError):
        return UNKNOWN_HOST


class _Lookup:
    """One lookup running in its own daemon thread (a hung resolver cannot block exit)."""

    def __init__(self, resolver: Callable[[str], str], addr: str) -> None:
        self.done = threading.Event()
        self.answer = UNKNOWN_HOST
        self._resolver = resolver
        self._addr = addr

    def resolve(self) -> None:
        """Ask the resolver; ``done`` is set by the owner once the answer is cached."""
        try:
            self.answer = self._resolver(self._addr)
        except Exception as exc:  # a resolver fake or a platform oddity: no name
            log.debug("reverse lookup of %s failed: %s", self._addr, exc)
            self.answer = UNKNOWN_HOST


class ReverseDns:
    """Reverse lookups with a time limit and a bounded cache.

    At most ``max_pending`` lookups run at once (each in a daemon thread); beyond that,
    and for a lookup that does not finish within ``timeout`` seconds, the answer is
    ``<timeout>``. A late answer still fills the cache for the next alert. Names are
    kept ``ttl`` seconds, failures ``fail_ttl`` seconds, ``size`` addresses at most.
    """

    def __init__(self, timeout: float = 1.0, *, resolver: Callable[[str], str] = _resolve,
                 clock: Callable[[], float] = time.monotonic, size: int = 4096,
                 ttl: float = 3600.0, fail_ttl: float = 300.0, max_pending: int = 8) -> None:
        self.timeout = timeout
        self._resolver = resolver
        self._clock = clock
        self._size = size
        self._ttl = ttl
        self._fail_ttl = fail_ttl
        self._max_pending = max_pending
        self._cache: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._pending: dict[bytes, _Lookup] = {}
        self._lock = threading.Lock()

    def lookup(self, addr16: bytes) -> str:
        """The name of ``addr16``, ``<Unknown host>`` (another resolver error in
        ``<>``), or ``<timeout>``."""
        with self._lock:
            cached = self._cached(addr16)
            if cached is not None:
                return cached
            job = self._pending.get(addr16)
            if job is None:
                if len(self._pending) >= self._max_pending:
                    return TIMEOUT
                job = self._submit(addr16)
        if job.done.wait(self.timeout):
            return job.answer
        with self._lock:
            if job.done.is_set():  # finished just now, and cached
                return job.answer
            self._store(addr16, TIMEOUT)  # until the late answer replaces it
        return TIMEOUT

    def _cached(self, addr16: bytes) -> str | None:
        entry = self._cache.get(addr16)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._cache[addr16]
            return None
        self._cache.move_to_end(addr16)
        return entry[0]

    def _submit(self, addr16: bytes) -> _Lookup:
        job = _Lookup(self._resolver, ip_short(addr16))
        self._pending[addr16] = job

        def run() -> None:
            job.resolve()
            with self._lock:  # cached and done together: lookup() sees both or neither
                self._pending.pop(addr16, None)
                self._store(addr16, job.answer)
                job.done.set()

        threading.Thread(target=run, name="ndpmon-dns", daemon=True).start()
        return job

    def _store(self, addr16: bytes, answer: str) -> None:
        failed = answer.startswith("<")
        self._cache[addr16] = (answer, self._clock() + (self._fail_ttl if failed else self._ttl))
        self._cache.move_to_end(addr16)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
