"""config_ndpmon.xml's elements to ndpmon.config.model objects, each value converted by
ndpmon.config.values.

ndpmon.config.loader reads and validates the file; this module walks the validated tree once
and builds the frozen objects the rest of ndpmon uses. The first value that does not
convert is a ConfigError ``file:line: <element attr>: what: 'value'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from lxml import etree

from ndpmon.config import values as convert
from ndpmon.config import rulefields
from ndpmon.errors import ConfigError
from ndpmon.config.model import (
    COUNTERMEASURES,
    LEARNED_KINDS,
    ActionSet,
    Config,
    Delivery,
    Guard,
    Limits,
    Metrics,
    PluginSpec,
    MatchClause,
    Prefix,
    Probe,
    Proxy,
    Route,
    Router,
    Rule,
    Settings,
    Store,
)

__all__ = ["Converter", "REQUIRED"]

#: ``attr(..., default=REQUIRED)``: the attribute must be present.
REQUIRED: Any = object()

Element = etree._Element
T = TypeVar("T")


def _text(element: Element) -> str:
    """The stripped text of a leaf element (comments inside it are skipped)."""
    return "".join(element.itertext()).strip()


def _children(element: Element | None, tag: str) -> Iterator[Element]:
    """The child elements called ``tag``, in document order."""
    return iter(()) if element is None else element.iterchildren(tag)


def _path(text: str) -> str:
    """An absolute file name."""
    value = convert.one_line(text)
    if not value.startswith("/"):
        raise ValueError(f"not an absolute path: {convert.quote(value)}")
    return value


def _switch(text: str) -> bool:
    """An action attribute: ``""`` counts as off, as in NDPMon."""
    return convert.boolean01(text) if text else False


def _source(text: str) -> str:
    """``<store source>``: the first part of this instance's probe names."""
    value = convert.one_line(text)
    if "/" in value:
        raise ValueError(f"must not contain '/': {convert.quote(value)}")
    return value


def _autoconf(text: str) -> int:
    """``ignor_autoconf`` is written as-is to /proc by NDPMon: keep it an int."""
    return int(convert.boolean01(text))


