"""How ndpmon touches files: one safe way to read, one safe way to open an output, one
atomic way to replace.

Every file ndpmon reads (config, cache, alerts.xml, npd6.conf) goes through ``reader``
(size-capped, refusing FIFOs and devices, XML without network or entities); every file
it writes is opened through ``secure`` (no link followed that another account could
have planted, no directory others may write in, a regular file of root's or ndpmon's
user's with one link); every file it replaces goes through ``atomic`` (temporary file,
fsync, rename over the name itself, in the directory ``secure`` checked).
"""
