"""``--json-alerts FILE``: one JSON object per alert per line, for scripts and tests.

Every line is whole (issue 15): the alerts of a batch of frames are written at its
``flush`` with one system call, and a write the disk cannot take is undone
(ndpmon.files.append); a last line that a ``kill -9`` or a crash cut is dropped when the
file is opened again (one logged line), so that the next record never continues it.
The first write after a failed one opens the file again (one the admin removed to make
room is not written on, unseen), and so does SIGHUP (``reopen``: after logrotate moved
the file away; contrib/logrotate).
The text is ASCII (``ensure_ascii``): packet text arrives as ``\\u0085``-style escapes,
and no character of it (U+0085, U+2028) splits a line for ``str.splitlines()``.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from ndpmon.alerts.action import Action
from ndpmon.checks.alert import Alert
from ndpmon.errors import WriteError
from ndpmon.files import append, secure

__all__ = ["JsonLines"]

log = logging.getLogger("ndpmon")


def json_line(alert: Alert) -> str:
    """The alert's line, newline included, in ASCII."""
    return json.dumps(alert.to_json(), ensure_ascii=True) + "\n"


class JsonLines(Action):
    """Append alerts as JSON lines to a file, or to stdout for ``-``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._lines: list[str] = []
        self._started = False
        self._failed = False
        self._prefix = ""  # "\n" before the next record: a cut line was left alone

    def start(self) -> None:
        self._started = True
        if self.path == "-":
            return
        self._close()
        try:  # no link, FIFO (it would block), device or other account's file (issue 14)
            self._fd = secure.open_output(self.path)
            self._mend()
        except OSError as exc:
            self._close()
            raise WriteError(self.path, f"cannot write: {exc.strerror}") from None

    def _mend(self) -> None:
        """Drop a last line without its newline (cut by a crash), logged in one line; a
        file whose last MiB holds no newline at all is left alone: a newline is written
        before the first record."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
            return
        end = append.last_end(self._fd, size, (b"\n",))
        if end is None and size > append.SCAN_LIMIT:
            self._prefix = "\n"
            return
        os.ftruncate(self._fd, end or 0)
        log.warning("%s: its last line was cut (kill -9, a crash or a full disk): %d bytes "
                    "dropped", self.path, size - (end or 0))

    def reopen(self) -> None:
        """SIGHUP: open the file again, after a log rotation moved it away (if that
        fails, the next write tries again)."""
        if not self._started or self.path == "-":
            return
        self._failed = True
        self.start()
        self._failed = False

    def notify(self, alert: Alert) -> None:
        assert self._started, "start() first"
        self._lines.append(json_line(alert))

    def flush(self) -> None:
        """Write the batch's lines in one write; on failure they are dropped (the guard
        counts them) and the file is as it was."""
        lines, self._lines = self._lines, []
        if not lines:
            return
        self._failed, failed = True, self._failed
        if failed and self.path != "-":
            self.start()
        text = self._prefix + "".join(lines)
        try:
            if self._fd is None:
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                append.write_whole(self._fd, text.encode("ascii"))
        except OSError as exc:
            raise self._error(exc) from None
        self._failed, self._prefix = False, ""

    def stop(self) -> None:
        """Write what is left and close (closed even if that write fails: WriteError)."""
        try:
            self.flush()
        finally:
            self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _error(self, exc: OSError) -> OSError | WriteError:
        """A failed write as WriteError; a reader gone from stdout stays BrokenPipeError
        (the command ends quietly)."""
        if self.path == "-" and isinstance(exc, BrokenPipeError):
            return exc
        return WriteError(self.path, f"cannot write: {exc.strerror or exc}")