class Converter:
    """Walks a validated tree; every error names the file, a line and an element."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, el: Element, what: str) -> ConfigError:
        return ConfigError(self.path, el.sourceline, what)

    # -- primitives -----------------------------------------------------------

    def value(self, el: Element, conv: Callable[[str], T]) -> T:
        """The converted text of element ``el``; empty text is an error."""
        text = _text(el)
        if not text:
            raise self.error(el, f"<{el.tag}>: empty value")
        try:
            return conv(text)
        except ValueError as exc:
            raise self.error(el, f"<{el.tag}>: {exc}") from None

    def autoconf(self, el: Element | None) -> int | None:
        """``<ignor_autoconf>``: 0 or 1; missing or blank: leave the kernel's settings
        alone (NDPMon wrote the blank text, which changes nothing either)."""
        return None if el is None or not _text(el) else self.value(el, _autoconf)

    def optional(
        self,
        parent: Element | None,
        tag: str,
        conv: Callable[[str], T],
        default: Any = None,
    ) -> Any:
        """The converted text of child ``tag``, or ``default`` when it is absent."""
        child = None if parent is None else parent.find(tag)
        return default if child is None else self.value(child, conv)

    def required(self, parent: Element, tag: str, conv: Callable[[str], T]) -> T:
        """The converted text of child ``tag``, which must be there."""
        child = parent.find(tag)
        if child is None:
            raise self.error(parent, f"<{parent.tag}>: missing <{tag}>")
        return self.value(child, conv)

    def attr(
        self,
        el: Element,
        name: str,
        conv: Callable[[str], T],
        default: Any = REQUIRED,
        allow_empty: bool = False,
    ) -> Any:
        """The converted attribute ``name``, or ``default`` when it is absent."""
        raw = el.get(name)
        where = f"<{el.tag} {name}>"
        if raw is None and default is REQUIRED:
            raise self.error(el, f"{where}: missing value")
        if raw is None:
            return default
        text = raw.strip()
        if not text and not allow_empty:
            raise self.error(el, f"{where}: empty value")
        try:
            return conv(text)
        except ValueError as exc:
            raise self.error(el, f"{where}: {exc}") from None

    # -- the document -----------------------------------------------------------

    def config(self, root: Element) -> Config:
        return Config(
            path=self.path,
            settings=self.settings(root.find("settings")),
            probes=self.probes(root.find("probes")),
            countermeasures=self.countermeasures(root.find("countermeasures")),
            plugins=self.plugins(root.find("plugins")),
            plugin_dir=self.plugin_dir(root.find("plugins")),
        )

    def settings(self, el: Element | None) -> Settings:
        if el is None:
            return Settings()
        default, opt = Settings(), self.optional
        return Settings(
            actions_high=self.actions(el.find("actions_high_priority")),
            actions_low=self.actions(el.find("actions_low_priority")),
            admin_mail=opt(el, "admin_mail", convert.one_line, default.admin_mail),
            ignor_autoconf=self.autoconf(el.find("ignor_autoconf")),
            # missing: NDPMon 2.1 never called openlog(), so syslog used LOG_USER
            syslog_facility=opt(el, "syslog_facility", convert.syslog_facility, "LOG_USER"),
            use_reverse_hostlookups=opt(
                el, "use_reverse_hostlookups", convert.boolean01, False
            ),
            limits=self.limits(el.find("limits")),
            delivery=self.delivery(el.find("delivery")),
            store=self.store(el.find("store")),
            metrics=self.metrics(el.find("metrics")),
        )

    def actions(self, el: Element | None) -> ActionSet:
        if el is None:
            return ActionSet()
        program = self.attr(el, "exec_pipe_program", str, "", allow_empty=True)
        return ActionSet(
            sendmail=self.attr(el, "sendmail", _switch, False, allow_empty=True),
            syslog=self.attr(el, "syslog", _switch, False, allow_empty=True),
            exec_pipe_program=program or None,
        )

    def limits(self, el: Element | None) -> Limits:
        """``<limits>``: each bound left out keeps its default."""
        d = Limits()
        if el is None:
            return d
        convs = {"max_neighbors": convert.positive, "max_addresses": convert.positive,
                 "ra_rate": convert.u32, "rs_rate": convert.u32, "ns_rate": convert.u32,
                 "na_rate": convert.u32, "redirect_rate": convert.u32,
                 "rate_window": convert.window}
        convs.update((f"max_learned_{kind}", convert.positive) for kind in LEARNED_KINDS)
        return Limits(**{n: self.attr(el, n, c, getattr(d, n)) for n, c in convs.items()})

    def delivery(self, el: Element | None) -> Delivery:
        """``<delivery>``: each attribute left out keeps its default."""
        d = Delivery()
        if el is None:
            return d
        convs = {"mail_relay": convert.relay, "mail_from": convert.one_line,
                 "sendmail_program": _path, "syslog_socket": _path,
                 "dedupe_window": convert.seconds, "queue_size": convert.positive,
                 "burst": convert.positive,
                 "exec_timeout": convert.seconds, "dns_timeout": convert.seconds,
                 "alerts_xml_size": convert.size, "alerts_xml_files": convert.file_count}
        return Delivery(**{n: self.attr(el, n, c, getattr(d, n)) for n, c in convs.items()})

    def store(self, el: Element | None) -> Store | None:
        """``<store>``: the PostgreSQL store; its URL must not hold a password."""
        if el is None:
            return None
        return Store(url=self.attr(el, "url", convert.store_url),
                     password_file=self.attr(el, "password_file", _path, None),
                     source=self.attr(el, "source", _source, None),
                     queue_size=self.attr(el, "queue_size", convert.positive, 100_000),
                     line=el.sourceline)

    def metrics(self, el: Element | None) -> Metrics | None:
        """``<metrics listen>``: where the Prometheus metrics are served (default
        127.0.0.1:9464); no element: none."""
        if el is None:
            return None
        default = Metrics()
        host, port = self.attr(el, "listen", convert.listen, (default.host, default.port))
        return Metrics(host, port, line=el.sourceline)

    def probes(self, el: Element | None) -> tuple[Probe, ...]:
        """Every ``<probe>``; a name used twice is an error."""
        seen: dict[str, int] = {}
        for child in _children(el, "probe"):
            name = self.attr(child, "name", str)
            if name in seen:
                where = f"probe {convert.quote(name)} is already defined on line"
                raise self.error(child, f"<probe name>: {where} {seen[name]}")
            seen[name] = child.sourceline
        return tuple(self.probe(child) for child in _children(el, "probe"))

    def probe(self, el: Element) -> Probe:
        routers = _children(el.find("routers"), "router")
        rules = _children(el.find("rules"), "rule")
        return Probe(
            name=self.attr(el, "name", str),
            type=self.attr(el, "type", convert.probe_type),
            countermeasures_enabled=self.optional(
                el, "countermeasures_enabled", convert.boolean01, False
            ),
            routers=tuple(self.router(child) for child in routers),
            rules=tuple(self.rule(child) for child in rules),
            proxies=tuple(self.proxy(child) for child in _children(el.find("proxies"),
                                                                   "proxy")),
            line=el.sourceline,
        )

    def proxy(self, el: Element) -> Proxy:
        """A declared ND proxy: ``<proxy mac="..." prefix="2001:db8:1::/64"/>``."""
        address, length = self.attr(el, "prefix", convert.prefix)
        return Proxy(self.attr(el, "mac", convert.mac), address, length)

    def router(self, el: Element) -> Router:
        """A legitimate router; its param_* are None when not given."""
        opt = self.optional

        def each(parent: str, tag: str) -> Iterator[Element]:
            return _children(el.find(parent), tag)

        return Router(
            mac=self.required(el, "mac", convert.mac),
            lla=self.required(el, "lla", convert.ipv6),
            curhoplimit=opt(el, "param_curhoplimit", convert.u8),
            flags=opt(el, "param_flags_reserved", convert.u8),
            router_lifetime=opt(el, "param_router_lifetime", convert.u16),
            reachable_timer=opt(el, "param_reachable_timer", convert.u32),
            retrans_timer=opt(el, "param_retrans_timer", convert.u32),
            mtu=opt(el, "param_mtu", convert.u32),
            params_volatile=opt(el, "params_volatile", convert.boolean01, True),
            # NDPMon's learning mode writes these empty (COMPATIBILITY.md §7.8): skip, don't fail.
            addresses=tuple(
                self.value(child, convert.ipv6)
                for child in each("addresses", "address")
                if _text(child)
            ),
            prefixes=tuple(self.prefix(child) for child in each("prefixes", "prefix")),
            rdnss=tuple(
                (self.value(child, convert.ipv6), self.lifetime(child))
                for child in each("rdnss", "nameserver")
            ),
            dnssl=tuple(
                (self.value(child, convert.domain), self.lifetime(child))
                for child in each("dnssl", "domain")
            ),
            routes=tuple(self.route(child) for child in each("routes", "route")),
        )

    def lifetime(self, el: Element) -> int:
        """The ``lifetime`` attribute of ``<nameserver>`` and ``<domain>``."""
        return self.attr(el, "lifetime", convert.u32)

    def prefix(self, el: Element) -> Prefix:
        return Prefix(
            address=self.required(el, "address", convert.ipv6),
            length=self.required(el, "mask", convert.prefix_len),
            flags=self.optional(el, "param_flags_reserved", convert.u8),
            valid=self.optional(el, "param_valid_time", convert.u32),
            preferred=self.optional(el, "param_preferred_time", convert.u32),
        )

    def route(self, el: Element) -> Route:
        return Route(
            address=self.required(el, "address", convert.ipv6),
            length=self.required(el, "mask", convert.prefix_len),
            pref=self.required(el, "param_pref_reserved", convert.u8),
            lifetime=self.required(el, "lifetime", convert.u32),
        )

    def rule(self, el: Element) -> Rule:
        """A user rule; its clauses in document order, ``<no-match>`` negated."""
        clauses = tuple(self.clause(child) for child in el.iterchildren("match", "no-match"))
        description = self.attr(el, "description", str, "", allow_empty=True)
        return Rule(description=description, clauses=clauses)

    def clause(self, el: Element) -> MatchClause:
        """A ``<match>``/``<no-match>``: a known field and a value that fits it."""
        name = self.attr(el, "field", str)
        value = self.attr(el, "value", str, None, allow_empty=True)
        try:
            operand = rulefields.parse(name, value)
        except ValueError as exc:
            what = "field" if name not in rulefields.FIELDS else "value"
            raise self.error(el, f"<{el.tag} {what}>: {exc}") from None
        return MatchClause(field=name, value=value, negate=el.tag == "no-match",
                           operand=operand)

    def countermeasures(self, el: Element | None) -> Mapping[str, Guard]:
        """All seven guards; a missing one (or a missing block) is SUPPRESS."""
        return MappingProxyType({
            name: self.optional(el, name, convert.guard, Guard())
            for name in COUNTERMEASURES
        })

    # -- plugins (ndpmon extension) ---------------------------------------------

    def plugin_dir(self, el: Element | None) -> str | None:
        """``<plugins dir>``: where plugin modules are (relative to the config)."""
        if el is None:
            return None
        return self.attr(el, "dir", convert.one_line, None)

    def plugins(self, el: Element | None) -> tuple[PluginSpec, ...]:
        """Every ``<plugin>`` switched on; a name used twice is an error."""
        specs: dict[str, PluginSpec] = {}
        for child in _children(el, "plugin"):
            name = self.attr(child, "name", convert.one_line)
            if name in specs:
                where = f"plugin {convert.quote(name)} is already switched on on line"
                raise self.error(child, f"<plugin name>: {where} {specs[name].line}")
            specs[name] = PluginSpec(name, self.params(child), child.sourceline)
        return tuple(specs.values())

    def params(self, el: Element) -> Mapping[str, str]:
        """The ``<param name value/>`` of a ``<plugin>``; a name used twice is an error."""
        params: dict[str, str] = {}
        for child in _children(el, "param"):
            name = self.attr(child, "name", convert.one_line)
            if name in params:
                raise self.error(child, f"<param name>: {convert.quote(name)} is given twice")
            params[name] = self.attr(child, "value", str, "", allow_empty=True)
        return MappingProxyType(params)
