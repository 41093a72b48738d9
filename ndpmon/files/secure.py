"""Opening the files ndpmon writes so that no other account decides where the bytes go.

ndpmon writes as root (or as its ``--user``) in directories named by the admin: the
cache, alerts.xml, ``--json-alerts``, the report pages, ndproxy's targets file. If
another account can put a symbolic link, a hard link, a FIFO or a file of its own where
one of them will be, it makes root create, append to or replace any file, or hangs the
monitor (issue 14). So every output is opened here, and only like this:

* the directory is reached component by component from ``/`` without following a link
  that an untrusted account owns; every directory on the way must be owned by a trusted
  account and writable by no one else (sticky ones such as /tmp excepted), and the one
  that holds the file must not be writable by others at all, sticky or not: in /tmp
  anyone may plant a link under the name ndpmon is about to use;
* the file is opened relative to that directory's descriptor with ``O_NOFOLLOW`` and
  ``O_NONBLOCK`` (``O_EXCL`` when it is created), then checked with ``fstat``: a
  regular file, owned by a trusted account, with one link.

Trusted accounts are root and the one ndpmon runs as (``os.geteuid()``: outputs are
opened after the ``--user`` drop). A refusal is a WriteError, one line naming the file;
an error of the OS itself is raised as OSError, for the caller to word.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import stat

from ndpmon.errors import WriteError

__all__ = ["trusted_uids", "user_name", "open_dir", "open_output", "split", "check_file",
           "REFUSE"]

#: The end of every refusal to write.
REFUSE = "refusing to write there"

_PATH = getattr(os, "O_PATH", os.O_RDONLY)  # Linux: search permission is enough
_WALK = _PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40  # as the kernel's ELOOP limit
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def trusted_uids() -> frozenset[int]:
    """The owners a file ndpmon writes may have: root and the account it runs as."""
    return frozenset({0, os.geteuid()})


def user_name(uid: int) -> str:
    """The login name of ``uid`` (its number when it has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _components(path: str) -> list[str]:
    """The names of ``path`` to walk, last first (a stack), without empty and ``.``."""
    return [name for name in reversed(path.split("/")) if name not in ("", ".")]


class _Walk:
    """The directories opened so far from ``/``: one O_PATH descriptor each."""

    def __init__(self, target: str) -> None:
        self.target = target  # the path the caller asked for: every message names it
        self.fds = [os.open("/", _WALK)]
        self.names = [""]

    def here(self, name: str = "") -> str:
        return "/".join([*self.names, name]) if name else "/".join(self.names) or "/"

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()

    def up(self) -> None:
        if len(self.fds) > 1:
            os.close(self.fds.pop())
            self.names.pop()

    def to_root(self) -> None:
        while len(self.fds) > 1:
            self.up()

    def down(self, name: str) -> None:
        fd = os.open(name, _WALK, dir_fd=self.fds[-1])  # a link swapped in: ENOTDIR
        self.fds.append(fd)
        self.names.append(name)
        _check_dir(self.target, self.here(), os.fstat(fd), final=False)


def _check_dir(target: str, where: str, info: os.stat_result, final: bool) -> None:
    """Refuse a directory another account owns or may write in (sticky: only if
    ``final``, the directory that holds the file)."""
    if info.st_uid not in trusted_uids():
        raise WriteError(target, f"directory {where} owned by user {user_name(info.st_uid)} "
                                 f"(chown {user_name(os.geteuid())} {where}); {REFUSE}")
    if not info.st_mode & _OTHERS_WRITE:
        return
    if info.st_mode & stat.S_ISVTX and not final:
        return  # others may add entries but not rename or remove ours
    if info.st_mode & stat.S_ISVTX:
        fix = "others can plant links there: use a directory only root or ndpmon's user " \
              "can write"
    else:
        fix = "chmod go-w " + where
    raise WriteError(target, f"directory {where} writable by other users ({fix}); {REFUSE}")


def open_dir(path: str, *, create: bool = False, file: str = "") -> int:
    """A read-only descriptor of the directory ``path``, reached and checked as the
    module docstring says; missing directories are made (0755) when ``create``.

    Raises WriteError naming ``file`` (the output to be written there; else ``path``)
    for a refusal, OSError (ENOENT, ENOTDIR, ELOOP...) otherwise.
    """
    walk, links = _Walk(file or path), 0
    todo = _components(path if path.startswith("/") else os.path.join(os.getcwd(), path))
    try:
        _check_dir(walk.target, "/", os.fstat(walk.fds[0]), final=not todo)
        while todo:
            name = todo.pop()
            if name == "..":
                walk.up()
                continue
            target = _link(walk, name, create)
            if target is None:
                walk.down(name)
                continue
            links += 1
            if links > _MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            if target.startswith("/"):
                walk.to_root()
            todo.extend(_components(target))
        _check_dir(walk.target, walk.here(), os.fstat(walk.fds[-1]), final=True)
        return os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=walk.fds[-1])
    finally:
        walk.close()


