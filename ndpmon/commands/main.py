"""The ``ndpmon`` command line: options, one-line errors, exit codes.

Every user error (a broken config, a missing file, a capture that is not Ethernet) ends
as one line on stderr, ``ndpmon: <file>:<line>: <what>``, and exit code 2; tracebacks are
for bugs only. The options keep NDPMon 2.1's letters (``-f -e -g -L -i -v``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from ndpmon import __version__
from ndpmon.run import privs
from ndpmon.run import safepath
from ndpmon.run.daemon import PidFile, detach, setup_logging
from ndpmon.errors import NdpmonError
from ndpmon.config.values import duration

__all__ = ["main", "build_parser"]

DEFAULT_CONFIG = "/etc/ndpmon/config_ndpmon.xml"
DEFAULT_CACHE = "/var/lib/ndpmon/neighbor_list.xml"

log = logging.getLogger("ndpmon")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render the README's option list)."""
    p = argparse.ArgumentParser(
        prog="ndpmon", description="IPv6 Neighbor Discovery monitor (NDPMon-compatible).",
        epilog="ndpmon report --help: the web report's own options.")
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
                   help="write one JSON object per alert per line to FILE ('-' = stdout)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ndpmon`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:  # ``ndpmon report ...``: the web report has its own options
        from ndpmon.commands.report import main as report_main

        return report_main(argv[1:])
    if argv[:1] in (["query"], ["central"]):  # the store's commands (ndpmon.commands.query)
        from ndpmon.commands.query import main as query_main

        return query_main(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    args.learn = args.learn or args.learn_for is not None
    setup_logging(args.verbose)
    umask = os.umask(0o027)  # what ndpmon writes is for root and its group only
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
    finally:
        os.umask(umask)  # for callers in the same process (tests)


def _run(args: argparse.Namespace) -> int:
    from ndpmon.run import session as runner

    if args.daemon:
        _absolute_paths(args)  # the daemon runs in /, and reloads and writes from there
    account = _account(args)
    config = _npd6(runner.load_config(args.config, args.dtd), args)
    if args.store:
        from ndpmon.store.url import with_store_url

        config = with_store_url(config, args.store)
    _check_files(args, config, account)
    if args.check_config:
        runner.check_cache(config, args.cache)
        print(f"{args.config}: OK ({len(config.probes)} probes, "
              f"{sum(len(p.routers) for p in config.probes)} routers)")
        return 0
    if args.replay:
        if args.daemon:
            raise NdpmonError("-D and -r do not go together: a replay ends by itself")
        if account is not None:  # nothing to open first: drop root now
            privs.drop(account)
        summary = runner.replay(config, args, args.replay)
        print(f"ndpmon: {summary}", file=sys.stderr)
        return 0
    return _live(args, config)


def _live(args: argparse.Namespace, config) -> int:
    """Check everything that can be checked, detach if asked, then capture."""
    from ndpmon.run import session as runner
    from ndpmon.capture.live import LiveCapture, check_interfaces

    config, ifaces = runner.live_config(config, args.ifaces)
    engine = runner.prepare(config, args)  # the cache is read and checked here, once
    check_interfaces(ifaces)
    pidfile, context = PidFile(args.pidfile) if args.pidfile else None, None
    if args.daemon:
        if pidfile is not None:
            pidfile.check()
        context = detach(args.pidfile)
        setup_logging(args.verbose, config.settings.delivery.syslog_socket)
    elif pidfile is not None:
        pidfile.__enter__()
    try:
        capture = LiveCapture(ifaces)
        capture.open()
        account = args.account
        drop = None if account is None else (lambda: privs.drop(account, _net_raw(engine)))
        summary = runner.live(engine, args, capture, lambda: _reload(args), drop)
        log.info("%s", summary)
    except NdpmonError as exc:
        if context is not None:  # stderr is gone: the log is all the admin has
            log.error("%s", exc)
        raise
    finally:
        if context is not None:
            context.close()
        elif pidfile is not None:
            pidfile.__exit__()
    return 0


def _absolute_paths(args: argparse.Namespace) -> None:
    for name in ("config", "dtd", "cache", "alerts_xml", "json_alerts", "pidfile",
                 "npd6_conf"):
        value = getattr(args, name)
        if value and value != "-":
            setattr(args, name, os.path.abspath(value))


def _reload(args: argparse.Namespace):
    """SIGHUP: load and validate the config file again (NdpmonError if it is broken)."""
    from ndpmon.run import session as runner

    config = _npd6(runner.load_config(args.config, args.dtd), args)
    safepath.check_inputs(config, args.dtd, _uids(args.account))
    return runner.live_config(config, args.ifaces)[0]


# -- --user and files others can modify (ndpmon.run.privs, ndpmon.run.safepath) ---------------

def _account(args: argparse.Namespace):
    """The ``--user`` account, or None."""
    if args.group and not args.user:
        raise NdpmonError("--group needs --user")
    args.account = privs.lookup(args.user, args.group) if args.user else None
    return args.account


def _uids(account) -> tuple[int, ...]:
    return (account.uid,) if account is not None else (os.geteuid(),)


def _check_files(args: argparse.Namespace, config, account) -> None:
    """Refuse files others can modify; with --user, check what the user will need."""
    uids = _uids(account)
    safepath.check_inputs(config, args.dtd, uids)
    outputs = safepath.output_files(args, config)
    safepath.check_outputs(outputs, uids)
    if account is None:
        return
    written = [f for f in outputs if f != args.pidfile]  # the pid file stays root's
    privs.check_access(account, [config.path, safepath.dtd_file(config, args.dtd)], written)
    privs.program_runs(account, safepath.pipe_programs(config))


def _net_raw(engine) -> bool:
    """Does a plugin need to open packet sockets after the drop?"""
    wanting = [p.name for p in engine.plugins if p.needs_net_raw]
    if wanting:
        log.info("keeping CAP_NET_RAW for plugin%s %s", "s" * (len(wanting) > 1),
                 ", ".join(wanting))
    return bool(wanting)


def _npd6(config, args: argparse.Namespace):
    """``--npd6-conf FILE``: switch the ndproxy plugin on with that npd6.conf."""
    if not args.npd6_conf:
        return config
    from ndpmon.proxy.npd6conf import with_npd6_conf

    config, outside = with_npd6_conf(config, args.npd6_conf)
    if args.ifaces and not args.replay:  # -i lists what is captured: add the outside
        args.ifaces += [name for name in outside if name not in args.ifaces]
    return config


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
