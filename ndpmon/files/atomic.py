"""Atomic file replacement, shared by the neighbour cache and the learned config.

An admin's config and cache must never be left half-written: a kill -9 or a full disk at
any moment leaves the old file or the new one, both whole. Write a temporary file in the
same directory, fsync it, rename it over the target, fsync the directory.
"""

from __future__ import annotations

import os
import tempfile

from ndpmon.errors import WriteError

__all__ = ["write_atomic"]


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` by ``data``: temporary file, fsync, rename, fsync the directory.

    A symbolic link is followed (the link stays); the old file's mode and, when
    allowed, its owner are kept.  On any error the temporary file is removed.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    prefix = f".{os.path.basename(target)}."
    _remove_leftovers(directory, prefix)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise WriteError(path, f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            _copy_owner_and_mode(target, file.fileno())
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise WriteError(path, f"cannot write: {exc.strerror or exc}") from None
    _fsync_directory(directory)


def _remove_leftovers(directory: str, prefix: str) -> None:
    """Delete temporary files of writers that died mid-write (``kill -9``).

    Temporary names carry the writer's pid: ``.<name>.<pid>.<random>.tmp``; a file
    whose pid is no longer running is a leftover.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].partition(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            _remove(os.path.join(directory, name))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _copy_owner_and_mode(target: str, fd: int) -> None:
    """Give the new file the old one's permission bits (0o640 if new: root and
    ndpmon's group read it, nobody else) and owner."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        os.fchmod(fd, 0o640)
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        pass  # not root: the file becomes ours, as any rewrite would make it
    os.fchmod(fd, old.st_mode & 0o7777)  # after chown, which may clear set-id bits


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass  # already gone, or the directory is broken: nothing more to do


def _fsync_directory(directory: str) -> None:
    """Make the rename durable.  Some file systems cannot fsync a directory;
    the rename is done by then, so that only weakens durability, not consistency."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
