"""The settings of the ND proxy (plugins/ndproxy.py), from npd6.conf or from the config.

npd6 (Neighbor Proxy Daemon 6, 1.1.0) reads ``key = value`` lines, ``//`` comments, and
pairs its ``prefix`` and ``interface`` lines in order (man npd6.conf). ``read_npd6``
reads such a file as it is, with npd6's keys, defaults and meanings:

* ``prefix = 2001:db8:1:`` (a terminating colon; the length is the number of groups
  given x 16, here /48) or ``prefix = 2001:db8:1::/64``; ``interface = eth0``;
* ``linkOption`` (false: a Target Link-Layer option only in answers to multicast NS),
  ``ignoreLocal`` (true: the interface's own addresses are left to the kernel),
  ``routerNA`` (true: the Router flag), ``maxHops`` (255: the answers' hop limit),
  ``collectTargets`` (0: how many answered targets are kept for the listing);
* ``listtype`` none, black or white, ``addrlist`` (repeatable), ``listlogging`` off/on.

ndpmon also takes an ``addrlist`` entry with a prefix length (``2001:db8:1::/120``, a
CIDR block), which npd6 does not. ``ralogging`` and ``pollErrorLimit`` are accepted and
have no effect here; ``exprlist`` is refused (not supported: use CIDR entries).

``from_params`` reads the same keys from the ``<param>`` of ``<plugin name="ndproxy">``
(lists separated by blanks or commas), with ndpmon's own: ``inside`` (the probes whose
neighbour caches feed discovery mode), ``discovery`` (answer only for addresses seen
alive there within this time), ``targets_file`` (where the listing of targets goes), and
``npd6_conf`` (read that file for npd6's keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from ndpmon.config import values as convert
from ndpmon.errors import NdpmonError
from ndpmon.files.trust import read_input
from ndpmon.config.model import Config, PluginSpec, Probe

__all__ = ["Outside", "ProxySettings", "read_npd6", "parse_npd6", "from_params",
           "with_npd6_conf", "NPD6_KEYS", "OWN_KEYS"]

NPD6_KEYS = ("prefix", "interface", "linkOption", "ignoreLocal", "routerNA", "maxHops",
             "collectTargets", "listtype", "addrlist", "listlogging")
IGNORED_KEYS = ("ralogging", "pollErrorLimit")
OWN_KEYS = ("npd6_conf", "inside", "discovery", "targets_file")
_TRUE, _FALSE = ("true", "on", "yes", "1"), ("false", "off", "no", "0")


@dataclass(frozen=True)
class Outside:
    """An outside interface and a prefix answered on it (npd6's interface/prefix pair)."""

    iface: str
    prefix: bytes
    length: int


@dataclass(frozen=True)
class ProxySettings:
    """What the ND proxy does (npd6's defaults)."""

    pairs: tuple[Outside, ...]
    link_option: bool = False
    ignore_local: bool = True
    router_na: bool = True
    max_hops: int = 255
    collect_targets: int = 0
    listtype: str = "none"
    addrlist: tuple[tuple[bytes, int], ...] = ()
    listlogging: bool = False
    inside: tuple[str, ...] = ()
    discovery: float | None = None
    targets_file: str | None = None

    @property
    def interfaces(self) -> tuple[str, ...]:
        """The outside interfaces, each once, in order."""
        return tuple(dict.fromkeys(p.iface for p in self.pairs))


def npd6_prefix(text: str) -> tuple[bytes, int]:
    """npd6's prefix: ``2001:db8:1:`` (length = groups x 16) or ``ADDRESS/LENGTH``."""
    value = text.strip()
    if "/" in value:
        addr, _, length = value.partition("/")
        if addr.endswith(":") and not addr.endswith("::"):
            addr += ":"
        return convert.prefix(f"{addr}/{length}")
    head = value[:-2] if value.endswith("::") else value.rstrip(":")
    if not value.endswith(":") or "::" in head or not head:
        raise ValueError(f"not an npd6 prefix (e.g. 2001:db8:1: or 2001:db8:1::/48): "
                         f"{convert.quote(value)}")
    groups = head.split(":")
    if len(groups) > 8:
        raise ValueError(f"not an npd6 prefix: {convert.quote(value)}")
    return convert.prefix(f"{head}::/{16 * len(groups)}" if len(groups) < 8
                          else f"{head}/128")


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not true or false: {convert.quote(text)}")


def _count(text: str) -> int:
    return convert._ranged(text, 0, 10_000_000, "a number")


def _listtype(text: str) -> str:
    value = text.strip().lower()
    if value not in ("none", "black", "white"):
        raise ValueError(f"not none, black or white: {convert.quote(text)}")
    return value


class _Builder:
    """Collects key/value pairs in order, then makes the settings."""

    def __init__(self) -> None:
        self.prefixes: list[tuple[bytes, int]] = []
        self.ifaces: list[str] = []
        self.fields: dict[str, object] = {}
        self.addrlist: list[tuple[bytes, int]] = []

    def add(self, key: str, value: str) -> None:
        """One npd6 key (raises ValueError for a bad key or value)."""
        if key == "prefix":
            self.prefixes.append(npd6_prefix(value))
        elif key == "interface":
            if not re.fullmatch(r"[^\s/:]{1,15}", value.strip()):
                raise ValueError(f"not an interface name: {convert.quote(value)}")
            self.ifaces.append(value.strip())
        elif key == "addrlist":
            self.addrlist.append(convert.prefix(value))
        elif key in _CONVERTERS:
            name, conv = _CONVERTERS[key]
            self.fields[name] = conv(value)
        elif key == "exprlist":
            raise ValueError("exprlist is not supported; list addresses or CIDR blocks "
                             "(addrlist = 2001:db8:1::100/126)")
        elif key not in IGNORED_KEYS:
            raise ValueError(f"unknown key (npd6 knows {', '.join(NPD6_KEYS)})")

    def settings(self, **own) -> ProxySettings:
        if not self.prefixes or len(self.prefixes) != len(self.ifaces):
            raise ValueError(f"{len(self.prefixes)} prefix and {len(self.ifaces)} "
                             "interface entries: npd6 pairs them, so give as many of each "
                             "(at least one)")
        pairs = tuple(Outside(i, p, n) for i, (p, n) in zip(self.ifaces, self.prefixes,
                                                                strict=True))
        return ProxySettings(pairs, addrlist=tuple(self.addrlist), **self.fields, **own)


_CONVERTERS = {
    "linkOption": ("link_option", _bool), "ignoreLocal": ("ignore_local", _bool),
    "routerNA": ("router_na", _bool), "maxHops": ("max_hops", convert.u8),
    "collectTargets": ("collect_targets", _count), "listtype": ("listtype", _listtype),
    "listlogging": ("listlogging", _bool),
}


def parse_npd6(text: str, where: str = "npd6.conf") -> _Builder:
    """The keys of an npd6.conf text; errors read ``npd6.conf:12: prefix: ...``."""
    builder = _Builder()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("//", "#")):
            continue
        key, eq, value = stripped.partition("=")
        key = key.strip()
        try:
            if not eq:
                raise ValueError("not a 'key = value' line")
            builder.add(key, value.split("//")[0].strip())
        except ValueError as exc:
            name = f"{key}: " if eq else ""
            raise ValueError(f"{where}:{number}: {name}{exc}") from None
    return builder


