"""The ``ndpmon`` command line: options, one-line errors, exit codes.

Every user error (a broken config, a missing file, a capture that is not Ethernet) ends
as one line on stderr, ``ndpmon: <file>:<line>: <what>``, and exit code 2; tracebacks are
for bugs only. The options keep NDPMon 2.1's letters (``-f -e -g -L -i -v``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import __version__
from .errors import NdpmonError

__all__ = ["main", "build_parser"]

DEFAULT_CONFIG = "/etc/ndpmon/config_ndpmon.xml"
DEFAULT_CACHE = "/var/lib/ndpmon/neighbor_list.xml"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render the README's option list)."""
    p = argparse.ArgumentParser(
        prog="ndpmon", description="IPv6 Neighbor Discovery monitor (NDPMon-compatible).")
    p.add_argument("-f", dest="config", metavar="CONFIG", default=DEFAULT_CONFIG,
                   help=f"config_ndpmon.xml to use (default {DEFAULT_CONFIG})")
    p.add_argument("-e", dest="dtd", metavar="DTD",
                   help="validate the config against this DTD instead of the one its "
                        "DOCTYPE names (or the packaged one)")
    p.add_argument("-g", dest="cache", metavar="CACHE", default=DEFAULT_CACHE,
                   help=f"neighbour cache neighbor_list.xml (default {DEFAULT_CACHE}); "
                        "created if missing")
    p.add_argument("-r", dest="replay", metavar="PCAP",
                   help="replay a pcap or pcapng capture (Ethernet) instead of capturing")
    p.add_argument("-i", dest="probe", metavar="NAME",
                   help="with -r: the probe the frames belong to (default: the config's "
                        "first probe)")
    p.add_argument("--json-alerts", metavar="FILE",
                   help="write one JSON object per alert per line to FILE ('-' = stdout)")
    p.add_argument("--alerts-xml", metavar="FILE",
                   help="append alerts to this alerts.xml (default: alerts.xml beside "
                        "the neighbour cache)")
    p.add_argument("--no-alerts-xml", action="store_true", help="do not write alerts.xml")
    p.add_argument("--check-config", action="store_true",
                   help="validate the config (and the cache) and exit 0, or 2 on error")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not print alerts on stderr")
    p.add_argument("-v", dest="verbose", action="store_true", help="print more on stderr")
    p.add_argument("--version", action="version", version=f"ndpmon {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ndpmon`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except NdpmonError as exc:
        print(f"ndpmon: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``ndpmon --json-alerts - ... | head``: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    from . import runner

    config = runner.load_config(args.config, args.dtd)
    if args.check_config:
        runner.check_cache(config, args.cache)
        print(f"{args.config}: OK ({len(config.probes)} probes, "
              f"{sum(len(p.routers) for p in config.probes)} routers)")
        return 0
    if not args.replay:
        raise NdpmonError("live capture is not available yet: give a capture with -r FILE")
    summary = runner.replay(config, args, args.replay)
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
