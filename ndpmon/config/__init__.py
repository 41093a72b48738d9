"""config_ndpmon.xml: read once, validated against the DTD, built into frozen objects.

``loader`` reads and validates the file, ``build`` turns the tree into ``model`` objects
with the converters of ``values``, ``writeback`` writes what learning saw back into the
file; ``rulefields`` is the language of the rules plugin, checked at load. The runtime
reads only the frozen model, never an lxml tree.
"""
