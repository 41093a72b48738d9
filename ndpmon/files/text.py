"""Text as ndpmon's XML files hold it: one escaping rule for every file it writes.

alerts.xml and neighbor_list.xml are written as text, not through an XML library (the
writers must be fast and byte-compatible with NDPMon 2.1's libxml2 output), so both
escape values here, the way libxml2 does.

alerts.xml holds text from packets (a DNSSL label, a rule's message), so its element
text is kept on the line it starts on (``xml_escape_line``): a LAN station must not
choose whole lines of a file root writes (issue 14).
"""

from __future__ import annotations

import re

__all__ = ["xml_escape", "xml_escape_line"]

# Characters XML 1.0 does not allow anywhere (not even as &#...; references).
_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR = {**_TEXT, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
_TEXT_RE = re.compile("[&<>\r]")
_ATTR_RE = re.compile('[&<>\r"\n\t]')
# What xml_escape_line makes visible: every C0 and C1 control, DEL, the Unicode line and
# paragraph separators, and what XML forbids.
_NOT_LINE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd"
                       "\U00010000-\U0010ffff]")


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


def xml_escape_line(text: str) -> str:
    """``text`` escaped for element text that never breaks a line: every control
    character (newline, carriage return and tab included) becomes a visible escape
    (``\\x0a``), so no line of the file starts with it.

    Only a newline that ends ``text`` stays: NDPMon's ``new IP`` and ``new lla``
    messages end with one, and alerts.xml stays byte-compatible with the original's
    (COMPATIBILITY.md §2.3); packet text before it still cannot begin a line.
    """
    end = "\n" if text.endswith("\n") else ""
    text = _NOT_LINE.sub(_visible, text[:-1] if end else text)
    return _TEXT_RE.sub(lambda m: _TEXT[m.group()], text) + end
