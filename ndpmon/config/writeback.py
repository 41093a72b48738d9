"""Write the routers learned by ``ndpmon -L`` back into config_ndpmon.xml, and nothing else.

NDPMon 2.1 regenerated the whole file when learning ended (COMPATIBILITY.md §4.4): the admin's
comments were lost, ``actions_low_priority`` got the high-priority values (COMPATIBILITY.md §7.7),
router addresses were written empty (COMPATIBILITY.md §7.8) and DNSSL names as raw label bytes
(COMPATIBILITY.md §7.4), so the next start crashed. Here the file is edited as text: only the
``<router>`` elements whose router changed are regenerated, new routers (and, if need be, a
``<routers>`` or a ``<probe>``) are inserted with the file's own indentation and line ends, and
every other byte (XML declaration, DOCTYPE, comments, settings) is kept. The document is
parsed safely (``xmlsafe.parse``) to find the elements; a small tokenizer maps each
element to its place in the text. The result is written atomically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from ndpmon.config import loader as config_module
from ndpmon.config import values as convert
from ndpmon.files import reader as xmlsafe
from ndpmon.files.atomic import write_atomic
from ndpmon.errors import ConfigError
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.config.model import Config, Prefix, Probe, Route, Router

__all__ = ["write_learned", "router_lines"]

Lines = list[tuple[int, str]]  # (depth below the block's first line, text)
Element = etree._Element

DEFAULT_UNIT = "  "  # NDPMon's xmlSaveFormatFile indentation

_TOKEN = re.compile(r"""
    <!--.*?-->
  | <!\[CDATA\[.*?\]\]>
  | <\?.*?\?>
  | <!DOCTYPE(?:[^\[>"']|"[^"]*"|'[^']*')*
      (?:\[(?:<!--.*?-->|"[^"]*"|'[^']*'|[^\]"'])*\]\s*)?>
  | </(?P<end>[^\s>]+)\s*>
  | <(?P<start>[^\s/>!?]+)(?:"[^"]*"|'[^']*'|[^'">])*>
""", re.S | re.X)


def write_learned(path: str, learned: Mapping[str, tuple[Router, ...]],
                  original: Config | None = None) -> None:
    """Put the routers of ``learned`` (probe name -> routers) into the config at ``path``.

    A ``<router>`` whose router is unchanged stays as written (comments included); a
    changed one is regenerated in place; new ones are appended. Routers missing from
    ``learned`` stay: learning never deletes. ``original`` is the Config the learning
    run started from (what the file says); without it ``path`` is loaded again. The
    file is not touched when nothing changed, nor when the result would be larger than
    the loader reads (``MAX_CONFIG_BYTES``). Raises ConfigError (file and line).
    """
    data = _read(path)
    tree, _ = xmlsafe.parse(path, data)
    encoding = tree.docinfo.encoding or "UTF-8"
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot decode as {encoding}: {exc}") from None
    configured = original if original is not None else config_module.load(path)
    doc = _Document(path, text, tree.getroot())
    for name, routers in learned.items():
        doc.learn_probe(name, tuple(routers), configured.probe(name))
    if not doc.edits:
        return
    out = doc.result().encode(encoding, "xmlcharrefreplace")
    _check_size(path, len(out))
    xmlsafe.parse(path, out)  # never write a file that could not be read back
    write_atomic(path, out)


def _check_size(path: str, size: int) -> None:
    """The loader refuses a config over ``MAX_CONFIG_BYTES``: then write nothing (the
    file stays as it was), rather than a config the next start would refuse."""
    if size > xmlsafe.MAX_CONFIG_BYTES:
        raise ConfigError(path, None, f"not written: with the learned routers it would be "
                          f"{size / 2**20:.1f} MiB, over the {xmlsafe.MAX_CONFIG_BYTES // 2**20}"
                          " MiB a config may hold (learn again with lower <limits "
                          "max_learned_*>)")


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(path, None, f"cannot read: {reason}") from None


@dataclass(slots=True)
class _Span:
    """Where an element is in the text: [start, end), its start tag ends at open_end,
    its end tag starts at close_start (None for ``<x/>``)."""

    name: str
    start: int
    open_end: int
    close_start: int | None = None
    end: int = 0


def _spans(path: str, text: str) -> list[_Span]:
    """Every element of ``text`` in document order (the text is well-formed XML)."""
    spans: list[_Span] = []
    stack: list[_Span] = []
    pos = text.find("<")
    while pos >= 0:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ConfigError(path, text.count("\n", 0, pos) + 1, "cannot read this tag")
        if match.group("start"):
            span = _Span(match.group("start"), pos, match.end())
            spans.append(span)
            if match.group().endswith("/>"):
                span.end = match.end()
            else:
                stack.append(span)
        elif match.group("end"):
            if not stack:
                raise ConfigError(path, text.count("\n", 0, pos) + 1, "unbalanced end tag")
            span = stack.pop()
            span.close_start, span.end = pos, match.end()
        pos = text.find("<", match.end())
    return spans


class _Document:
    """The config's text, its elements mapped to their spans, and pending edits."""

    def __init__(self, path: str, text: str, root: Element) -> None:
        self.path, self.text, self.root = path, text, root
        self.edits: list[tuple[int, int, str]] = []
        self.newline = "\r\n" if "\r\n" in text else "\n"
        elements = [el for el in root.iter() if isinstance(el.tag, str)]
        spans = _spans(path, text)
        names = [etree.QName(el).localname for el in elements]
        if names != [span.name.rpartition(":")[2] for span in spans]:
            raise ConfigError(path, None, "cannot map the elements to the text")
        self.span = dict(zip(elements, spans, strict=True))
        self.unit = self._unit()

    # -- the learned routers -----------------------------------------------------

    def learn_probe(self, name: str, routers: tuple[Router, ...],
                    configured: Probe | None) -> None:
        """Edits that give probe ``name`` the ``routers`` (keeping unchanged ones)."""
        probe = self._probe(name)
        if probe is None:
            if routers:
                self._add_probe(name, routers)
            return
        parent = probe.find("routers")
        if parent is None:
            if routers:
                self._add_routers(probe, routers)
            return
        was = configured.routers if configured is not None else ()
        new = self._update_routers(parent, routers, was)
        if new:
            self.append(parent, [router_lines(r) for r in new])

    def _update_routers(self, parent: Element, routers: tuple[Router, ...],
                        was: tuple[Router, ...]) -> list[Router]:
        """Regenerate the ``<router>`` elements that changed; return the new routers."""
        pending: dict[tuple[bytes, bytes], Router] = {}
        for r in routers:
            pending.setdefault((r.mac, r.lla), r)
        before: dict[tuple[bytes, bytes], Router] = {}
        for r in was:
            before.setdefault((r.mac, r.lla), r)
        for el in parent.iterchildren("router"):
            pair = _pair(el)
            router = pending.pop(pair, None) if pair is not None else None
            if router is not None and router != before.get(pair):
                self.replace(el, router_lines(router))
        return [r for r in routers if pending.get((r.mac, r.lla)) is r]

    def _probe(self, name: str) -> Element | None:
        probes = self.root.find("probes")
        if probes is None:
            return None
        return next((p for p in probes.iterchildren("probe") if p.get("name") == name),
                    None)

    def _add_probe(self, name: str, routers: tuple[Router, ...]) -> None:
        """A new ``<probe>`` in ``<probes>`` (a new ``<probes>`` after ``<settings>``)."""
        block = _probe_lines(name, routers)
        probes = self.root.find("probes")
        if probes is not None:
            self.append(probes, [block])
            return
        block = [(0, "<probes>")] + _deeper(block, 1) + [(0, "</probes>")]
        settings = self.root.find("settings")
        if settings is None:
            self.append(self.root, [block])
        else:
            self.insert_after(settings, block)

    def _add_routers(self, probe: Element, routers: tuple[Router, ...]) -> None:
        """``<routers>`` in DTD order: after countermeasures_enabled, before the rest."""
        block = _container("routers", [router_lines(r) for r in routers], 0)
        later = next((el for el in probe.iterchildren("rules", "last_dad_address")), None)
        if later is None:
            self.append(probe, [block])
        else:
            self.insert_before(later, block)

    # -- text edits ------------------------------------------------------------------

    def replace(self, el: Element, block: Lines) -> None:
        span = self.span[el]
        self.edits.append((span.start, span.end, self.render(block, self.indent(el))))

    def insert_before(self, el: Element, block: Lines) -> None:
        indent = self.indent(el)
        text = self.render(block, indent) + self.newline + indent
        self.edits.append((self.span[el].start, self.span[el].start, text))

    def insert_after(self, el: Element, block: Lines) -> None:
        indent = self.indent(el)
        text = self.newline + indent + self.render(block, indent)
        self.edits.append((self.span[el].end, self.span[el].end, text))

    def append(self, parent: Element, blocks: list[Lines]) -> None:
        """Add ``blocks`` as the last children of ``parent``, one per line."""
        span, outer = self.span[parent], self.indent(parent)
        inner = self._child_indent(parent, outer)
        body = "".join(self.newline + inner + self.render(b, inner) for b in blocks)
        close = self.newline + outer
        if span.close_start is None:  # <x .../>: open it
            start_tag = re.sub(r"\s*/>$", ">", self.text[span.start:span.end])
            self.edits.append((span.start, span.end,
                               f"{start_tag}{body}{close}</{span.name}>"))
            return
        pos = span.close_start
        while pos > span.open_end and self.text[pos - 1] in " \t\r\n":
            pos -= 1
        keeps_line = "\n" in self.text[pos:span.close_start]
        end = pos if keeps_line else span.close_start
        self.edits.append((pos, end, body if keeps_line else body + close))

    def render(self, block: Lines, indent: str) -> str:
        """The block's lines; the first goes where the cursor is, the rest indented."""
        return (self.newline + indent).join(self.unit * depth + line
                                            for depth, line in block)

    def result(self) -> str:
        """The text with every edit applied (edits never overlap; insertions at one
        place, such as two new probes, stay in the order they were made)."""
        text = self.text
        edits = sorted(enumerate(self.edits), key=lambda e: (e[1][0], e[1][1], e[0]),
                       reverse=True)
        for _order, (start, end, new) in edits:
            text = text[:start] + new + text[end:]
        return text

    # -- indentation -------------------------------------------------------------------

    def indent(self, el: Element) -> str:
        """The blanks before ``el`` on its line; by depth if it does not start a line."""
        start = self.span[el].start
        line = self.text[self.text.rfind("\n", 0, start) + 1:start]
        if line.strip(" \t") == "":
            return line
        return self.unit * sum(1 for _ in el.iterancestors())

    def _child_indent(self, parent: Element, outer: str) -> str:
        """Indentation of ``parent``'s children: as its first child, else one unit more."""
        child = next((c for c in parent if isinstance(c.tag, str)), None)
        return self.indent(child) if child is not None else outer + self.unit

    def _unit(self) -> str:
        """The file's indentation step: root's first child element's indentation."""
        child = next((c for c in self.root if isinstance(c.tag, str)), None)
        if child is None:
            return DEFAULT_UNIT
        start = self.span[child].start
        line = self.text[self.text.rfind("\n", 0, start) + 1:start]
        return line if line and line.strip(" \t") == "" else DEFAULT_UNIT


def _pair(el: Element) -> tuple[bytes, bytes] | None:
    """The (MAC, link-local address) of a ``<router>`` element, None if unreadable."""
    try:
        return (convert.mac(_text(el.find("mac"))), convert.ipv6(_text(el.find("lla"))))
    except (ValueError, TypeError):
        return None


def _text(el: Element | None) -> str:
    if el is None:
        raise ValueError("missing")
    return "".join(el.itertext()).strip()


# -- generated XML ---------------------------------------------------------------------


def router_lines(r: Router) -> Lines:
    """A ``<router>`` element in DTD order (COMPATIBILITY.md §4.4); None params left out."""
    params = (("param_curhoplimit", r.curhoplimit), ("param_flags_reserved", r.flags),
              ("param_router_lifetime", r.router_lifetime),
              ("param_reachable_timer", r.reachable_timer),
              ("param_retrans_timer", r.retrans_timer), ("param_mtu", r.mtu),
              ("params_volatile", int(r.params_volatile)))
    body: Lines = [(0, _leaf("mac", mac_str(r.mac))), (0, _leaf("lla", ip_short(r.lla)))]
    body += [(0, _leaf(tag, value)) for tag, value in params if value is not None]
    body += _container("addresses", [[(0, _leaf("address", ip_short(a)))]
                                     for a in r.addresses], 0, keep_empty=True)
    body += _container("prefixes", [_prefix_lines(p) for p in r.prefixes], 0,
                       keep_empty=True)
    body += _container("rdnss", [[(0, _leaf("nameserver", ip_short(a), life))]
                                 for a, life in r.rdnss], 0)
    body += _container("dnssl", [[(0, _leaf("domain", name, life))]
                                 for name, life in r.dnssl], 0)
    body += _container("routes", [_route_lines(rt) for rt in r.routes], 0)
    return [(0, "<router>")] + _deeper(body, 1) + [(0, "</router>")]


def _prefix_lines(p: Prefix) -> Lines:
    fields = (("address", ip_short(p.address)), ("mask", p.length),
              ("param_flags_reserved", p.flags), ("param_valid_time", p.valid),
              ("param_preferred_time", p.preferred))
    return ([(0, "<prefix>")] + [(1, _leaf(tag, v)) for tag, v in fields if v is not None]
            + [(0, "</prefix>")])


def _route_lines(r: Route) -> Lines:
    fields = (("address", ip_short(r.address)), ("mask", r.length),
              ("param_pref_reserved", r.pref), ("lifetime", r.lifetime))
    return [(0, "<route>")] + [(1, _leaf(tag, v)) for tag, v in fields] + [(0, "</route>")]


def _probe_lines(name: str, routers: tuple[Router, ...]) -> Lines:
    """A new interface probe holding ``routers``."""
    routers_block = _container("routers", [router_lines(r) for r in routers], 0)
    start = f'<probe name="{_attr(name)}" type="interface">'
    return [(0, start)] + _deeper(routers_block, 1) + [(0, "</probe>")]


def _container(tag: str, children: list[Lines], depth: int,
               keep_empty: bool = False) -> Lines:
    """``<tag>`` around ``children``; ``<tag/>`` or nothing when there are none."""
    if not children:
        return [(depth, f"<{tag}/>")] if keep_empty else []
    inner = [line for child in children for line in _deeper(child, depth + 1)]
    return [(depth, f"<{tag}>")] + inner + [(depth, f"</{tag}>")]


def _deeper(block: Lines, by: int) -> Lines:
    return [(depth + by, line) for depth, line in block]


def _leaf(tag: str, value: object, lifetime: int | None = None) -> str:
    attr = "" if lifetime is None else f' lifetime="{lifetime}"'
    return f"<{tag}{attr}>{escape(str(value))}</{tag}>"


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})
