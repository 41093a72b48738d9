"""The neighbour cache's saves during a run: off the capture thread while monitoring, at
once at the end.

A full cache (100,000 neighbours of 16 addresses: issue 15) is a file of some hundred
MB. Written in the capture loop, it stopped the loop for 15 s every minute: no frame was
read, and a rogue RA sent meanwhile was lost. So the loop only takes a snapshot (tuples
of immutable values, ndpmon.formats.cache.snapshot: no text) after the plugins'
``on_cache_save`` hooks, and a writer thread renders and writes it, a chunk at a time,
then calls the plugins' ``cache_saved``. A save asked while one is still being written
waits for it (only the newest snapshot waits). The save at the end of a run is
synchronous: it cancels a save still being written (its temporary file is removed) and
writes the final state itself.

The cache's probes that the config does not have (``kept``, issue 17) are written back
as they were read, after the others; a reload that names one of them again gets its
neighbours at the next save (ndpmon.formats.cache.adopt).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

from ndpmon.errors import NdpmonError
from ndpmon.formats import cache as cachefile
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.plugins import PluginGuard

__all__ = ["CacheSaver"]

log = logging.getLogger("ndpmon")


class CacheSaver:
    """The saves of ``engine``'s neighbour caches to ``path``, plugin hooks ``guard``-ed.

    ``write`` (default: ndpmon.formats.cache.write_snapshot) writes a snapshot; tests
    give a slow one. ``kept``: the probes of the file the config does not have (from
    ``load_cache``); the list is updated in place when the config takes one up again.
    """

    def __init__(self, engine: Any, path: str, guard: PluginGuard | None = None,
                 write=cachefile.write_snapshot,
                 kept: list[cachefile.Kept] | None = None) -> None:
        self.engine, self.path = engine, path
        self.kept = [] if kept is None else kept
        self.guard = guard or PluginGuard()
        self.write = write
        self._lock = threading.Lock()
        self._waiting: cachefile.Snapshot | None = None
        self._worker: threading.Thread | None = None
        self._cancel = threading.Event()
        self._failure: NdpmonError | None = None  # how the last background write ended
        self._finished = 0  # background writes ended (written or failed)
        #: the wall-clock time the last save was written (None: not yet), for metrics
        self.saved_at: float | None = None

    def save_in_background(self) -> None:
        """(The capture thread.) ``on_cache_save``, a snapshot, and the rest to the
        writer thread; returns at once. How the write ends is ``outcome()``."""
        snap = self._prepare()
        with self._lock:
            self._waiting = snap
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="cache-save",
                                                daemon=True)
                self._worker.start()

    def outcome(self) -> tuple[int, NdpmonError | None]:
        """(Any thread.) How many background writes have ended, and the error of the
        last one (None: written): the capture thread reports it (ndpmon.run.live)."""
        with self._lock:
            return self._finished, self._failure

    def save(self) -> None:
        """The save at the end: a save being written is cancelled, then the hooks, the
        snapshot and the write happen here. Raises WriteError if the write fails."""
        self.cancel()
        snap = self._prepare()
        self.write(self.path, snap)
        self.saved_at = time.time()
        self._hook("cache_saved", self.path)

    def cancel(self) -> None:
        """Stop the writer thread: a waiting snapshot is dropped, one being written is
        abandoned (no file is left but the old cache); returns when it has stopped."""
        with self._lock:
            worker, self._waiting = self._worker, None
            self._cancel.set()
        if worker is not None:
            worker.join()
        self._cancel.clear()

    def _prepare(self) -> cachefile.Snapshot:
        """``on_cache_save``, then the snapshot; no garbage collection while it is
        taken (it makes a tuple per neighbour: a full cache made young collections
        take as long as the snapshot itself). A kept probe the config has again is
        loaded into its cache first."""
        self._hook("on_cache_save", self.engine)
        caches = {name: state.neighbors for name, state in self.engine.probes.items()}
        if any(entry.name in caches for entry in self.kept):
            self.kept[:] = cachefile.adopt(self.kept, caches, self.path)
        enabled = gc.isenabled()
        gc.disable()
        try:
            return cachefile.snapshot(caches, kept=self.kept)
        finally:
            if enabled:
                gc.enable()

    def _run(self) -> None:
        try:
            while (snap := self._next()) is not None:
                self._write(snap)
        finally:  # also after an unexpected error: the next save starts a new thread
            with self._lock:
                if self._worker is threading.current_thread():
                    self._worker = None

    def _next(self) -> cachefile.Snapshot | None:
        """The snapshot to write next; None (and the thread is done) if there is none."""
        with self._lock:
            snap, self._waiting = self._waiting, None
            if snap is None or self._cancel.is_set():
                self._worker = None
                return None
            return snap

    def _write(self, snap: cachefile.Snapshot) -> None:
        try:
            self.write(self.path, snap, self._cancel.is_set)
        except cachefile.SaveCancelled:
            return
        except NdpmonError as exc:
            with self._lock:
                self._failure, self._finished = exc, self._finished + 1
            return
        with self._lock:
            self._failure, self._finished = None, self._finished + 1
            self.saved_at = time.time()
        if not self._cancel.is_set():  # else the save at the end follows
            self._hook("cache_saved", self.path)

    def _hook(self, hook: str, *args: object) -> None:
        Pipeline(self.engine, (), self.guard).hooks(hook, *args)
