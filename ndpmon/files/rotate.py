"""Numbered rotation of a file ndpmon writes: ``PATH`` becomes ``PATH.1``, ``PATH.1``
becomes ``PATH.2``, and so on; the oldest is dropped.

alerts.xml grows by every alert for as long as ndpmon runs; it is rotated by ndpmon
itself (issue 16), at a size, so that no tool has to cut a file ndpmon appends to at an
offset. The renames are made like every write of ndpmon (ndpmon.files.secure): in the
directory reached and checked from ``/`` (no link of another account followed on the
way, a directory no other account may write in), by names relative to its descriptor.
rename(2) moves a name and never follows a link, so whatever sits at ``PATH.3`` is moved
or replaced, never written through.
"""

from __future__ import annotations

import os

from ndpmon.files import secure

__all__ = ["shift", "numbered"]


def numbered(path: str, n: int) -> str:
    """The name of the ``n``-th older file: ``PATH.n`` (``PATH`` itself for 0)."""
    return f"{path}.{n}" if n else path


def shift(path: str, files: int, fd: int) -> bool:
    """Move the file open as ``fd``, at ``path``, to ``path.1``, each ``path.N`` to
    ``path.N+1``, keeping ``files`` files in all, ``path`` included: ``path.<files-1>``
    is replaced (with one file, ``path`` is removed). Files numbered ``files`` or higher
    are left alone.

    Returns False, and moves nothing, when ``path`` is no longer the file of ``fd``
    (moved or removed meanwhile: there is nothing to rotate). Raises WriteError for a
    directory ndpmon must not write in, OSError for a rename that fails (the files
    moved before it stay moved)."""
    folder, name = secure.split(path)
    dir_fd = secure.open_dir(folder, file=path)
    try:
        if not _is_open_file(dir_fd, name, fd):
            return False
        if files <= 1:
            os.unlink(name, dir_fd=dir_fd)
            return True
        for n in range(files - 1, 0, -1):
            try:
                os.rename(numbered(name, n - 1), numbered(name, n),
                          src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except FileNotFoundError:
                continue  # fewer files so far
        return True
    finally:
        os.close(dir_fd)


def _is_open_file(dir_fd: int, name: str, fd: int) -> bool:
    """Is ``name`` in ``dir_fd`` the file open as ``fd`` (not a link, not another)?"""
    try:
        there = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)
