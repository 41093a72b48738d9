"""Text as ndpmon's XML files hold it: one escaping rule for every file it writes.

alerts.xml and neighbor_list.xml are written as text, not through an XML library (the
writers must be fast and byte-compatible with NDPMon 2.1's libxml2 output), so both
escape values here, the way libxml2 does.
"""

from __future__ import annotations

import re

__all__ = ["xml_escape"]

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
