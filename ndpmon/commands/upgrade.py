"""``ndpmon upgrade``: convert a config or neighbour cache NDPMon wrote into ndpmon's format.

    ndpmon upgrade /etc/ndpmon/config_ndpmon.xml -i eth0 -o /etc/ndpmon/new.xml
    ndpmon upgrade /var/lib/ndpmon/neighbor_list.xml -i eth0 --in-place

The kind of file (config or cache) is told by its root element. The conversions are
ndpmon.config.upgrade (configs) and ndpmon.formats.cacheupgrade (caches); this module
reads the file, prints what changed, and writes the result atomically
(ndpmon.files.atomic) where asked: ``-o NEW``, or over the old file with ``--in-place``
(or ``-o`` naming it), which keeps the old one as ``OLD.bak``. Without either it writes
nothing. Exit code 0, or 2 with one line when the file cannot be converted.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Sequence

from ndpmon.config import upgrade as configupgrade
from ndpmon.errors import NdpmonError
from ndpmon.files import reader as xmlsafe
from ndpmon.files.atomic import write_atomic
from ndpmon.formats import cache as cachefile
from ndpmon.formats import cacheupgrade

__all__ = ["build_parser", "run", "root_tag"]

#: What may come before the root, by how it starts: where it ends.
_PROLOG = {b"<!--": b"-->", b"<?": b"?>", b"<!": b">"}
_NAME = re.compile(rb"[A-Za-z_][\w.:-]*")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ndpmon upgrade",
        description="Convert a config_ndpmon.xml or neighbor_list.xml written by NDPMon 1.4, "
                    "its 802.1Q fork or NDPMon 2.1 into ndpmon's format, and say what "
                    "changed.")
    p.add_argument("old", metavar="OLD", help="the config or neighbour cache to convert")
    p.add_argument("-o", dest="out", metavar="NEW",
                   help="write the converted file here (the old one is never changed, "
                        "unless NEW is OLD)")
    p.add_argument("--in-place", action="store_true",
                   help="replace OLD by the converted file; the old one is kept as OLD.bak")
    p.add_argument("-i", dest="iface", metavar="IFACE",
                   help="the interface NDPMon 1.4 listened on (its files name none); its "
                        "VLANs become the probes IFACE.VLAN")
    return p


def root_tag(data: bytes) -> str | None:
    """The name of the root element, read past the prolog (works on files that are not
    well-formed XML, such as NDPMon 2.1's learned configs with raw DNSSL bytes)."""
    at = 0
    while True:
        at = data.find(b"<", at)
        if at < 0:
            return None
        end = _PROLOG.get(data[at:at + 4], _PROLOG.get(data[at:at + 2]))
        if end is None:
            match = _NAME.match(data, at + 1)
            return match.group().decode("ascii", "replace") if match else None
        if data[at:at + 9] == b"<!DOCTYPE" and b"[" in data[at:data.find(b">", at)]:
            end = b"]>"  # an internal subset holds '>'s of its own
        at = data.find(end, at + 2)
        if at < 0:
            return None


def _target(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Where to write, and where to keep the old file (in place only)."""
    if args.in_place and args.out:
        raise NdpmonError("--in-place and -o do not go together")
    out = args.old if args.in_place else args.out
    if out is None:
        return None, None
    same = os.path.exists(out) and os.path.samefile(out, args.old)
    return out, (args.old + ".bak" if same else None)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Convert ``args.old``; print what changed; write where asked."""
    data = xmlsafe.read(args.old, xmlsafe.MAX_CACHE_BYTES)
    out, backup = _target(args)
    if root_tag(data) in ("neighbors", "neighbor_list", "config_neighbor_list"):
        result = cacheupgrade.upgrade_cache(args.old, data, args.iface)
        new = result.caches
    else:
        if len(data) > xmlsafe.MAX_CONFIG_BYTES:
            raise NdpmonError(f"{args.old}: cannot read: too large for a config")
        result = configupgrade.upgrade_config(args.old, data, args.iface)
        new = result.data
    print(f"{args.old}: {result.kind}")
    for line in result.changes:
        print(f"  - {line}")
    if new is None:
        print(f"{args.old}: already in ndpmon's format: nothing to change")
        return 0
    if out is None:
        print("nothing written: give -o NEW, or --in-place")
        return 0
    if backup is not None:
        write_atomic(backup, data)
        print(f"kept the old file as {backup}")
    if isinstance(new, bytes):
        write_atomic(out, new)
    else:
        cachefile.save_cache(out, new)
    print(f"wrote {out}")
    return 0
