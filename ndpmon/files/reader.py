"""Parse the XML files ndpmon reads (config, cache) one safe way, with one-line errors.

Both files come from disk and may be hostile or broken: the parser never fetches a URL,
never loads a DTD by itself and never expands an entity; a file that is not well-formed
becomes ``file:line: not well-formed XML: <libxml2's reason>``.

``read`` gets the bytes without trusting the path either: a FIFO would block ``open()``
for ever and ``/dev/zero`` never ends, so only a regular file is read, and only up to a
size cap, checked before reading (SECURITY.md, tests/test_hostile_files.py).
"""

from __future__ import annotations

import os
import shlex
import stat
from typing import Any, BinaryIO, Iterator

from lxml import etree

from ndpmon.errors import ConfigError

__all__ = ["parse", "iterparse", "first_error", "read", "open_regular", "MAX_CONFIG_BYTES",
           "MAX_CACHE_BYTES"]

#: A config is a few kB; 16 MiB leaves room for thousands of routers.
MAX_CONFIG_BYTES = 16 * 2**20
#: A cache at the default caps (100000 neighbours) with one address each is about 70 MB.
MAX_CACHE_BYTES = 512 * 2**20

#: NDPMon 2.1's learning mode wrote DNSSL names as raw label bytes (COMPATIBILITY.md §7.4).
HINT_CONTROL = (" (a control character; NDPMon 2.1 wrote DNSSL domains that way in "
                "learning mode: `ndpmon upgrade {path} --in-place` writes them as names)")


def first_error(log: Any, line: int | None, message: str) -> tuple[int | None, str]:
    """Line and cleaned text of the first error in a libxml2 error log (else the given)."""
    for entry in log.filter_from_errors():
        line, message = entry.line, entry.message
        break
    return line, " ".join(message.split()).replace(" )", ")")


def _open_fd(path: str) -> int:
    """Open for reading without blocking (a FIFO with no writer would block open())."""
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


def open_regular(path: str, limit: int | None = None, what: str = "") -> BinaryIO:
    """``path`` open for reading in binary, if it is a regular file (of at most ``limit``
    bytes, when given).

    Raises FileNotFoundError for a missing file and ConfigError ``path: cannot
    read<what>: <reason>`` for anything else (a FIFO, a device, a directory, too large).
    """
    try:
        fd = _open_fd(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise _refuse(path, what, getattr(exc, "strerror", None) or str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _refuse(path, what, os.strerror(21))  # EISDIR: "Is a directory"
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, what, "not a regular file")
        if limit is not None and info.st_size > limit:
            raise _too_large(path, what, limit)
        return os.fdopen(os.dup(fd), "rb")
    except OSError as exc:
        raise _refuse(path, what, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _refuse(path: str, what: str, reason: str) -> ConfigError:
    return ConfigError(path, None, f"cannot read{what}: {reason}")


def _too_large(path: str, what: str, limit: int) -> ConfigError:
    return _refuse(path, what, f"too large (over {limit // 2**20} MiB)")


def read(path: str, limit: int, what: str = "") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises FileNotFoundError for a missing file and ConfigError ``path: cannot
    read<what>: <reason>`` for anything else.
    """
    with open_regular(path, limit, what) as file:
        try:
            data = _read_all(file, limit)
        except OSError as exc:
            raise _refuse(path, what, exc.strerror or str(exc)) from None
    if len(data) > limit:  # grew while we read
        raise _too_large(path, what, limit)
    return data


def _read_all(file: BinaryIO, limit: int) -> bytes:
    """The file's bytes, at most ``limit + 1``; the buffer is sized to the file, not to
    ``limit`` (a memory limit, RLIMIT_AS, counts what is reserved)."""
    parts, total, want = [], 0, os.fstat(file.fileno()).st_size + 1
    while total <= limit:
        part = file.read(min(want, limit + 1 - total))
        if not part:
            break
        parts.append(part)
        total, want = total + len(part), 2**20
    return b"".join(parts)


def parse(path: str, data: bytes) -> tuple[etree._ElementTree, Any]:
    """The document tree of ``data`` (read from ``path``) and the parser's error log."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=False)
    try:
        root = etree.fromstring(data, parser, base_url=path)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(path, parser.error_log, exc) from None
    return root.getroottree(), parser.error_log


def iterparse(path: str, file: BinaryIO) -> Iterator[tuple[str, etree._Element]]:
    """The ``start`` and ``end`` events of the document in ``file`` (read from ``path``),
    parsed as ``parse`` does (no URL, no DTD, no entity expanded), a block at a time:
    the caller removes what it has used, so memory does not grow with the file.
    Comments and processing instructions are left out."""
    events = etree.iterparse(file, events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        yield from events
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(path, events.error_log, exc) from None


def _syntax_error(path: str, log: Any, exc: etree.XMLSyntaxError) -> Exception:
    """The one-line ConfigError for a parse error (MemoryError under a memory limit)."""
    if exc.code == etree.ErrorTypes.ERR_NO_MEMORY:
        return MemoryError(f"{path}: out of memory while parsing")
    line, message = first_error(log, exc.lineno, exc.msg)
    if "invalid Char value" in message:
        message += HINT_CONTROL.format(path=shlex.quote(path))
    return ConfigError(path, line, f"not well-formed XML: {message}")
