"""The ``ndpmon`` command line: one dispatcher, one wrapper, one-line errors, exit codes.

``ndpmon`` (monitor, learn, replay), ``ndpmon report``, ``ndpmon query`` and ``ndpmon
central`` are dispatched here and run inside one wrapper (``run_command``): it parses
the arguments, sets up logging on stderr and the umask, and turns every user error (a
broken config, a missing file, a capture that is not Ethernet) into one line on stderr,
``ndpmon: <file>:<line>: <what>``, and exit code 2; tracebacks are for bugs only. The
options keep NDPMon 2.1's letters (``-f -e -g -L -i -v``). The monitor's options become
one RunOptions (ndpmon.run.options) here; nothing below takes the argparse namespace.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from ndpmon.config.model import Config
from ndpmon.errors import NdpmonError
from ndpmon.run import privs, safepath
from ndpmon.run.daemon import PidFile, detach, setup_logging
from ndpmon.run.pidfile import check_directory
from ndpmon.commands.args import _duration, build_parser  # noqa: F401 (re-exported)
from ndpmon.run.options import RunOptions

__all__ = ["main", "build_parser", "run_command", "Command"]

log = logging.getLogger("ndpmon")


# -- the dispatcher and the wrapper --------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One ``ndpmon`` command: its parser, its body (``run(args, argv) -> exit code``,
    raising NdpmonError for a user error) and the umask it writes files with (None:
    the caller's)."""

    parser: Callable[[], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace, Sequence[str]], int]
    umask: int | None = None


#: The exit code of a learning run after which a probe has no router (the routers and
#: the cache are written all the same; the log says what to check).
NO_ROUTER = 1

