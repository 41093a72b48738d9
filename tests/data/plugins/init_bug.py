# ndpmon.plugin.description = broken on purpose: __init__ has a bug
"""Test fixture: a plugin whose constructor raises something other than ValueError."""

from ndpmon.plugin import Plugin as Base


class Plugin(Base):
    def __init__(self, params, config):
        super().__init__(params, config)
        raise KeyError("oops")