def read_npd6(path: str, **own) -> ProxySettings:
    """An npd6.conf file as settings (ValueError or NdpmonError on a problem). It decides
    which prefixes the gateway answers for, so it is checked like the config
    (ndpmon.files.trust: root's alone when ndpmon runs as root)."""
    try:
        text = read_input(path).decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise ValueError(f"{path}: cannot read: no such file") from None
    try:
        return parse_npd6(text, path).settings(**own)
    except ValueError as exc:
        if str(exc).startswith(f"{path}:"):
            raise
        raise ValueError(f"{path}: {exc}") from None


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def from_params(params: Mapping[str, str], base: str = ".") -> ProxySettings:
    """The settings from ``<param>``s (``npd6_conf`` relative to ``base``)."""
    own: dict[str, object] = {}
    if "inside" in params:
        own["inside"] = tuple(_words(params["inside"]))
    if params.get("discovery", "").strip() not in ("", "0", "off"):
        own["discovery"] = _discovery(params["discovery"])
    if params.get("targets_file", "").strip():
        own["targets_file"] = str(Path(base) / params["targets_file"].strip())
    npd6 = [k for k in params if k in NPD6_KEYS]
    if params.get("npd6_conf", "").strip():
        if npd6:
            raise ValueError(f"<param name={npd6[0]!r}>: give either npd6_conf or "
                             "npd6's keys, not both")
        return read_npd6(str(Path(base) / params["npd6_conf"].strip()), **own)
    builder = _Builder()
    for key in npd6:
        values = _words(params[key]) if key in ("prefix", "interface", "addrlist") \
            else [params[key]]
        for value in values:
            try:
                builder.add(key, value)
            except ValueError as exc:
                raise ValueError(f"<param name={key!r}>: {exc}") from None
    return builder.settings(**own)


def _discovery(text: str) -> float:
    try:
        seconds = convert.duration(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 365 * 86400:
        raise ValueError(f"<param name='discovery'>: not a duration (e.g. 600, 10m, 1h): "
                         f"{convert.quote(text)}")
    return seconds


def with_npd6_conf(config: Config, path: str) -> tuple[Config, tuple[str, ...]]:
    """``ndpmon --npd6-conf FILE``: the config with the ndproxy plugin reading FILE (its
    other ``<param>``s kept) and a probe for each outside interface it lacks; and the
    outside interfaces."""
    try:
        settings = read_npd6(path)
    except OSError as exc:
        raise NdpmonError(f"--npd6-conf {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise NdpmonError(str(exc)) from None
    absolute = str(Path(path).resolve())
    specs, found = [], False
    for spec in config.plugins:
        if spec.name == "ndproxy":
            params = {k: v for k, v in spec.params.items() if k not in NPD6_KEYS}
            spec, found = replace(spec, params=dict(params, npd6_conf=absolute)), True
        specs.append(spec)
    if not found:
        specs.append(PluginSpec("ndproxy", {"npd6_conf": absolute}))
    extra = tuple(Probe(name) for name in settings.interfaces if config.probe(name) is None)
    return (replace(config, plugins=tuple(specs), probes=config.probes + extra),
            settings.interfaces)