#: ``ndpmon WORD ...``: the module of each sub-command (imported when used).
SUBCOMMANDS = {"report": "ndpmon.commands.report", "query": "ndpmon.commands.query",
               "central": "ndpmon.commands.central", "upgrade": "ndpmon.commands.upgrade"}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ndpmon`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    word = command_word(argv)
    if word is not None:  # ``ndpmon [OPTIONS] WORD ...``: the options go to WORD
        module = importlib.import_module(SUBCOMMANDS[argv[word]])
        return run_command(Command(module.build_parser, module.run),
                           argv[:word] + argv[word + 1:])
    # what ndpmon writes is for root and its group only
    return run_command(Command(build_parser, _run, umask=0o027), argv)


def command_word(argv: Sequence[str]) -> int | None:
    """The index of a sub-command word in ``argv``: the first argument that is neither an
    option nor an option's value (``ndpmon -f CONFIG query mac X`` as well as ``ndpmon
    query -f CONFIG mac X``); None for the monitor itself."""
    takes_value = {option for action in build_parser()._actions if action.nargs != 0
                   for option in action.option_strings}
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--":
            return None
        elif arg.startswith("-"):
            skip = arg in takes_value  # ``-f CONFIG``; ``-fCONFIG``, ``--x=y`` are one
        else:
            return index if arg in SUBCOMMANDS else None
    return None


def run_command(command: Command, argv: Sequence[str]) -> int:
    """Parse ``argv``, set up logging and the umask, run; a user error is one line on
    stderr and exit code 2."""
    args = command.parser().parse_args(argv)
    setup_logging(getattr(args, "verbose", False))
    umask = None if command.umask is None else os.umask(command.umask)
    try:
        return command.run(args, argv)
    except NdpmonError as exc:
        print(f"ndpmon: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``ndpmon --json-alerts - ... | head``: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if umask is not None:
            os.umask(umask)  # for callers in the same process (tests)


# -- ndpmon: monitor, learn, replay ---------------------------------------------------------


def options_of(args: argparse.Namespace) -> RunOptions:
    """The RunOptions of ``ndpmon``'s arguments (``--user`` is looked up here)."""
    if args.group and not args.user:
        raise NdpmonError("--group needs --user")
    options = RunOptions(
        config=args.config, dtd=args.dtd, cache=args.cache, ifaces=tuple(args.ifaces or ()),
        replay=args.replay, learn=args.learn or args.learn_for is not None,
        learn_for=args.learn_for, deliver=args.deliver, daemon=args.daemon,
        pidfile=args.pidfile, json_alerts=args.json_alerts,
        json_alerts_all=args.json_alerts_all, alerts_xml=args.alerts_xml,
        no_alerts_xml=args.no_alerts_xml, npd6_conf=args.npd6_conf, store=args.store,
        check_config=args.check_config, quiet=args.quiet, verbose=args.verbose)
    if options.json_alerts_all and not options.json_alerts:
        raise NdpmonError("--json-alerts-all needs --json-alerts FILE")
    if options.daemon:
        options = options.absolute()  # the daemon runs in /, and reloads and writes from there
    if args.user:
        options = replace(options, account=privs.lookup(args.user, args.group))
    return options


def _run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from ndpmon.run import session

    options = options_of(args)
    config, ifaces = load(options)
    _check_files(options, config)
    if options.check_config:
        session.check_cache(config, options.cache, options.account)
        if not options.replay:  # the live start would fail on it: say so now
            check_interfaces(config, ifaces)
        print(f"{options.config}: OK ({len(config.probes)} probes, "
              f"{sum(len(p.routers) for p in config.probes)} routers)")
        return 0
    if options.replay:
        if options.daemon:
            raise NdpmonError("-D and -r do not go together: a replay ends by itself")
        writer = _root_writer(options, config)
        try:
            if options.account is not None:  # nothing to open first: drop root now
                _drop(options.account, writer)
            summary = session.replay(config, options, writer and writer.write)
        finally:
            if writer is not None:
                writer.close()
        print(f"ndpmon: {summary}", file=sys.stderr)
        return NO_ROUTER if summary.no_router else 0
    return _live(options, config, ifaces)


def load(options: RunOptions) -> tuple[Config, tuple[str, ...]]:
    """The config as the options make it (``--npd6-conf``, ``--store``), and the ``-i``
    interfaces with the ND proxy's outside ones added (at start and on SIGHUP)."""
    from ndpmon.run import session

    config = session.load_config(options.config, options.dtd)
    ifaces = options.ifaces
    if options.npd6_conf:  # switch the ndproxy plugin on with that npd6.conf
        from ndpmon.proxy.npd6conf import with_npd6_conf

        config, outside = with_npd6_conf(config, options.npd6_conf)
        if ifaces and not options.replay:  # -i lists what is captured: add the outside
            ifaces += tuple(name for name in outside if name not in ifaces)
    if options.store:
        from ndpmon.store.url import with_store_url

        config = with_store_url(config, options.store)
    return config, ifaces


def _live(options: RunOptions, config: Config, ifaces: tuple[str, ...]) -> int:
    """Check everything that can be checked, detach if asked, then capture."""
    from ndpmon.capture.live import LiveCapture
    from ndpmon.run import session

    config, names = session.live_config(config, ifaces)
    engine = session.prepare(config, options)  # the cache is read and checked here, once
    check_interfaces(config, ifaces)
    pidfile, context = PidFile(options.pidfile) if options.pidfile else None, None
    if options.daemon:
        if pidfile is not None:
            pidfile.check()
        context = detach(options.pidfile)
        setup_logging(options.verbose, config.settings.delivery.syslog_socket)
    elif pidfile is not None:
        pidfile.__enter__()
    writer = _root_writer(options, engine.config)
    try:
        capture = LiveCapture(names)
        capture.open()
        account = options.account
        drop = None if account is None else (
            lambda: _drop(account, writer, _net_raw(engine)))
        summary = session.live(engine, options, capture, lambda: _reload(options), drop,
                               writer and writer.write)
        log.info("%s", summary)
        code = NO_ROUTER if summary.no_router else 0
    except NdpmonError as exc:
        if context is not None:  # stderr is gone: the log is all the admin has
            log.error("%s", exc)
        raise
    finally:
        if writer is not None:
            writer.close()
        if context is not None:
            context.close()
        elif pidfile is not None:
            pidfile.__exit__()
    return code


def check_interfaces(config: Config, ifaces: Sequence[str]) -> None:
    """The interfaces a live run captures on must exist on this host: the ``-i`` ones,
    else every ``<probe type="interface">`` (NdpmonError naming the first missing
    probe and its line). An interface that comes later (a USB NIC, a VLAN made after
    ndpmon starts) is no exception: ndpmon cannot capture on it yet; order the start
    after it instead (README "Running as a service")."""
    import socket

    from ndpmon.capture import live

    if ifaces:
        live.check_interfaces(ifaces)
        return
    missing = [p for p in config.probes if p.type == "interface" and not _exists(p.name)]
    if not missing:
        return
    first = missing[0]
    what = (f'{config.path}:{first.line}: <probe name="{first.name}" type="interface">'
            if first.line is not None else first.name)  # not from the file: npd6.conf's
    others = f"; so are {', '.join(p.name for p in missing[1:])}" if missing[1:] else ""
    have = ", ".join(name for _, name in socket.if_nameindex())
    raise NdpmonError(f"{what}: no such interface on this host{others} (it has {have})")


def _exists(iface: str) -> bool:
    """An interface of this host, or ``IFACE.VID`` (VLAN VID, 1-4094) on one: a VLAN
    probe of a trunk port (issue 17)."""
    import socket

    from ndpmon.config.vlans import split

    vlan = split(iface)
    for name in (iface, vlan[0]) if vlan else (iface,):
        try:
            socket.if_nametoindex(name)
        except OSError:
            continue
        return True
    return False


def _reload(options: RunOptions) -> Config:
    """SIGHUP: load and validate the config file again (NdpmonError if it is broken)."""
    from ndpmon.run import session

    config, ifaces = load(options)
    safepath.check_inputs(config, options.dtd)
    return session.live_config(config, ifaces)[0]


# -- --user and files others can modify (ndpmon.run.privs, ndpmon.run.safepath) ---------------

def _uids(account) -> tuple[int, ...]:
    return (account.uid,) if account is not None else (os.geteuid(),)


def _root_writer(options: RunOptions, config: Config):
    """Learning under --user as root: root's writer of the learned routers
    (ndpmon.run.learnwriter), else None (this process writes the config itself)."""
    if not (options.learn and options.account is not None and os.geteuid() == 0):
        return None
    from ndpmon.run.learnwriter import RootWriter

    return RootWriter(config)


def _drop(account, writer, net_raw: bool = False) -> None:
    """--user: fork root's config writer if learning, then become the user."""
    if writer is not None:
        writer.fork()
    privs.drop(account, net_raw)


def _check_files(options: RunOptions, config: Config) -> None:
    """Refuse files others can modify; with --user, check what the user will need."""
    account = options.account
    uids = _uids(account)
    safepath.check_inputs(config, options.dtd)
    if options.pidfile:  # root's alone, whoever ndpmon runs as (ndpmon.run.pidfile)
        check_directory(options.pidfile)
    outputs = options.output_files(config.path)
    by_root = {options.pidfile}  # the pid file stays root's
    if _root_writer(options, config) is not None:
        by_root.add(config.path)  # written by root's writer, never by the user
    safepath.check_outputs([f for f in outputs if f in by_root], ())
    safepath.check_outputs([f for f in outputs if f not in by_root], uids)
    if account is None:
        return
    written = [f for f in outputs if f not in by_root]
    privs.check_access(account, [config.path, safepath.dtd_file(config, options.dtd)],
                       written)
    privs.program_runs(account, safepath.pipe_programs(config))


def _net_raw(engine) -> bool:
    """Does a plugin need to open packet sockets after the drop?"""
    wanting = [p.name for p in engine.plugins if p.needs_net_raw]
    if wanting:
        log.info("keeping CAP_NET_RAW for plugin%s %s", "s" * (len(wanting) > 1),
                 ", ".join(wanting))
    return bool(wanting)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
