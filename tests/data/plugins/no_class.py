# ndpmon.plugin.description = broken on purpose: binds no Plugin
"""Test fixture: a plugin module without a ``Plugin`` class."""

VALUE = 1
