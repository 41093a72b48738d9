"""Running in the background: ``-D`` detaches with python-daemon, ``--pidfile`` locks.

NDPMon had no daemon mode (init scripts backgrounded it, COMPATIBILITY.md §6.1). Here the config,
the cache and the interfaces are checked before detaching, so every error still reaches
the admin's terminal; only then does the process detach. Afterwards the log goes to
syslog, as nothing else is left to read it.

The pid file (ndpmon.run.pidfile) is locked with ``flock`` for the life of the
process: a second ndpmon on the same pid file is refused with the first one's pid.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from typing import Any

from ndpmon.files.text import printable
from ndpmon.run.pidfile import PidFile

__all__ = ["PidFile", "detach", "setup_logging"]

log = logging.getLogger("ndpmon")


def detach(pidfile: str | None) -> Any:
    """Fork into the background (python-daemon) and return the open DaemonContext.

    Signals are left to monitor.Flags (an empty signal map), the working directory is
    ``/`` and stdin/stdout/stderr go to /dev/null.
    """
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
