# ndpmon.plugin.description = broken on purpose: Plugin is not a plugin class
"""Test fixture: ``Plugin`` is not a subclass of ndpmon.plugin.Plugin."""


class Plugin:
    pass
