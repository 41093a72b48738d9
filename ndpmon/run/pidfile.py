"""The ``--pidfile``: created where only root can write, locked through a read-only fd.

Root creates the pid file before ``--user`` takes effect, so a directory another account
can write in would let that account choose what root opens: a symbolic link named like
the pid file would make root truncate and chmod any file, and remove the link at exit.
So (issue 14, item 2):

* the directory of the pid file must be root's alone (owned by root, writable by no one
  else, even with the sticky bit: ``/run`` is the place), every directory above it must
  be root's or sticky, and no symbolic link on the way may be another user's; the
  directory is opened once and the file is opened relative to that fd;
* the file is opened with ``O_NOFOLLOW|O_NONBLOCK`` (no link, no FIFO can block), and
  must be a regular file of root's with one link (``fstat``);
* the lock (``flock``) is taken on a read-only fd, and the pid written through a second,
  write-only fd that is closed at once: after the drop the process holds no fd that can
  write root's file (``/proc/PID/fdinfo`` shows it), so a bug in the packet parser
  cannot aim root's ``kill $(cat ndpmon.pid)`` anywhere;
* at exit the file is removed only if the name still is the file that was locked; a
  ``--user`` that cannot remove it from root's directory leaves it as it is (with the
  old pid in it, said in the log): it is not locked any more, so it blocks no restart.

A second ndpmon on the same pid file is refused with the first one's pid, and a file
left behind by a ``kill -9`` is not a lock (the kernel released it).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import pwd
import stat
from typing import Any

from ndpmon.errors import NdpmonError

__all__ = ["PidFile", "check_directory"]

log = logging.getLogger("ndpmon")

_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
#: Directories are held as O_PATH fds: enough to open and remove names relative to
#: them and to fstat them, no right to read or change anything.
_DIR = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_FIX = "put it where only root can write, e.g. --pidfile /run/ndpmon.pid"


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _unsafe(st: os.stat_result, sticky_ok: bool) -> str:
    """Why a directory (or link) lets someone other than us change it ('' if not)."""
    if st.st_uid not in (0, os.geteuid()):
        return f"is owned by user {_owner(st.st_uid)}"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (
            sticky_ok and st.st_mode & stat.S_ISVTX):
        return "is writable by other users"
    return ""


def _refuse(path: str, what: str, why: str) -> NdpmonError:
    return NdpmonError(f"{path}: {what} {why}; refusing to write the pid file there ({_FIX})")


def _check_links(path: str, folder: str) -> None:
    """No symbolic link on the way to ``folder`` may be another user's, or sit in a
    directory another user may change."""
    current = "/"
    for part in folder.strip("/").split("/"):
        current = os.path.join(current, part)
        try:
            st = os.lstat(current)
        except OSError:
            return  # opening the directory reports it
        if not stat.S_ISLNK(st.st_mode):
            continue
        if st.st_uid not in (0, os.geteuid()):
            raise _refuse(path, f"symbolic link {current}",
                          f"is owned by user {_owner(st.st_uid)}")
        holder = os.path.dirname(current)
        why = _unsafe(os.stat(holder), sticky_ok=True)
        if why:
            raise _refuse(path, f"directory {holder} (holding the link {current})", why)


def _name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "above it"


def _check_ancestors(path: str, fd: int) -> None:
    """Each directory above the one open as ``fd`` is ours or root's, sticky if others
    may write it (walked with ``..`` from the fd: what was opened, not a name)."""
    seen = os.fstat(fd)
    current = os.open("..", _DIR, dir_fd=fd)
    try:
        while True:
            st = os.fstat(current)
            if (st.st_dev, st.st_ino) == (seen.st_dev, seen.st_ino):
                return  # "/" is its own parent
            why = _unsafe(st, sticky_ok=True)
            if why:
                raise _refuse(path, f"directory {_name(current)}", why)
            parent = os.open("..", _DIR, dir_fd=current)
            os.close(current)
            current, seen = parent, st
    finally:
        os.close(current)


def open_directory(path: str) -> int:
    """The directory of the pid file ``path``, open, once it is known to be root's
    alone (NdpmonError, one line with the fix, otherwise)."""
    folder = os.path.dirname(os.path.abspath(path))
    _check_links(path, folder)
    try:
        fd = os.open(folder, _DIR)
    except OSError as exc:
        raise NdpmonError(f"{path}: cannot write the pid file: {folder}: "
                          f"{exc.strerror}") from None
    try:
        why = _unsafe(os.fstat(fd), sticky_ok=False)
        if why:
            raise _refuse(path, f"directory {folder}", why)
        _check_ancestors(path, fd)
    except OSError as exc:
        os.close(fd)
        raise NdpmonError(f"{path}: cannot check the directories above {folder}: "
                          f"{exc.strerror}") from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_directory(path: str) -> None:
    """Fail now (``--check-config``, before anything starts) if the pid file's
    directory is not root's alone."""
    os.close(open_directory(path))


