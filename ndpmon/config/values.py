"""Tiny converters from config text to typed values.

Each converter takes the text of one XML element or attribute, strips the
whitespace around it, and returns the typed value, or raises ``ValueError``
with a short human message that names the expected kind of value and quotes
the text (``not a MAC address: 'zz'``).  ndpmon.config.build adds the file, line and
element to that message; nothing here knows about XML.

Addresses come out in the form the packet decoder produces (16-byte and
6-byte ``bytes``), so the checks compare raw values.
"""

from __future__ import annotations

import re
from socket import AF_INET, AF_INET6, inet_pton
from urllib.parse import parse_qs, urlsplit

from ndpmon.codec.addr import masked
from ndpmon.config.model import Guard

__all__ = [
    "quote",
    "mac",
    "ipv6",
    "u8",
    "u16",
    "u32",
    "positive",
    "prefix_len",
    "boolean01",
    "syslog_facility",
    "guard",
    "domain",
    "probe_type",
    "one_line",
    "seconds",
    "window",
    "duration",
    "DURATION_UNITS",
    "relay",
    "size",
    "file_count",
    "SYSLOG_FACILITIES",
    "SIZE_UNITS",
    "MAX_SIZE",
]

#: The facility names NDPMon 2.1 accepts (settings.c:33-116), and no others.
SYSLOG_FACILITIES = frozenset(
    [f"LOG_LOCAL{i}" for i in range(8)]
    + [
        "LOG_USER",
        "LOG_MAIL",
        "LOG_DAEMON",
        "LOG_AUTH",
        "LOG_SYSLOG",
        "LOG_LPR",
        "LOG_NEWS",
        "LOG_UUCP",
        "LOG_CRON",
        "LOG_AUTHPRIV",
        "LOG_FTP",
    ]
)

_QUOTE_MAX = 40
# Six groups of 1 or 2 hex digits, all separated by ':' or all by '-'.
_MAC_RE = re.compile(
    r"[0-9A-Fa-f]{1,2}(?P<sep>[:-])(?:[0-9A-Fa-f]{1,2}(?P=sep)){4}[0-9A-Fa-f]{1,2}"
)
_GUARD_RE = re.compile(r"(CEASE|LAUNCH) +AFTER +([0-9]{1,3})")


def quote(text: str) -> str:
    """``text`` in single quotes, repr-like, cut to about 40 characters.

    Control characters are escaped so that an error message stays on one line.
    """
    if len(text) > _QUOTE_MAX:
        text = text[:_QUOTE_MAX] + "..."
    out = []
    for ch in text:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "'" + "".join(out) + "'"


def _fail(what: str, text: str) -> ValueError:
    return ValueError(f"{what}: {quote(text)}")


def mac(text: str) -> bytes:
    """A MAC address as 6 bytes.

    Accepts ether_ntoa's unpadded form (``0:11:22:33:44:55``, what NDPMon
    writes), the padded form, either case, and ``-`` as separator.
    """
    value = text.strip()
    if not _MAC_RE.fullmatch(value):
        raise _fail("not a MAC address", value)
    return bytes(int(part, 16) for part in re.split("[:-]", value))


def ipv6(text: str) -> bytes:
    """An IPv6 address (any RFC 4291 text form) as 16 bytes."""
    value = text.strip()
    try:
        return inet_pton(AF_INET6, value)
    except (OSError, ValueError):
        raise _fail("not an IPv6 address", value) from None


def _ranged(text: str, low: int, high: int, what: str) -> int:
    """A decimal integer from ``low`` to ``high``; ``what`` names it in errors."""
    value = text.strip()
    ok = value.isascii() and value.isdigit() and len(value) <= 20
    if not ok or not low <= int(value) <= high:
        raise _fail(f"not {what} from {low} to {high}", value)
    return int(value)


def u8(text: str) -> int:
    """An unsigned 8-bit number (hop limit, flags byte, guard count)."""
    return _ranged(text, 0, 0xFF, "a number")


def u16(text: str) -> int:
    """An unsigned 16-bit number (router lifetime)."""
    return _ranged(text, 0, 0xFFFF, "a number")


