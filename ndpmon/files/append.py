"""Writing records to a file whole or not at all, and finding where a cut file's last
whole record ends.

alerts.xml and ``--json-alerts`` grow by records (an ``<alert>`` block, a JSON line) for
weeks. A full disk makes a write stop part-way (the kernel writes what fits and returns
the count, then ENOSPC), and so does a ``kill -9`` of a large write, at a page boundary.
Neither may leave a partial record that the next one continues, or that makes the
file unreadable: ``write_whole`` cuts the file back to where a failed write began, and
``last_end`` finds, at the next start, where the last whole record of a file cut by a
crash ends (issue 15, item 1). Descriptors only, no buffering: what ``write_whole``
returned from is in the file, whole.
"""

from __future__ import annotations

import errno
import os

__all__ = ["write_whole", "cut", "last_end", "tail", "SCAN_LIMIT"]

#: How far from the end ``last_end`` looks for a record's end (a record is far smaller).
SCAN_LIMIT = 1 << 20
_CHUNK = 1 << 16


def write_whole(fd: int, data: bytes, offset: int | None = None) -> int:
    """Write ``data`` at ``offset`` (None: at the end, as an append) in one system call
    if the disk has room; return the offset after it.

    If the write stops part-way or fails (full disk, quota, file size limit), the file
    is cut back to where the write began and the OSError raised (a short write with no
    error raises ENOSPC)."""
    start = os.fstat(fd).st_size if offset is None else offset
    try:
        done = os.pwrite(fd, data, start)
        while done < len(data):  # the disk filled up: the next write says why
            more = os.pwrite(fd, data[done:], start + done)
            if more <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            done += more
    except OSError:
        cut(fd, start)
        raise
    return start + len(data)


def cut(fd: int, size: int) -> bool:
    """Truncate the file to ``size`` bytes; False if even that fails (the next open
    repairs the file)."""
    try:
        os.ftruncate(fd, size)
    except OSError:
        return False
    return True


def tail(fd: int, size: int, length: int) -> bytes:
    """The last ``length`` bytes of the file of ``size`` bytes (all of a smaller one)."""
    start = max(0, size - length)
    return os.pread(fd, size - start, start)


def last_end(fd: int, size: int, marks: tuple[bytes, ...],
             limit: int = SCAN_LIMIT) -> int | None:
    """The offset just after the last of ``marks`` (each the end of a whole record) in
    the last ``limit`` bytes of the file of ``size`` bytes; None if there is none."""
    end = size
    longest = max(len(mark) for mark in marks)
    while end > 0 and size - end < limit:
        start = max(0, end - _CHUNK, size - limit)
        # read a little past ``end`` so that a mark across two chunks is found
        data = os.pread(fd, min(end + longest, size) - start, start)
        found = max(data.rfind(mark) + len(mark) if mark in data else -1 for mark in marks)
        if found >= 0:
            return start + found
        end = start
    return None