def _check_file(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
        raise NdpmonError(f"{path}: not a regular file of {_owner(os.geteuid())}'s with "
                          f"one link; refusing to use it as the pid file (remove it)")


class PidFile:
    """A locked pid file; a context manager (python-daemon calls it after the fork)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = os.path.basename(path)
        self._dir: int | None = None
        self._fd: int | None = None  # read-only; holds the lock

    def __enter__(self) -> "PidFile":
        self._lock()
        try:
            self._write()
        except BaseException:
            self._close()
            raise
        return self

    def check(self) -> None:
        """Fail now, before detaching, if another ndpmon holds the pid file."""
        self._lock()
        self._close()  # the daemon locks it again after the fork

    def _lock(self) -> None:
        self._dir = open_directory(self.path)
        try:
            self._fd = os.open(self.name, os.O_RDONLY | os.O_CREAT | _FLAGS, 0o644,
                               dir_fd=self._dir)
        except OSError as exc:
            self._close()
            if exc.errno == errno.ELOOP:
                raise NdpmonError(f"{self.path}: is a symbolic link; refusing to use it "
                                  f"as the pid file (remove it)") from None
            raise NdpmonError(f"{self.path}: cannot write the pid file: "
                              f"{exc.strerror}") from None
        try:
            _check_file(self.path, os.fstat(self._fd))
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.read(self._fd, 32).decode("ascii", "replace").strip() or "?"
            self._close()
            raise NdpmonError(f"{self.path}: ndpmon is already running (pid {other})") \
                from None
        except BaseException:
            self._close()
            raise

    def _write(self) -> None:
        """The pid, through a write-only fd closed at once (the lock stays on the
        read-only one)."""
        assert self._fd is not None and self._dir is not None
        locked = os.fstat(self._fd)
        fd = os.open(self.name, os.O_WRONLY | _FLAGS, dir_fd=self._dir)
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (locked.st_dev, locked.st_ino):
                raise NdpmonError(f"{self.path}: replaced while ndpmon opened it; refusing "
                                  f"to write it")
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fchmod(fd, 0o644)  # anyone may read a pid (the umask is 027)
        finally:
            os.close(fd)

    def __exit__(self, *exc: Any) -> None:
        if self._fd is None:
            return
        try:
            self._remove()
        finally:
            self._close()

    def _remove(self) -> None:
        """Remove the name if it still is the locked file (never another one)."""
        assert self._fd is not None and self._dir is not None
        locked = os.fstat(self._fd)
        try:
            st = os.stat(self.name, dir_fd=self._dir, follow_symlinks=False)
            if (st.st_dev, st.st_ino) == (locked.st_dev, locked.st_ino):
                os.unlink(self.name, dir_fd=self._dir)
        except PermissionError:  # --user cannot remove root's file from root's directory
            log.info("%s: left in place (user %s cannot remove it); it is no longer "
                     "locked, so it blocks no restart", self.path, _owner(os.geteuid()))
        except OSError:
            pass  # removed by root already: nothing left to clean

    def _close(self) -> None:
        for fd in (self._fd, self._dir):
            if fd is not None:
                os.close(fd)
        self._fd = self._dir = None
