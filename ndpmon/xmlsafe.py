"""Parse the XML files ndpmon reads (config, cache) one safe way, with one-line errors.

Both files come from disk and may be hostile or broken: the parser never fetches a URL,
never loads a DTD by itself and never expands an entity; a file that is not well-formed
becomes ``file:line: not well-formed XML: <libxml2's reason>``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .errors import ConfigError

__all__ = ["parse", "first_error"]

#: NDPMon 2.1's learning mode wrote DNSSL names as raw label bytes (REFERENCE B4).
HINT_CONTROL = (" (a control character; NDPMon 2.1 wrote DNSSL domains that way in "
                "learning mode: write the domain in dotted form, e.g. example.com)")


def first_error(log: Any, line: int | None, message: str) -> tuple[int | None, str]:
    """Line and cleaned text of the first error in a libxml2 error log (else the given)."""
    for entry in log.filter_from_errors():
        line, message = entry.line, entry.message
        break
    return line, " ".join(message.split()).replace(" )", ")")


def parse(path: str, data: bytes) -> tuple[etree._ElementTree, Any]:
    """The document tree of ``data`` (read from ``path``) and the parser's error log."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_comments=False)
    try:
        root = etree.fromstring(data, parser, base_url=path)
    except etree.XMLSyntaxError as exc:
        line, message = first_error(parser.error_log, exc.lineno, exc.msg)
        if "invalid Char value" in message:
            message += HINT_CONTROL
        raise ConfigError(path, line, f"not well-formed XML: {message}") from None
    return root.getroottree(), parser.error_log
