"""``ndpmon upgrade`` for configs: what NDPMon 1.4, its 802.1Q fork and NDPMon 2.1 wrote,
as a valid config of ndpmon, with the list of what changed.

- NDPMon 1.4 and the fork: rebuilt in ndpmon's structure (ndpmon.config.upgrade14), each
  VLAN's routers in a probe of their own, then indented afresh; comments move with the
  elements they stood before.
- NDPMon 2.1: the file stays as it is but for its faults: elements put in order, missing
  ones NDPMon did without added (ndpmon.config.legacy), DNSSL domains its learning mode
  wrote as raw label bytes decoded into names, its leaked ``<last_dad_address/>`` and
  empty router ``<address/>`` removed, ``<soap>`` commented out.

The raw DNSSL bytes are control characters, so such a file is not XML: only this module
reads it, leniently, by decoding each ``<domain>``'s content before the XML parser sees
it; ndpmon itself still refuses the file. Pure: bytes in, bytes and changes out; the
result is validated against the packaged DTD and converted once before it is returned,
so what ``ndpmon upgrade`` writes is a config ndpmon runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ndpmon.config import legacy, loader
from ndpmon.config.upgrade14 import from_v14
from ndpmon.errors import ConfigError
from ndpmon.files.text import xml_escape

__all__ = ["Result", "upgrade_config", "decode_raw_dnssl"]

Element = etree._Element

DOCTYPE = '<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">'
# the content stops at the next '<' (a '<' in a name is written &lt;): linear time
_DOMAIN = re.compile(rb"(<domain\b[^>]*>)([^<]*)(</domain>)")
_REFS = {b"&amp;": b"&", b"&lt;": b"<", b"&gt;": b">", b"&quot;": b'"', b"&apos;": b"'"}
_REF = re.compile(rb"&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")


@dataclass
class Result:
    """What the input was, the new file (None: nothing to change) and what changed."""

    kind: str
    data: bytes | None = None
    changes: list[str] = field(default_factory=list)


# -- NDPMon 2.1's raw DNSSL bytes --------------------------------------------------------


def _unref(match: re.Match[bytes]) -> bytes:
    ref = match.group()
    if ref in _REFS:
        return _REFS[ref]
    number = int(ref[3:-1], 16) if ref[2:3] in b"xX" else int(ref[2:-1])
    return bytes([number]) if number < 256 else ref


def _labels(raw: bytes) -> str | None:
    """``\\x07example\\x03com`` as ``example.com``; None if it is not all labels."""
    names, i = [], 0
    while i < len(raw) and raw[i] != 0:
        length = raw[i]
        label = raw[i + 1:i + 1 + length]
        if not 0 < length <= 63 or len(label) < length or not all(
                c < 128 and chr(c).isalnum() or c in b"-_" for c in label):
            return None
        names.append(label.decode("ascii"))
        i += 1 + length
    return ".".join(names) if names and not raw[i:].strip(b"\x00") else None


def decode_raw_dnssl(data: bytes) -> tuple[bytes, list[str]]:
    """``data`` with each ``<domain>`` in raw label form (a control byte in it) as a name."""
    changes: list[str] = []

    def fix(match: re.Match[bytes]) -> bytes:
        raw = _REF.sub(_unref, match.group(2))
        if not any(byte < 0x20 for byte in raw):
            return match.group()
        name = _labels(raw)
        if name is None:
            return match.group()
        line = data.count(b"\n", 0, match.start()) + 1
        changes.append(f"line {line}: <domain> {name}: decoded from the raw label bytes "
                       "NDPMon 2.1's learning mode wrote")
        return match.group(1) + xml_escape(name).encode("ascii") + match.group(3)

    return _DOMAIN.sub(fix, data), changes


# -- NDPMon 2.1's other faults -------------------------------------------------------------


def _fix_21(root: Element) -> list[str]:
    """Put a 2.1 tree in ndpmon's form in place; what changed, one line each."""
    notes = _notes(root)
    changes = [f"line {f.line}: {f.text}: added {f.added}" if f.added
               else f"line {f.line}: {f.text}: put in ndpmon's order"
               for parent in list(root.iter(*legacy.ORDER))
               for f in legacy.reorder(parent) + legacy.fill(parent, frozenset(
                   ["ignor_autoconf"]))]
    for el in root.iterfind("probes/probe/last_dad_address"):
        changes.append(f"line {el.sourceline}: <last_dad_address/> removed (NDPMon 2.1's "
                       "internal value, which its learning mode wrote)")
        _remove(el)
    empty = [el for el in root.iterfind(".//router/addresses/address")
             if not "".join(el.itertext()).strip()]
    for el in empty:
        _remove(el)
    if empty:
        changes.append(f"{len(empty)} empty router <address/> removed (NDPMon 2.1's "
                       "learning mode wrote them)")
    return changes + _soap(root) + notes


