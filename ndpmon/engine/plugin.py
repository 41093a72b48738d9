"""Run-time plugins: the contract a plugin fulfils, and the loader that finds them.

NDPMon 2.1 compiled its plugins in with configure switches (REFERENCE §5). Here a plugin
is a Python module in a plugins directory (``plugins/<name>.py``) or an installed entry
point of the ``ndpmon.plugins`` group, exposing one class bound to the name ``Plugin``,
a subclass of ``ndpmon.engine.plugin.Plugin``. It is switched on in config_ndpmon.xml:

    <plugins dir="/etc/ndpmon/plugins">            (dir is optional)
      <plugin name="mac_resolv">
        <param name="database" value="/usr/share/ieee-data"/>
      </plugin>
    </plugins>

A plugin may add checks (pure functions of the message and the probe's context, run by
the engine), enrich alerts (add fields before any output sees them), act on alerts (the
I/O side: send packets, write files), look at raw frames before decoding (to ignore some),
and hook the start, the end and every save of the neighbour cache. Every hook has a
default that does nothing, so a plugin overrides only what it needs; the engine calls
only the hooks a plugin overrides, so an unused hook costs nothing per frame.

A plugin that cannot be found, does not load, or rejects its parameters stops ndpmon at
start with one line naming it (``plugin mac_resolv: ...``), exit code 2.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ndpmon.checks.alert import Alert
from ndpmon.errors import NdpmonError
from ndpmon.config.model import Config, PluginSpec
from ndpmon.codec.message import ND_TYPES, NdMessage

__all__ = ["Plugin", "PluginCheck", "PluginError", "load_plugins", "plugin_dirs",
           "ENTRY_POINT_GROUP", "overrides", "known_params"]

log = logging.getLogger("ndpmon")

ENTRY_POINT_GROUP = "ndpmon.plugins"
#: The plugins shipped with ndpmon: the source tree's plugins/ (also an editable
#: install), then where ``pip install`` puts them (setup.cfg data_files).
SHIPPED_DIRS = (Path(__file__).resolve().parent.parent.parent / "plugins",
                Path(sys.prefix) / "share" / "ndpmon" / "plugins")


class PluginError(NdpmonError):
    """A plugin cannot be loaded or configured; the text starts with ``plugin NAME:``."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"plugin {name}: {message}")


@dataclass(frozen=True)
class PluginCheck:
    """A check a plugin adds to the engine's ordered registry (ndpmon.checks).

    ``func(msg, ctx) -> int`` is called like a core check (ndpmon.checks.registry): it
    returns ``PASS`` (0) or ``STOP`` (2), and STOP stops the packet if ``stop_on_error``;
    any other value (NDPMon's 1, "alerted") counts as PASS. Plugin checks run while
    monitoring, not in learning mode. With ``before`` = None it runs after the
    core checks, and only if none of them stopped the packet (NDPMon's rules, REFERENCE
    §1.2 row 21); with ``before`` = the name of a core check (e.g. ``"new_station"``) it
    runs just before each slot of that check, for the types of that slot.
    """

    name: str
    func: Callable[[NdMessage, Any], int]
    types: frozenset[int] = ND_TYPES
    before: str | None = None
    stop_on_error: bool = False
    skip_unspecified: bool = False


