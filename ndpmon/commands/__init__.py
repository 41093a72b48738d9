"""The command line: ``ndpmon``, ``ndpmon report``, ``ndpmon query``, ``ndpmon central``.

One dispatcher, one wrapper that turns every user error into one line and exit code 2.
"""