def u32(text: str) -> int:
    """An unsigned 32-bit number (timers, MTU, option lifetimes)."""
    return _ranged(text, 0, 0xFFFF_FFFF, "a number")


def positive(text: str) -> int:
    """A count of at least 1 that fits in 32 bits (the ``<limits>`` bounds)."""
    return _ranged(text, 1, 0xFFFF_FFFF, "a number")


def prefix_len(text: str) -> int:
    """An IPv6 prefix length, 0 to 128."""
    return _ranged(text, 0, 128, "a prefix length")


def prefix(text: str) -> tuple[bytes, int]:
    """``ADDRESS/LENGTH`` (a bare address is /128) as (16 bytes with the host bits
    cleared, length)."""
    value = text.strip()
    addr, slash, length = value.partition("/")
    size = prefix_len(length) if slash else 128
    return masked(ipv6(addr), size), size


def boolean01(text: str) -> bool:
    """NDPMon's switches: ``1`` is on, ``0`` is off, anything else is refused.

    NDPMon itself treated every value other than ``1`` as off, which turns a
    typo like ``yes`` into a silently disabled feature.
    """
    value = text.strip()
    if value not in ("0", "1"):
        raise _fail("not 0 or 1", value)
    return value == "1"


def syslog_facility(text: str) -> str:
    """One of the syslog facility names NDPMon accepts, e.g. ``LOG_LOCAL1``."""
    value = text.strip()
    if value not in SYSLOG_FACILITIES:
        raise _fail("not a syslog facility", value)
    return value


def guard(text: str) -> Guard:
    """A countermeasure guard (COMPATIBILITY.md §4.10).

    ``SUPPRESS``, ``RESPOND``, ``CEASE AFTER n`` or ``LAUNCH AFTER n`` with n
    from 0 to 255.  The kind is kept as written without the count:
    ``Guard("CEASE AFTER", 10)``.  NDPMon turned anything else into SUPPRESS;
    we refuse it, since a mistyped guard would silently disable a
    countermeasure.
    """
    value = text.strip()
    if value in ("SUPPRESS", "RESPOND"):
        return Guard(value, 0)
    match = _GUARD_RE.fullmatch(value)
    if not match or int(match.group(2)) > 255:
        raise _fail("not a countermeasure guard", value)
    return Guard(f"{match.group(1)} AFTER", int(match.group(2)))


def domain(text: str) -> str:
    """A DNS search domain, normalized: lower case, without the final dot.

    The DNSSL check compares these with the names decoded from RFC 8106
    options, so both sides use the same spelling.  Refuses empty names,
    labels over 63 characters, names over 253 and control characters
    (NDPMon's learning mode wrote raw label bytes into the config, COMPATIBILITY.md §7.4).
    """
    value = text.strip()
    name = value.lower()
    if name.endswith("."):
        name = name[:-1]
    bad_label = any(not 0 < len(label) <= 63 for label in name.split("."))
    printable = name.isprintable() and " " not in name
    if not name or len(name) > 253 or bad_label or not printable:
        raise _fail("not a domain name", value)
    return name


def probe_type(text: str) -> str:
    """A ``<probe type>``: ``interface`` (a capture point) or ``remote``."""
    value = text.strip()
    if value not in ("interface", "remote"):
        raise _fail("not 'interface' or 'remote'", value)
    return value


def one_line(text: str) -> str:
    """Free text on a single line, e.g. a mail address (no header smuggling)."""
    value = text.strip()
    if not value.isprintable():
        raise _fail("not a single line of text", value)
    return value


