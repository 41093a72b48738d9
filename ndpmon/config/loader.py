"""Read config_ndpmon.xml once into frozen model objects, or fail with one line.

NDPMon 2.1 printed DTD errors and carried on, and crashed on malformed XML or
empty elements (COMPATIBILITY.md §4.2, §7.8).  Here the file is parsed safely (no
network, no entity expansion), validated against a DTD, and every value is
converted by ndpmon.config.values; the first problem becomes a ConfigError whose
text is ``file:line: what`` (STYLE 6-7).  The rest of ndpmon only ever sees
the ndpmon.config.model objects this module returns, never lxml.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from lxml import etree

from ndpmon.config import legacy
from ndpmon.config import values as convert
from ndpmon.files import reader as xmlsafe
from ndpmon.config.build import Converter
from ndpmon.errors import ConfigError
from ndpmon.config.model import Config

__all__ = ["load", "check", "parse_data", "check_tree", "PACKAGED_DTD"]

#: The DTD shipped with ndpmon: used unless ``-e`` or the DOCTYPE names one.
PACKAGED_DTD = Path(__file__).resolve().parent.parent / "data" / "config_ndpmon.dtd"

ROOT = "config_ndpmon"


# A SYSTEM id with a scheme ("http:", "file:", ...) is a URL: never fetched.
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_UNDECLARED_RE = re.compile(r"Entity '(.*)' not defined")

Element = etree._Element


def load(path: str, dtd_path: str | None = None) -> Config:
    """Parse, validate and convert the config file ``path``.

    ``dtd_path`` (the ``-e FILE`` option) overrides the DTD; otherwise the
    DOCTYPE's SYSTEM file, relative to the config's directory, is used if it
    exists, else the packaged DTD.  A root whose content is not ndpmon's (NDPMon
    1.4's) is refused whatever DTD accepts it; an NDPMon 2.1 file the DTD refuses
    only for elements out of order or missing ones NDPMon did without is run, with
    a warning for each (ndpmon.config.legacy).  Raises ConfigError on the first problem.
    """
    tree = _parse(path)
    root = tree.getroot()
    if root.tag != ROOT:
        message = f"the root element is <{root.tag}>, not <{ROOT}>"
        raise ConfigError(path, root.sourceline, message)
    legacy.refuse_foreign(path, root)
    dtd_files = [dtd_path] if dtd_path is not None else _default_dtds(path, tree)
    faults = _validate_lenient(path, tree, dtd_files)
    config = Converter(path).config(root)
    warnings = _fault_lines(path, faults) + legacy.soap_warnings(path, root)
    return replace(config, warnings=tuple(warnings))


def _default_dtds(path: str, tree: etree._ElementTree) -> list[str]:
    """The DOCTYPE's DTD, then the packaged one.

    NDPMon installs its own config_ndpmon.dtd beside the config, and its learning mode
    writes ``<last_dad_address/>`` (COMPATIBILITY.md §7.14), which that DTD rejects; NDPMon only
    warned. A file our packaged DTD accepts is therefore accepted even if the old DTD says no.
    """
    dtd_file = _doctype_dtd(path, tree)
    return list(dict.fromkeys([dtd_file, str(PACKAGED_DTD)]))


def _validate_any(path: str, tree: etree._ElementTree, dtd_files: list[str]) -> None:
    """Accept ``tree`` if one of the DTDs does; else raise the last one's first error."""
    for i, dtd_file in enumerate(dtd_files):
        try:
            _validate(path, tree, _read_dtd(dtd_file))
            return
        except ConfigError:
            if i == len(dtd_files) - 1:
                raise


def _validate_lenient(path: str, tree: etree._ElementTree,
                      dtd_files: list[str]) -> list[legacy.Fault]:
    """Validate; if the DTDs refuse the file, accept it when its elements put in order,
    with stand-ins for missing ones NDPMon did without, are valid: NDPMon 2.1 ran such
    files. Returns those faults; what is still wrong after them is the error raised."""
    try:
        _validate_any(path, tree, dtd_files)
        return []
    except ConfigError:
        fixed, faults = legacy.lenient(tree.getroot())
        if not faults:
            raise
    _validate_any(path, fixed.getroottree(), dtd_files)
    return faults


def _fault_lines(path: str, faults: list[legacy.Fault]) -> list[str]:
    """A warning per fault, then how to fix the file."""
    if not faults:
        return []
    lines = [f"{path}:{f.line}: {f.text}" if f.line else f"{path}: {f.text}" for f in faults]
    lines.append(f"{path}: not valid against the DTD, run as NDPMon 2.1 ran it; "
                 f"`ndpmon upgrade {shlex.quote(path)} --in-place` puts it in order")
    return lines


