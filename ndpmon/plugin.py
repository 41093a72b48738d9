"""The plugin API: the one module a plugin author imports from.

Plugins (plugins/README.md) subclass ``Plugin`` and may add checks (``PluginCheck``,
returning ``PASS`` or ``STOP``), raise alerts (``Alert``, ``Priority``, and the reason
names of ``reasons``) and read the decoded messages (``message``: ND types and option
constants). A plugin reads every file of its own (a database, a list) with
``read_input``: started as root, ndpmon reads as configuration only what root alone can
change (ndpmon.files.trust), and never blocks on a FIFO. These names are a
promise: they stay importable from here whatever the layout of ndpmon's packages.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.checks.registry import PASS, STOP
from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec import message
from ndpmon.engine.plugin import Plugin, PluginCheck, PluginError, known_params
from ndpmon.files.trust import read_input

__all__ = ["Plugin", "PluginCheck", "PluginError", "known_params", "Alert", "Priority",
           "reasons", "message", "PASS", "STOP", "read_input"]
