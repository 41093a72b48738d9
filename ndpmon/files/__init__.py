"""How ndpmon touches files: one safe way to read, one atomic way to replace.

Every file ndpmon reads (config, cache, alerts.xml, npd6.conf) goes through ``reader``
(size-capped, refusing FIFOs and devices, XML without network or entities); every file
it replaces goes through ``atomic`` (temporary file, fsync, rename).
"""
