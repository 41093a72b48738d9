"""What one run was asked to do: the command line's answer, as one frozen object.

``ndpmon``'s command line (ndpmon.commands.main) builds a ``RunOptions`` once from its
arguments; everything below the commands takes this object, never the argparse
namespace. It is also the one home of the facts derived from the options: where
alerts.xml goes ("beside the cache" unless told), and which files a run writes (checked
before the run by ndpmon.run.safepath and privs, and opened by ndpmon.run.outputs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from ndpmon.formats.alertsxml import beside_cache

__all__ = ["RunOptions", "DEFAULT_CONFIG", "DEFAULT_CACHE"]

DEFAULT_CONFIG = "/etc/ndpmon/config_ndpmon.xml"
DEFAULT_CACHE = "/var/lib/ndpmon/neighbor_list.xml"

#: The options naming files: made absolute for a daemon (it runs in /).
_PATHS = ("config", "dtd", "cache", "alerts_xml", "json_alerts", "pidfile", "npd6_conf")


@dataclass(frozen=True)
class RunOptions:
    """The options of one run of ``ndpmon`` (also of ``ndpmon central``'s outputs).

    ``account`` is the ``--user``/``--group`` account (ndpmon.run.privs.Account), looked
    up by the command line; ``ifaces`` the ``-i`` names, in order.
    """

    config: str = DEFAULT_CONFIG
    dtd: str | None = None
    cache: str = DEFAULT_CACHE
    ifaces: tuple[str, ...] = ()
    replay: str | None = None
    learn: bool = False
    learn_for: float | None = None
    deliver: bool = False
    daemon: bool = False
    pidfile: str | None = None
    account: Any = None
    json_alerts: str | None = None
    json_alerts_all: bool = False  # the JSON lines get every alert (not summarised)
    alerts_xml: str | None = None
    no_alerts_xml: bool = False
    npd6_conf: str | None = None
    store: str | None = None
    check_config: bool = False
    quiet: bool = False
    verbose: bool = False

    @property
    def alerts_path(self) -> str | None:
        """The alerts.xml this run appends to (``--alerts-xml``, else beside the
        cache), or None with ``--no-alerts-xml``."""
        if self.no_alerts_xml:
            return None
        return self.alerts_xml or beside_cache(self.cache)

    @property
    def delivers(self) -> bool:
        """Do the config's actions (syslog, mail, pipe) run? Always live, with -r only
        if ``--deliver``."""
        return self.deliver or self.replay is None

    def output_files(self, config_path: str) -> list[str]:
        """The files the run writes: the cache, the learned config, alerts.xml, the
        JSON alerts (unless stdout), the pid file. ``config_path``: the config file."""
        files = [self.cache]
        if self.learn:
            files.append(config_path)
        if self.alerts_path is not None:
            files.append(self.alerts_path)
        if self.json_alerts and self.json_alerts != "-":
            files.append(self.json_alerts)
        if self.pidfile:
            files.append(self.pidfile)
        return files

    def absolute(self) -> RunOptions:
        """The options with every file made absolute (a daemon runs in ``/`` and
        reloads and writes from there)."""
        changes = {name: os.path.abspath(value) for name in _PATHS
                   if (value := getattr(self, name)) and value != "-"}
        return replace(self, **changes)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names (the command line copies these from its arguments)."""
        return tuple(f.name for f in fields(cls))
