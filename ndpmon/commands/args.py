"""The ``ndpmon`` monitor's options: the argument parser and its value types.

Kept apart from the dispatcher (ndpmon.commands.main) so the option list, which the
README and the man page render, has one home. The options keep NDPMon 2.1's letters
(``-f -e -g -L -i -v``).
"""

from __future__ import annotations

import argparse

from ndpmon import __version__
from ndpmon.config.values import duration
from ndpmon.run.options import DEFAULT_CACHE, DEFAULT_CONFIG

__all__ = ["build_parser", "COMMANDS_HELP"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render the README's option list)."""
    p = argparse.ArgumentParser(
        prog="ndpmon", description="IPv6 Neighbor Discovery monitor (NDPMon-compatible).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=COMMANDS_HELP)
    p.add_argument("-f", dest="config", metavar="CONFIG", default=DEFAULT_CONFIG,
                   help=f"config_ndpmon.xml to use (default {DEFAULT_CONFIG})")
    p.add_argument("-e", dest="dtd", metavar="DTD",
                   help="validate the config against this DTD instead of the one its "
                        "DOCTYPE names (or the packaged one)")
    p.add_argument("-g", dest="cache", metavar="CACHE", default=DEFAULT_CACHE,
                   help=f"neighbour cache neighbor_list.xml (default {DEFAULT_CACHE}); "
                        "created if missing")
    p.add_argument("-i", dest="ifaces", metavar="IFACE", action="append",
                   help="capture on this interface (repeatable; default: every "
                        "<probe type=\"interface\"> of the config); with -r: the probe "
                        "the frames belong to (default: the config's first probe)")
    p.add_argument("-r", dest="replay", metavar="PCAP",
                   help="replay a pcap or pcapng capture (Ethernet) instead of capturing")
    p.add_argument("-L", "--learn", action="store_true",
                   help="learning mode: raise no alerts; at the end write the routers "
                        "seen into the config and the neighbours into the cache")
    p.add_argument("--learn-for", metavar="DURATION", type=_duration,
                   help="learn for this long (e.g. 90s, 30m, 12h, 7d), then write and exit; "
                        "implies -L")
    p.add_argument("--deliver", action="store_true",
                   help="with -r: also run the config's actions (syslog, mail, pipe); live "
                        "capture always does")
    p.add_argument("-D", "--daemon", action="store_true",
                   help="detach into the background once the config, cache and interfaces "
                        "are checked; log to syslog")
    p.add_argument("--pidfile", metavar="FILE",
                   help="write the pid to FILE and refuse to start if another ndpmon holds it")
    p.add_argument("--user", metavar="USER",
                   help="after opening the capture sockets, run as this unprivileged user "
                        "(with its groups, no capabilities); see 'Running unprivileged'")
    p.add_argument("--group", metavar="GROUP",
                   help="with --user: run with this group instead of the user's own")
    p.add_argument("--json-alerts", metavar="FILE",
                   help="write one JSON object per alert per line to FILE ('-' = stdout); "
                        "a flood is summarised as on stderr and in alerts.xml")
    p.add_argument("--json-alerts-all", action="store_true",
                   help="with --json-alerts: every alert, none held back or summarised "
                        "(for a SIEM)")
    p.add_argument("--alerts-xml", metavar="FILE",
                   help="append alerts to this alerts.xml (default: alerts.xml beside "
                        "the neighbour cache)")
    p.add_argument("--no-alerts-xml", action="store_true", help="do not write alerts.xml")
    p.add_argument("--npd6-conf", metavar="FILE",
                   help="run the ND proxy (plugin ndproxy) with the settings of this "
                        "npd6.conf; its interfaces are captured too")
    p.add_argument("--check-config", action="store_true",
                   help="validate the config (and the cache) and exit 0, or 2 on error")
    p.add_argument("--store", metavar="URL",
                   help="write neighbours, routers and alerts into this PostgreSQL "
                        "database (postgresql://host/db, no password: see <store>)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not print alerts on stderr")
    p.add_argument("-v", dest="verbose", action="store_true", help="print more on stderr")
    p.add_argument("--version", action="version", version=f"ndpmon {__version__}")
    return p


#: The end of ``ndpmon --help``: the other commands (options may come before the word).
COMMANDS_HELP = """\
commands (each has its own --help):
  ndpmon report --out DIR   write the web report (HTML pages) from the config, the
                            neighbour cache and alerts.xml
  ndpmon query mac MAC | ip ADDRESS | since TIME
                            where and when a MAC or an address was seen, and which
                            alerts name it (the store, or the cache and alerts.xml)
  ndpmon central            alerts that need every probe of the store (a MAC or an
                            address on two probes)
  ndpmon upgrade OLD [-i IFACE] [-o NEW | --in-place]
                            convert an NDPMon 1.4, 802.1Q-fork or 2.1 config or cache
e.g. ndpmon -f /etc/ndpmon/config_ndpmon.xml query mac 0:11:22:33:44:55"""


def _duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``12h`` or ``7d`` as seconds (argparse type)."""
    try:
        seconds = duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 12h)") \
            from None
    if not 0 < seconds < 10 * 365 * 86400:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (must be positive)")
    return seconds
