"""ndpmon: an IPv6 Neighbor Discovery monitor, drop-in successor to NDPMon 2.1."""

__version__ = "0.1.0"