#: ``--check-config`` does exactly what start-up does.
check = load


# -- parsing and validation ---------------------------------------------------


def _read(path: str, what: str) -> bytes:
    """The bytes of ``path``, or ``path: cannot read<what>: <OS reason>``."""
    try:
        return xmlsafe.read(path, xmlsafe.MAX_CONFIG_BYTES, what)
    except FileNotFoundError as exc:
        raise ConfigError(path, None, f"cannot read{what}: {exc.strerror}") from None


def _parse(path: str) -> etree._ElementTree:
    """The document tree; we read the bytes ourselves so lxml never opens a URL."""
    return parse_data(path, _read(path, ""))


def parse_data(path: str, data: bytes) -> etree._ElementTree:
    """The document tree of ``data``, read from ``path``: no URL, no entity."""
    tree, log = xmlsafe.parse(path, data)
    _refuse_entities(path, tree, log)
    return tree


def check_tree(path: str, root: Element) -> Config:
    """Validate a tree against the packaged DTD and convert it (``ndpmon upgrade`` checks
    what it writes); errors give the lines the elements had in ``path``."""
    _validate(path, root.getroottree(), _read_dtd(str(PACKAGED_DTD)))
    return Converter(path).config(root)


def _refuse_entities(path: str, tree: etree._ElementTree, log: Any) -> None:
    """Refuse entity declarations and references: a config never needs them.

    The parser expands no entity, but one declared in the DOCTYPE could only
    be meant to pull in a file or URL (XXE) or to blow up in size; one never
    declared would silently vanish from an attribute value.
    """
    internal = tree.docinfo.internalDTD
    if internal is not None and any(True for _ in internal.iterentities()):
        message = "entity declarations in the DOCTYPE are not allowed"
        raise ConfigError(path, None, message)
    for entry in log:
        name = _UNDECLARED_RE.fullmatch(entry.message)
        if entry.type_name == "WAR_UNDECLARED_ENTITY" and name:
            reference = convert.quote(f"&{name.group(1)};")
            raise ConfigError(
                path, entry.line, f"entity reference {reference} is not allowed"
            )


def _doctype_dtd(path: str, tree: etree._ElementTree) -> str:
    """The DTD the DOCTYPE names, relative to the config's directory, if usable."""
    system = tree.docinfo.system_url
    if system and not _URL_RE.match(system):
        candidate = os.path.join(os.path.dirname(path), system)
        if os.path.isfile(candidate):
            return candidate
    return str(PACKAGED_DTD)


#: the name the DTD's bytes are served under to the parser (``_OnlyTheDtd``)
_DTD_URL = "file:///ndpmon/config_ndpmon.dtd"


class _OnlyTheDtd(etree.Resolver):
    """Serves the DTD's bytes; any other entity it names (``<!ENTITY % p SYSTEM URL>``) is
    empty: read from nowhere, fetched from no network."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data

    def resolve(self, url: str | None, pubid: str | None, context: Any) -> Any:
        if url == _DTD_URL:
            return self.resolve_string(self.data, context, base_url=_DTD_URL)
        return self.resolve_string(b"", context)


def _read_dtd(dtd_file: str) -> etree.DTD:
    """The DTD in a local file, or ``FILE[:LINE]: cannot read DTD: ...``.

    It is loaded as the external subset of a one-element document by a parser whose
    resolver alone supplies entities: ``etree.DTD(file)`` has no such parser, and with
    lxml 4.9 (libxml2 2.9, Debian bookworm) it fetched a parameter entity's http:// URL.
    """
    data = _read(dtd_file, " DTD")
    parser = etree.XMLParser(load_dtd=True, no_network=True, resolve_entities=False)
    parser.resolvers.add(_OnlyTheDtd(data))
    try:
        tree = etree.parse(io.BytesIO(f'<!DOCTYPE d SYSTEM "{_DTD_URL}"><d/>'.encode()),
                           parser)
    except etree.XMLSyntaxError as exc:
        line, message = xmlsafe.first_error(parser.error_log, None, str(exc))
        raise ConfigError(dtd_file, line, f"cannot read DTD: {message}") from None
    dtd = tree.docinfo.externalDTD
    if dtd is None:
        raise ConfigError(dtd_file, None, "cannot read DTD: libxml2 did not load it")
    return dtd


def _validate(path: str, tree: etree._ElementTree, dtd: etree.DTD) -> None:
    """Raise the first DTD violation, at the line libxml2 gives for it."""
    if not dtd.validate(tree):
        line, message = xmlsafe.first_error(dtd.error_log, None, "not valid against the DTD")
        raise ConfigError(path, line, message)


# -- conversion into model objects -------------------------------------------
