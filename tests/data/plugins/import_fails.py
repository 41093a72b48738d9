# ndpmon.plugin.description = broken on purpose: its import raises
"""Test fixture: importing it raises."""

import ndpmon_no_such_module  # noqa: F401
