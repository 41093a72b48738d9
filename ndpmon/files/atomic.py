"""Atomic file replacement, shared by the neighbour cache, the learned config, the report
pages and ndproxy's targets file.

An admin's config and cache must never be left half-written: a kill -9 or a full disk at
any moment leaves the old file or the new one, both whole. Write a temporary file in the
same directory, fsync it, rename it over the target, fsync the directory.

Nor may another account steer the write (issue 14): the directory is opened and checked
by ndpmon.files.secure, the temporary file is created in it with ``O_EXCL|O_NOFOLLOW``,
and the rename replaces the name itself, in that directory: a symbolic link there is
replaced by the new file, never followed (its target is left as it was).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from ndpmon.errors import WriteError
from ndpmon.files import secure

__all__ = ["write_atomic", "write_atomic_chunks"]

_TEMP = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def write_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` by ``data``: temporary file, fsync, rename, fsync the directory
    (as ``write_atomic_chunks`` says)."""
    write_atomic_chunks(path, (data,), mode)


def write_atomic_chunks(path: str, chunks: Iterable[bytes], mode: int | None = None) -> None:
    """Replace ``path`` by the concatenated ``chunks``, each written to the temporary
    file as it comes (a large file is never one string): temporary file, fsync, rename,
    fsync the directory.

    The old file's mode (without set-id bits) and owner are kept when it is a regular
    file owned by root or by the account ndpmon runs as; otherwise (new, a link, someone
    else's) the file is 0640 and ours. ``mode``: these permission bits instead, whatever
    the old file had (the web report's pages, 0644). A directory others may write in is
    refused (WriteError, as secure.open_dir says).  On any error (also one raised by
    ``chunks``) the temporary file is removed.
    """
    try:
        folder, name = secure.split(path)
        dir_fd = secure.open_dir(folder, file=path)
    except OSError as exc:
        raise WriteError(path, f"cannot write: {exc.strerror or exc}") from None
    try:
        _replace(path, dir_fd, name, chunks, mode)
        _fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _replace(path: str, dir_fd: int, name: str, chunks: Iterable[bytes],
             mode: int | None) -> None:
    prefix = f".{name}."
    _remove_leftovers(dir_fd, prefix)
    tmp = ""
    try:
        fd, tmp = _create_temp(dir_fd, f"{prefix}{os.getpid()}.")
        with os.fdopen(fd, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            _copy_owner_and_mode(dir_fd, name, file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        if tmp:
            _remove(dir_fd, tmp)
        raise WriteError(path, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:  # the chunks' own error (or a cancel): no file is left
        if tmp:
            _remove(dir_fd, tmp)
        raise


def _create_temp(dir_fd: int, prefix: str) -> tuple[int, str]:
    """A new file ``<prefix><random>.tmp`` in ``dir_fd``, open for writing (mode 0600
    until it is finished)."""
    for _ in range(100):
        tmp = f"{prefix}{os.urandom(6).hex()}.tmp"
        try:
            return os.open(tmp, _TEMP, 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(17, "no free temporary file name")


def _remove_leftovers(dir_fd: int, prefix: str) -> None:
    """Delete temporary files of writers that died mid-write (``kill -9``).

    Temporary names carry the writer's pid: ``.<name>.<pid>.<random>.tmp``; a file
    whose pid is no longer running is a leftover.
    """
    try:
        names = os.listdir(dir_fd)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].partition(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            _remove(dir_fd, name)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _copy_owner_and_mode(dir_fd: int, name: str, fd: int, mode: int | None) -> None:
    """Give the new file the old one's permission bits and owner when the old one is a
    regular file of a trusted owner; else 0o640 (root and ndpmon's group read it).
    ``mode``, if given, replaces the permission bits in both cases."""
    try:
        old = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        old = None
    if old is None or not stat.S_ISREG(old.st_mode) or old.st_uid not in secure.trusted_uids():
        os.fchmod(fd, 0o640 if mode is None else mode & 0o777)
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        pass  # not root: the file becomes ours, as any rewrite would make it
    # after chown; never a set-id output
    os.fchmod(fd, (old.st_mode if mode is None else mode) & 0o777)


def _remove(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass  # already gone, or the directory is broken: nothing more to do


def _fsync(dir_fd: int) -> None:
    """Make the rename durable.  Some file systems cannot fsync a directory; the rename
    is done by then, so that only weakens durability, not consistency."""
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
