"""Read config_ndpmon.xml once into frozen model objects, or fail with one line.

NDPMon 2.1 printed DTD errors and carried on, and crashed on malformed XML or
empty elements (REFERENCE §2.3, B8).  Here the file is parsed safely (no
network, no entity expansion), validated against a DTD, and every value is
converted by ndpmon.convert; the first problem becomes a ConfigError whose
text is ``file:line: what`` (STYLE 6-7).  The rest of ndpmon only ever sees
the ndpmon.model objects this module returns, never lxml.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree

from ndpmon import convert
from ndpmon.errors import ConfigError
from ndpmon.model import (
    COUNTERMEASURES,
    ActionSet,
    Config,
    Guard,
    Limits,
    MatchClause,
    Prefix,
    Probe,
    Route,
    Router,
    Rule,
    Settings,
)

__all__ = ["load", "check", "PACKAGED_DTD"]

#: The DTD shipped with ndpmon, used when neither ``-e`` nor the DOCTYPE names one.
PACKAGED_DTD = Path(__file__).parent / "data" / "config_ndpmon.dtd"

ROOT = "config_ndpmon"
PROBE_TYPES = ("interface", "remote")

# A SYSTEM id with a scheme ("http:", "file:", ...) is a URL: never fetched.
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

T = TypeVar("T")

#: ``attr(..., default=REQUIRED)``: the attribute must be present.
REQUIRED: Any = object()


def load(path: str, dtd_path: str | None = None) -> Config:
    """Parse, validate and convert the config file ``path``.

    ``dtd_path`` (the ``-e FILE`` option) overrides the DTD; otherwise the
    DOCTYPE's SYSTEM file next to the config is used if it exists, else the
    packaged DTD.  Raises ConfigError on the first problem found.
    """
    tree = _parse(path)
    _refuse_entities(path, tree)
    root = tree.getroot()
    if root.tag != ROOT:
        raise ConfigError(
            path, root.sourceline, f"the root element is <{root.tag}>, not <{ROOT}>"
        )
    dtd_file = dtd_path if dtd_path is not None else _doctype_dtd(path, tree)
    _validate(path, tree, _read_dtd(dtd_file))
    return _Converter(path).config(root)


#: ``--check-config`` does exactly what start-up does.
check = load


# --------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------


def _parse(path: str) -> Any:
    """The document tree; we read the bytes ourselves so lxml never opens a URL."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(path, None, f"cannot read: {reason}") from None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )
    try:
        return etree.fromstring(data, parser, base_url=path).getroottree()
    except etree.XMLSyntaxError as exc:
        line, message = exc.lineno, exc.msg
        for entry in parser.error_log.filter_from_errors():
            line, message = entry.line, entry.message
            break
        raise ConfigError(
            path, line, f"not well-formed XML: {_clean(message)}"
        ) from None


def _refuse_entities(path: str, tree: Any) -> None:
    """Refuse entity declarations and references: a config never needs them.

    The parser expands nothing, but an entity declared in the DOCTYPE could
    still be meant to pull in a file (XXE) or to blow up in size.
    """
    internal = tree.docinfo.internalDTD
    if internal is not None and any(True for _ in internal.iterentities()):
        raise ConfigError(path, None, "entity declarations in the DOCTYPE are not allowed")
    for node in tree.getroot().iter(etree.Entity):
        raise ConfigError(
            path, node.sourceline, f"entity reference {convert.quote(node.text)} is not allowed"
        )


def _doctype_dtd(path: str, tree: Any) -> str:
    """The DTD the DOCTYPE names, relative to the config's directory, if usable."""
    system = tree.docinfo.system_url
    if system and not _URL_RE.match(system):
        candidate = os.path.join(os.path.dirname(path), system)
        if os.path.isfile(candidate):
            return candidate
    return str(PACKAGED_DTD)


def _read_dtd(dtd_file: str) -> Any:
    """Load a DTD from a local file, or fail with ``FILE: cannot read DTD: ...``."""
    try:
        data = Path(dtd_file).read_bytes()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(dtd_file, None, f"cannot read DTD: {reason}") from None
    try:
        return etree.DTD(io.BytesIO(data))
    except etree.DTDParseError as exc:
        line, message = None, str(exc)
        for entry in exc.error_log.filter_from_errors():
            line, message = entry.line, entry.message
            break
        raise ConfigError(dtd_file, line, f"cannot read DTD: {_clean(message)}") from None


def _validate(path: str, tree: Any, dtd: Any) -> None:
    """Raise the first DTD violation, with the line libxml2 gives for it."""
    if dtd.validate(tree):
        return
    errors = dtd.error_log.filter_from_errors()
    if not errors:
        raise ConfigError(path, None, "not valid against the DTD")
    raise ConfigError(path, errors[0].line, _clean(errors[0].message))