def _link(walk: _Walk, name: str, create: bool) -> str | None:
    """The target of ``name`` if it is a symbolic link a trusted account owns (None for
    anything else); a missing ``name`` is made a directory when ``create``."""
    try:
        info = os.stat(name, dir_fd=walk.fds[-1], follow_symlinks=False)
    except FileNotFoundError:
        if not create:
            raise
        os.mkdir(name, 0o755, dir_fd=walk.fds[-1])
        return None
    if not stat.S_ISLNK(info.st_mode):
        return None
    if info.st_uid not in trusted_uids():
        raise WriteError(walk.target, f"{walk.here(name)} is a symbolic link owned by user "
                                      f"{user_name(info.st_uid)}; refusing to follow it")
    return os.readlink(name, dir_fd=walk.fds[-1])


def split(path: str) -> tuple[str, str]:
    """The directory and the name of the file ``path`` (a path ending in ``/`` or naming
    ``.`` or ``..`` is not a file: IsADirectoryError)."""
    folder, name = os.path.split(path)
    if name in ("", ".", ".."):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    return folder or ".", name


def check_file(path: str, info: os.stat_result) -> None:
    """Refuse an output that is not a regular file of a trusted owner with one link."""
    if stat.S_ISLNK(info.st_mode):
        raise WriteError(path, "a symbolic link; refusing to write through it")
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(path, "not a regular file; refusing to write to it")
    if info.st_uid not in trusted_uids():
        raise WriteError(path, f"owned by user {user_name(info.st_uid)} (remove it, or "
                               f"chown {user_name(os.geteuid())} {path}); {REFUSE}")
    if info.st_nlink != 1:
        raise WriteError(path, f"has {info.st_nlink} hard links (remove it); {REFUSE}")


def open_output(path: str, *, append: bool = False, mode: int = 0o640) -> int:
    """A descriptor of the output ``path`` (read-write; write-only and appending when
    ``append``), created with ``mode`` if missing. Checked as the module docstring says;
    WriteError for a refusal, OSError otherwise."""
    folder, name = split(path)
    access = (os.O_WRONLY | os.O_APPEND) if append else os.O_RDWR
    flags = access | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    dir_fd = open_dir(folder, file=path)
    try:
        fd = _open_in(path, name, dir_fd, flags, mode)
    finally:
        os.close(dir_fd)
    try:
        check_file(path, os.fstat(fd))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_in(path: str, name: str, dir_fd: int, flags: int, mode: int) -> int:
    """Create ``name`` in ``dir_fd`` (O_EXCL), or open the one there after checking what
    it is (a FIFO or a device is never opened); retried if it vanishes in between."""
    for _ in range(3):
        try:
            return os.open(name, flags | os.O_CREAT | os.O_EXCL, mode, dir_fd=dir_fd)
        except FileExistsError:
            pass
        try:
            check_file(path, os.stat(name, dir_fd=dir_fd, follow_symlinks=False))
            return os.open(name, flags, dir_fd=dir_fd)
        except FileNotFoundError:
            continue  # removed meanwhile: create it
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # made a link after the check
                raise WriteError(path, "a symbolic link; refusing to write through it") \
                    from None
            raise
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))