#: The units a duration may end in (``90s``, ``30m``, ``12h``, ``7d``); none: seconds.
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str, *, units: bool = True) -> float:
    """The one duration parser: a decimal number of seconds (``2.5``), with ``units``
    also ``90s``, ``30m``, ``12h`` or ``7d``, as seconds.

    Raises ``ValueError("not a duration: '...'")`` for text that is no number. The range
    is the caller's: each use has its own bounds and message (``seconds``, ``window``,
    ``ndpmon --learn-for``, npd6's ``discovery``); NaN passes here and fails every range.
    """
    value = text.strip().lower()
    scale = DURATION_UNITS.get(value[-1:], 0) if units else 0
    try:
        return float(value[:-1] if scale else value) * (scale or 1)
    except ValueError:
        raise _fail("not a duration", text.strip()) from None


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more, at most a day (``2.5`` is allowed)."""
    value = text.strip()
    try:
        number = duration(value, units=False)
    except ValueError:
        raise _fail("not a number of seconds", value) from None
    if not 0 <= number <= 86400:
        raise _fail("not a number of seconds from 0 to 86400", value)
    return number


def window(text: str) -> float:
    """A time window in seconds: more than 0, at most a day."""
    number = seconds(text)
    if number <= 0:
        raise _fail("not a number of seconds from 0 to 86400 (0 excluded)", text.strip())
    return number


#: The units a size may end in (binary: ``64M`` is 64 MiB); none: bytes.
SIZE_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}
#: The largest size: what ``ndpmon report`` and ``query`` read of an alerts.xml
#: (ndpmon.formats.alertsxml.MAX_ALERTS_BYTES).
MAX_SIZE = 2**30
_MIN_SIZE = 4096


def size(text: str) -> int:
    """A file size: bytes, or with ``K``, ``M`` or ``G`` (``64M``: 64 MiB), from 4K to
    1G."""
    value = text.strip()
    scale = SIZE_UNITS.get(value[-1:].lower(), 0)
    digits = value[:-1] if scale else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 12):
        raise _fail("not a size (bytes, or a number with K, M or G)", value)
    number = int(digits) * (scale or 1)
    if not _MIN_SIZE <= number <= MAX_SIZE:
        raise _fail("not a size from 4K to 1G", value)
    return number


def file_count(text: str) -> int:
    """How many files to keep: 1 to 100."""
    return _ranged(text, 1, 100, "a number of files")


_RELAY_RE = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+))(?::(?P<port>\d{1,5}))?")


def relay(text: str) -> tuple[str, int]:
    """An SMTP relay: ``host``, ``host:port`` or ``[ipv6]:port`` (port 25 by default)."""
    value = text.strip()
    match = _RELAY_RE.fullmatch(value)
    port = int(match.group("port") or 25) if match else 0
    if not match or not 0 < port < 65536:
        raise _fail("not a mail relay (host or host:port)", value)
    host = match.group("v6") or match.group("host")
    if match.group("v6"):
        ipv6(host)
    return host, port


_SCHEMES = ("postgresql://", "postgres://")
_KEY_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.I)


def store_url(text: str) -> str:
    """A libpq URL or ``key=value`` string, refused if it holds a password."""
    url = text.strip()
    if not url or not url.isprintable():
        raise ValueError("not a PostgreSQL URL")
    if url.lower().startswith(_SCHEMES):
        parts = urlsplit(url)
        if parts.password is not None or "password" in parse_qs(parts.query):
            raise ValueError("the URL holds a password: put it in password_file or "
                             "PGPASSWORD / ~/.pgpass instead")
    elif "=" not in url:
        raise ValueError(f"not a PostgreSQL URL (postgresql://host/db): {url[:40]!r}")
    elif _KEY_PASSWORD.search(url):
        raise ValueError("the connection string holds a password: put it in "
                         "password_file or PGPASSWORD / ~/.pgpass instead")
    return url


_LISTEN_FORMS = "IPv4:PORT, [IPv6]:PORT or PORT"


def listen(text: str) -> tuple[str, int]:
    """``<metrics listen>``: ``IPv4:PORT``, ``[IPv6]:PORT`` or ``PORT`` (on 127.0.0.1).

    The host is an IP address, never a name: what a listener is reachable on must not
    depend on name resolution."""
    value = text.strip()
    host, port = "127.0.0.1", value
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep or ":" not in host:
            raise _fail(f"not a listen address ({_LISTEN_FORMS})", value)
        ipv6(host)
    elif ":" in value:
        host, _, port = value.partition(":")
        try:
            inet_pton(AF_INET, host)
        except (OSError, ValueError):
            raise _fail(f"not a listen address ({_LISTEN_FORMS}; an IP address, "
                        "not a host name)", value) from None
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise _fail(f"not a listen address ({_LISTEN_FORMS}; the port 1-65535)", value)
    return host, int(port)
