"""Loading the plugins a config switches on, and guarding the monitor against their bugs.

The contract a plugin fulfils is ndpmon.engine.plugin (re-exported by ndpmon.plugin);
this module is the I/O around it: finding a plugin module in a plugins directory
(``plugins/<name>.py``) or as an installed entry point of the ``ndpmon.plugins`` group,
importing and instantiating it (a plugin that cannot be found, does not load, or rejects
its parameters stops ndpmon at start with one line naming it, ``plugin mac_resolv:
...``, exit code 2), and ``PluginGuard``, the one policy for a plugin hook that raises
while ndpmon runs: the monitor goes on, the first failure of each (plugin, hook) is
logged, then every ``LOG_EVERY``-th with the count.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from ndpmon.config.model import Config, PluginSpec
from ndpmon.engine.plugin import Plugin, PluginError
from ndpmon.errors import NdpmonError
from ndpmon.store.sync import store_plugins

__all__ = ["load_plugins", "load_all", "plugin_names", "plugin_dirs", "PluginGuard",
           "ENTRY_POINT_GROUP", "SHIPPED_DIRS", "LOG_EVERY"]

log = logging.getLogger("ndpmon")

ENTRY_POINT_GROUP = "ndpmon.plugins"
#: The plugins shipped with ndpmon: the source tree's plugins/ (also an editable
#: install), then where ``pip install`` puts them (setup.cfg data_files).
SHIPPED_DIRS = (Path(__file__).resolve().parent.parent.parent / "plugins",
                Path(sys.prefix) / "share" / "ndpmon" / "plugins")
#: A failing plugin hook is logged the first time, then every LOG_EVERY-th time.
LOG_EVERY = 1000


def load_all(config: Config) -> list[Plugin]:
    """The plugins of a run: the config's ``<plugins>``, then the store's (``<store>``)."""
    return load_plugins(config) + store_plugins(config)


def plugin_names(config: Config) -> list[str]:
    """The names of the plugins ``load_all(config)`` loads, in order (without loading
    them): what a SIGHUP compares with the running ones."""
    names = [spec.name for spec in config.plugins]
    return names + ["store"] if config.settings.store is not None else names


class PluginGuard:
    """Calls plugin hooks; a plugin's bug is logged, never stops the monitor."""

    def __init__(self) -> None:
        self.failures: Counter[tuple[str, str]] = Counter()

    def call(self, plugin: Plugin, hook: str, *args: Any, about: str = "") -> Any:
        """``plugin.hook(*args)``, or None if it raised; ``about`` (e.g. the alert's
        reason) is named in the log line."""
        try:
            return getattr(plugin, hook)(*args)
        except Exception as exc:
            key = (plugin.name, hook)
            self.failures[key] += 1
            count = self.failures[key]
            if count % LOG_EVERY == 1:
                where = f" on {about!r}" if about else ""
                log.error("plugin %s: %s failed%s: %s: %s (%d failures)", plugin.name,
                          hook, where, type(exc).__name__, exc, count)
            return None

    @property
    def total(self) -> int:
        """Failures of every plugin and hook so far."""
        return sum(self.failures.values())


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
    except NdpmonError as exc:  # a file it reads: the message names it already
        raise PluginError(spec.name, str(exc)) from None
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
