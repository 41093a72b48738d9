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
from typing import Any

from lxml import etree

from ndpmon.errors import ConfigError

__all__ = ["parse", "first_error", "read", "MAX_CONFIG_BYTES", "MAX_CACHE_BYTES"]

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


def read(path: str, limit: int, what: str = "") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises FileNotFoundError for a missing file (the cache treats that as empty) and
    ConfigError ``path: cannot read<what>: <reason>`` for anything else.
    """
    def refuse(reason: str) -> ConfigError:
        return ConfigError(path, None, f"cannot read{what}: {reason}")

    try:
        fd = _open_fd(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise refuse(getattr(exc, "strerror", None) or str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise refuse(os.strerror(21))  # EISDIR: "Is a directory"
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file")
        too_large = refuse(f"too large (over {limit // 2**20} MiB)")
        if info.st_size > limit:
            raise too_large
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew while we read
        raise too_large
    return data


def parse(path: str, data: bytes) -> tuple[etree._ElementTree, Any]:
    """The document tree of ``data`` (read from ``path``) and the parser's error log."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=False)
    try:
        root = etree.fromstring(data, parser, base_url=path)
    except etree.XMLSyntaxError as exc:
        line, message = first_error(parser.error_log, exc.lineno, exc.msg)
        if "invalid Char value" in message:
            message += HINT_CONTROL.format(path=shlex.quote(path))
        raise ConfigError(path, line, f"not well-formed XML: {message}") from None
    return root.getroottree(), parser.error_log
