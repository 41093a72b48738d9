"""What ndpmon remembers per probe: the neighbour cache, rate windows, learning.

Pure data structures with bounded size, changed only by the checks and the engine (no
I/O); the cache file that persists them is in ndpmon.formats.
"""
