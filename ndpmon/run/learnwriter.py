"""Learning under ``--user`` without giving that account the config.

``ndpmon -L --user ndpmon`` learns as the unprivileged account, but the routers it
learns go into config_ndpmon.xml, which only root may be able to change (a ``<plugin>``
line there is code root imports at the next start: ndpmon.files.trust). So, just before
the drop, ndpmon forks a small writer that stays root and does one thing: wait for the
learned routers on a pipe, check them as untrusted data (ndpmon.config.exchange:
routers only, every value typed and bounded), and merge them into the config it loaded
at start (ndpmon.config.writeback, atomically). The monitor sends them when learning
ends and waits for the writer's answer; if the monitor dies first, the writer reads an
incomplete message and writes nothing. The writer ignores the signals that stop the
monitor (a Ctrl-C or systemd's SIGTERM reach the whole group), so that the monitor's
last words are always read.
"""

from __future__ import annotations

import os
import signal
from typing import Mapping

from ndpmon.config.exchange import MAX_BYTES, dumps, loads
from ndpmon.config.model import Config, Router
from ndpmon.config.writeback import write_learned
from ndpmon.errors import NdpmonError

__all__ = ["RootWriter"]

_OK = b"ok"


class RootWriter:
    """The root half of learning under ``--user``: ``fork()`` before the drop,
    ``write(learned)`` at the end (from the unprivileged monitor)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pid: int | None = None
        self._send: int | None = None
        self._answer: int | None = None

    def fork(self) -> None:
        """Start the writer (before any thread, before the drop)."""
        data_r, data_w = os.pipe()
        answer_r, answer_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, tested through write()
            os.close(data_w)
            os.close(answer_r)
            _serve(self.config, data_r, answer_w)
        os.close(data_r)
        os.close(answer_w)
        self.pid, self._send, self._answer = pid, data_w, answer_r

    def write(self, learned: Mapping[str, tuple[Router, ...]]) -> None:
        """Hand ``learned`` to the writer and wait for it; NdpmonError if it failed."""
        if self._send is None:
            raise NdpmonError(f"{self.config.path}: the config writer is not running")
        data = dumps(learned)
        if len(data) > MAX_BYTES:  # root would refuse it: say so, not "broken pipe"
            self.close()
            raise NdpmonError(f"{self.config.path}: not written: the learned routers are "
                              f"{len(data) / 2**20:.1f} MiB, over the {MAX_BYTES // 2**20} "
                              "MiB the config writer reads (learn again with lower <limits "
                              "max_learned_*>)")
        try:
            _write_all(self._send, data)
        except OSError as exc:
            self.close()
            raise NdpmonError(f"{self.config.path}: cannot hand the learned routers to "
                              f"the config writer: {exc.strerror}") from None
        os.close(self._send)
        self._send = None
        answer = _read_all(self._answer, 4096) if self._answer is not None else b""
        self.close()
        if answer != _OK:
            why = answer.decode("utf-8", "replace") or "it stopped without an answer"
            raise NdpmonError(why if why.startswith(self.config.path)
                              else f"{self.config.path}: not written: {why}")

    def close(self) -> None:
        """Close the pipes and reap the writer (it writes nothing if nothing was sent)."""
        for fd in (self._send, self._answer):
            if fd is not None:
                os.close(fd)
        self._send = self._answer = None
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None


def _serve(config: Config, data_r: int, answer_w: int) -> None:
    """The writer process: read, check, write, answer, exit (never returns)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
                signal.SIGUSR2, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    answer = _OK
    try:
        data = _read_all(data_r, MAX_BYTES + 1)
        if data:
            write_learned(config.path, loads(data), config)
    except (NdpmonError, ValueError) as exc:
        answer = str(exc).encode("utf-8", "replace")[:4096]
    except Exception as exc:  # a bug: still an answer, never a traceback from a child
        answer = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:4096]
    try:
        _write_all(answer_w, answer)
    except OSError:
        pass  # the monitor is gone: nobody to tell
    os._exit(0)


def _read_all(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(1 << 16, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