def _remove(el: Element) -> None:
    """Remove ``el`` and the whitespace before it (an element left empty is ``<x/>``)."""
    parent = el.getparent()
    previous = el.getprevious()
    if previous is not None:
        previous.tail = el.tail
    else:
        parent.text = el.tail
    parent.remove(el)
    if len(parent) == 0 and not (parent.text or "").strip():
        parent.text = None


def _soap(root: Element) -> list[str]:
    """``<soap>`` commented out: it does nothing in ndpmon."""
    changes = []
    for el in root.iterfind("settings/soap"):
        text = etree.tostring(el, encoding="unicode", with_tail=False).replace("--", "- -")
        comment = etree.Comment(f" NDPMon's SOAP, which ndpmon does not have (it has "
                                f"<store>: README \"Distributed monitoring\"): {text} ")
        comment.tail = el.tail
        el.getparent().replace(el, comment)
        changes.append(f"line {el.sourceline}: <soap> commented out: ndpmon has no SOAP; "
                       "see <store> (README \"Distributed monitoring\")")
    return changes


def _notes(root: Element) -> list[str]:
    """What the upgrade cannot decide for the admin."""
    notes = []
    if root.find("settings/store") is None:
        for probe in root.iterfind("probes/probe[@type='remote']"):
            notes.append(f"line {probe.sourceline}: note: remote probe "
                         f"{probe.get('name')}: nothing reports to it without a <store> "
                         "(README \"Distributed monitoring\")")
    high, low = root.find("settings/actions_high_priority"), root.find(
        "settings/actions_low_priority")
    learned = root.find("probes/probe/last_dad_address") is not None
    if learned and high is not None and low is not None and high.attrib == low.attrib:
        notes.append(f"line {low.sourceline}: note: NDPMon 2.1's learning mode wrote the "
                     "high-priority actions into <actions_low_priority> "
                     "(COMPATIBILITY.md §7.7): check them")
    return notes


# -- the whole file ------------------------------------------------------------------------


def upgrade_config(path: str, data: bytes, iface: str | None = None) -> Result:
    """Convert the config ``data`` read from ``path``; ``iface`` is the interface NDPMon
    1.4 listened on (its config names none). Raises ConfigError if the file cannot be
    converted, or the result would not be a valid config (the old file's line)."""
    data, dnssl = decode_raw_dnssl(data)
    tree = loader.parse_data(path, data)
    root = tree.getroot()
    if root.tag != loader.ROOT:
        raise ConfigError(path, root.sourceline,
                          f"the root element is <{root.tag}>, not <{loader.ROOT}>")
    kind = legacy.identify(root)
    if kind == legacy.FOREIGN:
        legacy.refuse_foreign(path, root)
    if kind == legacy.NDPMON:
        changes = dnssl + _fix_21(root)
        if all(": note: " in line for line in changes):
            return Result("config in ndpmon's format (NDPMon 2.1's)", None, changes)
        _check(path, root)
        return Result("NDPMon 2.1 config", _serialize(tree, root), changes)
    if not iface:
        raise ConfigError(path, None, f"{kind} config: it names no interface; give the one "
                                      "NDPMon listened on with -i IFACE")
    new, changes = from_v14(path, root, iface)
    _check(path, new)
    etree.indent(new, space="  ")
    return Result(f"{kind} config", _serialize(tree, new, DOCTYPE), changes)


def _check(path: str, root: Element) -> None:
    """Refuse to write what ndpmon would refuse to run."""
    try:
        loader.check_tree(path, root)
    except ConfigError as exc:
        raise ConfigError(exc.path, exc.line, f"{exc.message} (in the converted config: "
                                              "correct the old file, then convert it "
                                              "again)") from None


def _serialize(tree: etree._ElementTree, root: Element, doctype: str | None = None) -> bytes:
    """The file: an XML declaration with the old file's encoding, the DOCTYPE, the old
    file's top-level PIs and comments, the root."""
    encoding = tree.docinfo.encoding or "UTF-8"
    old = tree.getroot()
    before = list(old.itersiblings(preceding=True))[::-1]
    after = list(old.itersiblings())
    doctype = doctype or tree.docinfo.doctype
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>'.encode("ascii")]
    parts += [doctype.encode("ascii")] if doctype else []
    parts += [etree.tostring(node, encoding=encoding, xml_declaration=False, with_tail=False)
              for node in before + [root] + after]
    return b"\n".join(parts) + b"\n"
