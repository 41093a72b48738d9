"""The plugin API: the one module a plugin author imports from.

Plugins (plugins/README.md) subclass ``Plugin`` and may add checks (``PluginCheck``,
returning ``PASS`` or ``STOP``), raise alerts (``Alert``, ``Priority``, and the reason
names of ``reasons``) and read the decoded messages (``message``: ND types and option
constants). These names are a
promise: they stay importable from here whatever the layout of ndpmon's packages.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.checks.registry import PASS, STOP
from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec import message
from ndpmon.engine.plugin import Plugin, PluginCheck, PluginError, known_params

__all__ = ["Plugin", "PluginCheck", "PluginError", "known_params", "Alert", "Priority",
           "reasons", "message", "PASS", "STOP"]