def _clean(message: str) -> str:
    """One line of libxml2 text: no newlines, runs of blanks, or ``( a )`` padding."""
    text = " ".join(message.split())
    return text.replace(" )", ")").replace("( ", "(")


# --------------------------------------------------------------------------
# Conversion into model objects
# --------------------------------------------------------------------------


def _text(element: Any) -> str:
    """The stripped text of a leaf element (comments inside it are skipped)."""
    return "".join(element.itertext()).strip()


def _children(element: Any | None, tag: str) -> Iterator[Any]:
    """The child elements called ``tag``, in document order."""
    if element is None:
        return iter(())
    return element.iterchildren(tag)


def _probe_type(text: str) -> str:
    if text not in PROBE_TYPES:
        raise ValueError(f"not 'interface' or 'remote': {convert.quote(text)}")
    return text


def _text_line(text: str) -> str:
    """A single line of text (a mail address must not smuggle in headers)."""
    if not text.isprintable():
        raise ValueError(f"not a single line of text: {convert.quote(text)}")
    return text


def _switch(text: str) -> bool:
    """An action attribute: ``""`` counts as off, like in NDPMon."""
    return convert.boolean01(text) if text else False


def _autoconf(text: str) -> int:
    return int(convert.boolean01(text))


class _Converter:
    """Walks a validated tree; every error names ``path``, a line and an element."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, element: Any, what: str) -> ConfigError:
        return ConfigError(self.path, element.sourceline, what)

    # -- primitives ---------------------------------------------------------

    def value(self, element: Any, convert_: Callable[[str], T]) -> T:
        """The converted text of ``element``; empty text is an error."""
        text = _text(element)
        if not text:
            raise self.error(element, f"<{element.tag}>: empty value")
        try:
            return convert_(text)
        except ValueError as exc:
            raise self.error(element, f"<{element.tag}>: {exc}") from None

    def optional(
        self, parent: Any, tag: str, convert_: Callable[[str], T], default: Any = None
    ) -> Any:
        """The converted text of child ``tag``, or ``default`` when it is absent."""
        child = parent.find(tag) if parent is not None else None
        return default if child is None else self.value(child, convert_)

    def required(self, parent: Any, tag: str, convert_: Callable[[str], T]) -> T:
        """The converted text of child ``tag``, which must be there."""
        child = parent.find(tag)
        if child is None:
            raise self.error(parent, f"<{parent.tag}>: missing <{tag}>")
        return self.value(child, convert_)

    def attr(
        self,
        element: Any,
        name: str,
        convert_: Callable[[str], T],
        default: Any = None,
        allow_empty: bool = False,
    ) -> Any:
        """The converted attribute ``name``, or ``default`` when it is absent."""
        raw = element.get(name)
        where = f"<{element.tag} {name}>"
        if raw is None and default is REQUIRED:
            raise self.error(element, f"{where}: missing value")
        if raw is None:
            return default
        text = raw.strip()
        if not text and not allow_empty:
            raise self.error(element, f"{where}: empty value")
        try:
            return convert_(text)
        except ValueError as exc:
            raise self.error(element, f"{where}: {exc}") from None

    # -- the document ---------------------------------------------------------

    def config(self, root: Any) -> Config:
        return Config(
            path=self.path,
            settings=self.settings(root.find("settings")),
            probes=self.probes(root.find("probes")),
            countermeasures=self.countermeasures(root.find("countermeasures")),
        )

    def settings(self, element: Any | None) -> Settings:
        if element is None:
            return Settings()
        default = Settings()
        return Settings(
            actions_high=self.actions(element.find("actions_high_priority")),
            actions_low=self.actions(element.find("actions_low_priority")),
            admin_mail=self.optional(element, "admin_mail", _text_line, default.admin_mail),
            ignor_autoconf=self.optional(element, "ignor_autoconf", _autoconf),
            syslog_facility=self.optional(
                element, "syslog_facility", convert.syslog_facility, default.syslog_facility
            ),
            use_reverse_hostlookups=self.optional(
                element, "use_reverse_hostlookups", convert.boolean01, False
            ),
            limits=self.limits(element.find("limits")),
        )

    def actions(self, element: Any | None) -> ActionSet:
        if element is None:
            return ActionSet()
        program = self.attr(element, "exec_pipe_program", str, "", allow_empty=True)
        return ActionSet(
            sendmail=self.attr(element, "sendmail", _switch, False, allow_empty=True),
            syslog=self.attr(element, "syslog", _switch, False, allow_empty=True),
            exec_pipe_program=program or None,
        )

    def limits(self, element: Any | None) -> Limits:
        default = Limits()
        if element is None:
            return default
        return Limits(
            max_neighbors=self.attr(
                element, "max_neighbors", convert.positive, default.max_neighbors
            ),
            max_addresses=self.attr(
                element, "max_addresses", convert.positive, default.max_addresses
            ),
        )

    def probes(self, element: Any | None) -> tuple[Probe, ...]:
        """Every ``<probe>``; a name used twice is an error."""
        seen: dict[str, int] = {}
        probes = []
        for child in _children(element, "probe"):
            probe = self.probe(child)
            if probe.name in seen:
                raise self.error(
                    child,
                    f"<probe name>: probe {convert.quote(probe.name)} "
                    f"is already defined on line {seen[probe.name]}",
                )
            seen[probe.name] = child.sourceline
            probes.append(probe)
        return tuple(probes)

    def probe(self, element: Any) -> Probe:
        return Probe(
            name=self.attr(element, "name", str, REQUIRED),
            type=self.attr(element, "type", _probe_type, REQUIRED),
            countermeasures_enabled=self.optional(
                element, "countermeasures_enabled", convert.boolean01, False
            ),
            routers=tuple(
                self.router(child)
                for child in _children(element.find("routers"), "router")
            ),
            rules=tuple(
                self.rule(child) for child in _children(element.find("rules"), "rule")
            ),
        )

    def router(self, element: Any) -> Router:
        opt = self.optional
        return Router(
            mac=self.required(element, "mac", convert.mac),
            lla=self.required(element, "lla", convert.ipv6),
            curhoplimit=opt(element, "param_curhoplimit", convert.u8),
            flags=opt(element, "param_flags_reserved", convert.u8),
            router_lifetime=opt(element, "param_router_lifetime", convert.u16),
            reachable_timer=opt(element, "param_reachable_timer", convert.u32),
            retrans_timer=opt(element, "param_retrans_timer", convert.u32),
            mtu=opt(element, "param_mtu", convert.u32),
            params_volatile=opt(element, "params_volatile", convert.boolean01, True),
            # NDPMon writes these empty (B8): skip empty ones instead of crashing.
            addresses=tuple(
                self.value(child, convert.ipv6)
                for child in _children(element.find("addresses"), "address")
                if _text(child)
            ),
            prefixes=tuple(
                self.prefix(child)
                for child in _children(element.find("prefixes"), "prefix")
            ),
            rdnss=tuple(
                (self.value(child, convert.ipv6), self.lifetime(child))
                for child in _children(element.find("rdnss"), "nameserver")
            ),
            dnssl=tuple(
                (self.value(child, convert.domain), self.lifetime(child))
                for child in _children(element.find("dnssl"), "domain")
            ),
            routes=tuple(
                self.route(child) for child in _children(element.find("routes"), "route")
            ),
        )

    def lifetime(self, element: Any) -> int:
        """The required ``lifetime`` attribute of ``<nameserver>`` / ``<domain>``."""
        return self.attr(element, "lifetime", convert.u32, REQUIRED)

    def prefix(self, element: Any) -> Prefix:
        return Prefix(
            address=self.required(element, "address", convert.ipv6),
            mask=self.required(element, "mask", convert.prefix_len),
            flags=self.optional(element, "param_flags_reserved", convert.u8),
            valid=self.optional(element, "param_valid_time", convert.u32),
            preferred=self.optional(element, "param_preferred_time", convert.u32),
        )

    def route(self, element: Any) -> Route:
        return Route(
            address=self.required(element, "address", convert.ipv6),
            mask=self.required(element, "mask", convert.prefix_len),
            pref=self.required(element, "param_pref_reserved", convert.u8),
            lifetime=self.required(element, "lifetime", convert.u32),
        )

    def rule(self, element: Any) -> Rule:
        """A rule and its clauses in document order (``<no-match>`` is negated)."""
        clauses = tuple(
            MatchClause(
                field=self.attr(child, "field", str, REQUIRED),
                value=self.attr(child, "value", str, None, allow_empty=True),
                negate=child.tag == "no-match",
            )
            for child in element.iterchildren("match", "no-match")
        )
        description = self.attr(element, "description", str, "", allow_empty=True)
        return Rule(description=description, clauses=clauses)

    def countermeasures(self, element: Any | None) -> dict[str, Guard]:
        """All seven guards; a missing one (or a missing block) is SUPPRESS."""
        return {
            name: self.optional(element, name, convert.guard, Guard())
            for name in COUNTERMEASURES
        }
