"""Text from packets made safe for every text output: one rule, and the XML escaping.

A LAN station chooses the bytes of a DNSSL label, and they reach the alert message.
Every output that shows text to a person or a program that splits it into lines (the
console, syslog, mail subjects, alerts.xml) must show those bytes without obeying
them: no line break that forges a syslog record or a line of alerts.xml, no escape
sequence that drives the admin's terminal, no C1 control (U+0080-U+009F: NEL splits a
line for ``str.splitlines()``, CSI drives some terminals), no Unicode line or paragraph
separator. ``printable`` writes each of them visibly as ``\\x1b`` or ``\\u2028``
(characters XML 1.0 forbids and lone surrogates too); printable text, non-ASCII
included, is kept as it is (issue 15, item 7).

alerts.xml and neighbor_list.xml are written as text, not through an XML library (the
writers must be fast and byte-compatible with NDPMon 2.1's libxml2 output), so both
escape values here, the way libxml2 does; alerts.xml's element text is ``printable``
first (``xml_escape_line``), so a LAN station never chooses whole lines of a file root
writes (issue 14).
"""

from __future__ import annotations

import re

__all__ = ["printable", "printable_line", "xml_escape", "xml_escape_line"]

# Characters XML 1.0 does not allow anywhere (not even as &#...; references).
_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR = {**_TEXT, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
_TEXT_RE = re.compile("[&<>\r]")
_ATTR_RE = re.compile('[&<>\r"\n\t]')
# What printable makes visible: every C0 and C1 control, DEL, the Unicode line and
# paragraph separators, lone surrogates and what XML forbids (U+FFFE, U+FFFF).
_UNPRINTABLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd"
                          "\U00010000-\U0010ffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character (C0 with tab and newline, DEL, C1), U+2028,
    U+2029, lone surrogates, U+FFFE and U+FFFF written visibly as ``\\x1b`` or
    ``\\u2028``: the result is one line that drives no terminal."""
    return _UNPRINTABLE.sub(_visible, text)


def printable_line(text: str) -> str:
    """``printable``, except a newline that ends ``text``: NDPMon's ``new IP`` and
    ``new lla`` messages end with one (alerts.xml and syslog keep it, as the original
    did); packet text before it still cannot begin a line."""
    if text.endswith("\n"):
        return printable(text[:-1]) + "\n"
    return printable(text)


def xml_escape(text: str, attribute: bool = False) -> str:
    """``text`` escaped as libxml2 does for element text (or attribute values).

    Characters XML 1.0 forbids become visible escapes (``\\x07``, ``\\ud800``)
    instead of making the file unreadable.
    """
    text = _INVALID.sub(_visible, text)
    if attribute:
        return _ATTR_RE.sub(lambda m: _ATTR[m.group()], text)
    return _TEXT_RE.sub(lambda m: _TEXT[m.group()], text)


def xml_escape_line(text: str) -> str:
    """``text`` as element text that never breaks a line: ``printable_line``, then the
    XML escapes. Only a newline that ends ``text`` stays, so alerts.xml stays
    byte-compatible with the original's (COMPATIBILITY.md §2.3)."""
    return _TEXT_RE.sub(lambda m: _TEXT[m.group()], printable_line(text))