class Plugin:
    """Base class of every plugin. Override only the hooks you need.

    ``params`` are the ``<param name value/>`` of the plugin's ``<plugin>`` element;
    ``config`` is the whole validated config. Raise ``ValueError`` (or PluginError) in
    ``__init__`` for a bad parameter: the loader reports it as one line.
    """

    #: The name the config switches it on by (set by the loader).
    name = ""
    #: One line for ``--check-config`` and the log.
    description = ""
    #: The ndpmon.engine.engine.Engine running the plugin (set when the engine is built):
    #: ``engine.probes[name]`` is a probe's state, ``engine.live`` says whether frames
    #: come from interfaces (True) or a capture file.
    engine: Any = None
    #: With ``--user``, ndpmon drops root after ``start``: a plugin that sends frames
    #: opens its packet socket in ``start`` (enough for any interface, see the
    #: countermeasures plugin); one that must open sockets later sets this to True, and
    #: CAP_NET_RAW is kept (ndpmon.run.privs).
    needs_net_raw = False

    def __init__(self, params: Mapping[str, str], config: Config) -> None:
        self.params = dict(params)
        self.config = config

    def checks(self) -> Sequence[PluginCheck]:
        """Checks to add to the engine (pure: no I/O, time comes in ``ctx.now``)."""
        return ()

    def frame(self, probe: str, now: float, frame: bytes) -> bool:
        """See a raw frame before it is decoded; True drops it (no check runs on it)."""
        return False

    def enrich(self, alert: Alert) -> Alert:
        """Return the alert with more information (e.g. in ``extra``); called once per
        alert, before any output sees it."""
        return alert

    def notify(self, alert: Alert) -> None:
        """Act on an alert (after every output got it); may do I/O, must be quick."""

    def on_cache_save(self, engine: Any) -> None:
        """Called just before the neighbour cache is written (every 60 s while frames
        arrive, on SIGUSR1 and at exit) with the engine and its probes."""

    def cache_saved(self, path: str) -> None:
        """Called just after the neighbour cache was written to ``path`` (same moments
        as ``on_cache_save``); for work that reads the files ndpmon wrote."""

    def tick(self, now: float) -> Sequence[Alert]:
        """Called every 10 s by the live loop (in the capture thread; never in a replay)
        with the wall-clock time: alerts to raise about the plugin's own state, which
        go through every output like the others (the store's ``store drops``). Quick."""
        return ()

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: the new config (already validated) replaces the old."""
        self.config = config

    def start(self) -> None:
        """Called once before the first frame (live: while ndpmon is still root, before
        ``--user`` takes effect)."""

    def stop(self) -> None:
        """Called once at the end; release what ``start`` took."""


def known_params(params: Mapping[str, str], known: Iterable[str]) -> None:
    """Raise ValueError for a ``<param>`` the plugin does not know (a typo would
    otherwise be silently ignored)."""
    names = sorted(known)
    for name in params:
        if name not in names:
            raise ValueError(f"unknown <param name={name!r}> (known: "
                             f"{', '.join(names) or 'none'})")


def overrides(plugin: Plugin, hook: str) -> bool:
    """Does ``plugin`` define ``hook`` itself (rather than inherit the no-op)?"""
    return getattr(type(plugin), hook) is not getattr(Plugin, hook)


def plugin_dirs(config: Config) -> list[Path]:
    """Where plugin modules are looked for: ``<plugins dir>`` alone if given (relative
    to the config's folder), else ``plugins/`` beside the config, then ndpmon's own."""
    base = Path(config.path).resolve().parent
    if config.plugin_dir:
        return [base / config.plugin_dir]
    return [base / "plugins", *SHIPPED_DIRS]


def load_plugins(config: Config) -> list[Plugin]:
    """Instantiate every plugin the config switches on, in config order."""
    dirs = plugin_dirs(config)
    return [_instantiate(spec, _find(spec.name, dirs), config) for spec in config.plugins]


def _find(name: str, dirs: Iterable[Path]) -> type[Plugin]:
    """The ``Plugin`` class of ``name``: a module in ``dirs`` first, then an entry point."""
    if not name.isidentifier():
        raise PluginError(name, "not a plugin name (letters, digits and _ only)")
    dirs = list(dirs)
    for folder in dirs:
        path = folder / f"{name}.py"
        if path.is_file():
            return _class_of(name, _load_file(name, path), str(path))
    point = _entry_point(name)
    if point is not None:
        try:
            obj = point.load()
        except Exception as exc:
            raise PluginError(name, f"entry point {point.value} cannot be loaded: "
                                    f"{_why(exc)}") from None
        return _check_class(name, obj, point.value)
    looked = ", ".join(str(d) for d in dirs)
    raise PluginError(name, f"not found (no {name}.py in {looked}, and no "
                            f"'{ENTRY_POINT_GROUP}' entry point of that name)")


def _load_file(name: str, path: Path) -> Any:
    """Import ``path`` as the module ``ndpmon_plugin_<name>``."""
    modname = f"ndpmon_plugin_{name}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise PluginError(name, f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(modname, None)
        raise PluginError(name, f"{path}: {_why(exc)}") from None
    return module


def _why(exc: BaseException) -> str:
    """An exception as one line: ``line 3: invalid syntax`` or ``NameError: ...``."""
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: {exc.msg}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _class_of(name: str, module: Any, where: str) -> type[Plugin]:
    obj = getattr(module, "Plugin", None)
    if obj is None:
        raise PluginError(name, f"{where}: module has no 'Plugin' class")
    return _check_class(name, obj, where)


def _check_class(name: str, obj: Any, where: str) -> type[Plugin]:
    if not (isinstance(obj, type) and issubclass(obj, Plugin)) or obj is Plugin:
        raise PluginError(name, f"{where}: 'Plugin' is not a subclass of "
                                f"ndpmon.plugin.Plugin")
    return obj


def _entry_point(name: str) -> metadata.EntryPoint | None:
    try:
        points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except TypeError:  # Python 3.9 API (not supported, but be clear rather than crash)
        points = metadata.entry_points().get(ENTRY_POINT_GROUP, ())
    for point in points:
        if point.name == name:
            return point
    return None


def _instantiate(spec: PluginSpec, cls: type[Plugin], config: Config) -> Plugin:
    """Create the plugin; a bad parameter is ``plugin NAME: config:LINE: what``."""
    where = f"{config.path}:{spec.line}" if spec.line else config.path
    try:
        plugin = cls(spec.params, config)
    except PluginError as exc:
        raise PluginError(spec.name, f"{where}: {str(exc).partition(': ')[2]}") from None
    except (ValueError, OSError) as exc:
        raise PluginError(spec.name, f"{where}: {_why_value(exc)}") from None
    except Exception as exc:  # a plugin's bug: still one line, naming it
        raise PluginError(spec.name, f"failed to start: {_why(exc)}") from None
    plugin.name = spec.name
    log.debug("plugin %s loaded (%s)", spec.name, os.fspath(type(plugin).__module__))
    return plugin


def _why_value(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
