"""Running in the background: ``-D`` detaches with python-daemon, ``--pidfile`` locks.

NDPMon had no daemon mode (init scripts backgrounded it, COMPATIBILITY.md §6.1). Here the config,
the cache and the interfaces are checked before detaching, so every error still reaches
the admin's terminal; only then does the process detach. Afterwards the log goes to
syslog, as nothing else is left to read it.

The pid file is locked with ``flock`` for the life of the process: a second ndpmon on
the same pid file is refused with the first one's pid, and a file left behind by a
``kill -9`` is not a lock (the kernel released it), so it never blocks a restart.
"""

from __future__ import annotations

import fcntl
import logging
import logging.handlers
import os
import sys
from typing import Any

from ndpmon.errors import NdpmonError

__all__ = ["PidFile", "detach", "setup_logging"]

log = logging.getLogger("ndpmon")


class PidFile:
    """A locked pid file; a context manager (python-daemon calls it after the fork)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> "PidFile":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise NdpmonError(f"{self.path}: cannot write the pid file: {exc.strerror}") \
                from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise NdpmonError(f"{self.path}: ndpmon is already running (pid {other})") \
                from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fchmod(fd, 0o644)  # anyone may read a pid (the umask is 027)
        self._fd = fd
        return self

    def check(self) -> None:
        """Fail now, before detaching, if another ndpmon holds the pid file."""
        self.__enter__()
        os.close(self._fd)  # keep the file: the daemon rewrites it after the fork
        self._fd = None

    def __exit__(self, *exc: Any) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except PermissionError:  # --user cannot remove root's file: leave it empty
            os.ftruncate(self._fd, 0)
        except OSError:
            pass  # removed by someone else: nothing left to clean
        os.close(self._fd)
        self._fd = None


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


def setup_logging(verbose: bool, syslog_socket: str | None = None) -> None:
    """Log lines to stderr (foreground) or, after detaching, to syslog as ``ndpmon``."""
    root = logging.getLogger("ndpmon")
    root.handlers.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    if syslog_socket is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ndpmon: %(message)s"))
    else:
        try:
            handler = logging.handlers.SysLogHandler(
                address=syslog_socket, facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        except OSError:
            handler = logging.NullHandler()  # no syslog daemon: nowhere to log to
        handler.setFormatter(logging.Formatter(f"ndpmon[{os.getpid()}]: %(message)s"))
    root.addHandler(handler)
