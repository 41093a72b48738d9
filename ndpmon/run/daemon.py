"""Running in the background: ``-D`` detaches with python-daemon, ``--pidfile`` locks.

NDPMon had no daemon mode (init scripts backgrounded it, COMPATIBILITY.md §6.1). Here the config,
the cache and the interfaces are checked before detaching, so every error still reaches
the admin's terminal; only then does the process detach. Afterwards the log goes to
syslog, as nothing else is left to read it.

python-daemon 2.3 (Debian bookworm's) works as 3.x does for what ndpmon uses; only its
import is costlier: see ``bound_fd_limit``.

The pid file (ndpmon.run.pidfile) is locked with ``flock`` for the life of the
process: a second ndpmon on the same pid file is refused with the first one's pid.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import resource
import sys
from typing import Any

from ndpmon.files.text import printable
from ndpmon.run.pidfile import PidFile

__all__ = ["PidFile", "detach", "setup_logging", "fd_hard_limit", "bound_fd_limit"]

log = logging.getLogger("ndpmon")

#: the hard limit on open files ndpmon keeps under python-daemon < 3 (at least the soft one)
FD_LIMIT_FLOOR = 4096


def fd_hard_limit(daemon_version: str, soft: int, hard: int) -> int | None:
    """The hard RLIMIT_NOFILE to set before importing python-daemon, or None to keep it.

    python-daemon before 3.0 builds, when imported, a set of every file descriptor below
    the hard limit and keeps it for the life of the process (80 MiB for the 1048576 of
    a login shell, 40 MiB for 524288; 3.0 keeps a range). ndpmon never raises its soft
    limit, so the hard one can come down to the soft one (at least FD_LIMIT_FLOOR) at
    no loss.
    """
    try:
        major = int(daemon_version.split(".")[0])
    except ValueError:
        return None
    if major >= 3 or soft == resource.RLIM_INFINITY:
        return None
    want = max(soft, FD_LIMIT_FLOOR)
    return want if hard == resource.RLIM_INFINITY or hard > want else None


def bound_fd_limit() -> None:
    """Lower the hard limit on open files as ``fd_hard_limit`` says (python-daemon < 3)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("python-daemon")
    except PackageNotFoundError:
        return  # the import below says what is missing
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = fd_hard_limit(installed, soft, hard)
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, limit))


def detach(pidfile: str | None) -> Any:
    """Fork into the background (python-daemon) and return the open DaemonContext.

    Signals are left to monitor.Flags (an empty signal map), the working directory is
    ``/`` and stdin/stdout/stderr go to /dev/null.
    """
    bound_fd_limit()
    import daemon  # python-daemon: only needed for -D

    context = daemon.DaemonContext(
        working_directory="/", umask=0o027, signal_map={},
        pidfile=PidFile(pidfile) if pidfile else None, prevent_core=True)
    context.open()
    return context


class OneLine(logging.Formatter):
    """Each log line made printable (ndpmon.files.text): a message may quote packet
    text (a plugin's error about a DNSSL name), which must not forge lines on the
    terminal or records in syslog. A traceback (``-v``) keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


def setup_logging(verbose: bool, syslog_socket: str | None = None) -> None:
    """Log lines to stderr (foreground) or, after detaching, to syslog as ``ndpmon``."""
    root = logging.getLogger("ndpmon")
    root.handlers.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    if syslog_socket is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLine("ndpmon: %(message)s"))
    else:
        try:
            handler = logging.handlers.SysLogHandler(
                address=syslog_socket, facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        except OSError:
            handler = logging.NullHandler()  # no syslog daemon: nowhere to log to
        handler.setFormatter(OneLine(f"ndpmon[{os.getpid()}]: %(message)s"))
    root.addHandler(handler)
