"""Feed the store from a running ndpmon: alerts as they are raised, neighbours and
routers at each save of the neighbour cache.

It is a plugin (ndpmon.engine.plugin) that the run session adds when ``<store>`` or ``--store`` is
set: ``notify`` queues each alert; ``on_cache_save`` (every 60 s while frames arrive,
on SIGUSR1, at exit) queues the neighbours that changed since the last save and the
routers if they changed; ``tick`` (every 10 s) raises ``store drops`` when rows were
dropped; ``stop`` sends the last changes and waits (at most ``FLUSH_TIMEOUT``) for the
queue to drain. The writer's thread, which connects, starts in ``started``: once
``--user`` has taken effect (root cannot be dropped with threads running, and the
connection is the user's); only the password file is read as root, at load.

Which neighbours changed is recorded by the neighbour cache itself as it changes
(``NeighborCache.dirty``: one dict store per change, about 50 ns), so a save costs
in proportion to what changed, not to the cache (README gives the numbers). Neighbours
are state, not events: when neighbour rows are dropped, the next save sends the whole
cache again, so the store catches up once the database is back; only alerts dropped
are lost for good, and they are counted and reported.
"""

from __future__ import annotations

import logging
import os
import time
from types import MappingProxyType
from typing import Any, Sequence

from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.config.model import Config, Store
from ndpmon.engine.plugin import Plugin
from ndpmon.store.rows import ROWS, clean, router_rows, snapshot
from ndpmon.store.url import connect, password, require_psycopg, source_of
from ndpmon.store.writer import StoreWriter

__all__ = ["StoreSync", "store_plugins", "DROPS_REASON", "FLUSH_TIMEOUT"]

log = logging.getLogger("ndpmon")

DROPS_REASON = reasons.STORE_DROPS
#: Seconds ``stop`` waits for the queue to reach the database.
FLUSH_TIMEOUT = 10.0
#: At most one ``store drops`` alert per this many seconds while drops go on.
REPORT_EVERY = 60.0
CHUNK = 5000


def store_plugins(config: Config, store: Store | None = None) -> list[Plugin]:
    """The store plugin if the config (or ``--store``, given as ``store``) sets one."""
    store = store or config.settings.store
    return [] if store is None else [StoreSync(store, config)]


class StoreSync(Plugin):
    """Alerts, neighbours and routers of this instance's probes into the store."""

    description = "PostgreSQL store"

    def __init__(self, store: Store, config: Config) -> None:
        super().__init__({}, config)
        self.name = "store"
        psycopg = require_psycopg()
        secret = password(store)
        self.store = store
        self.source = clean(source_of(store)) or "localhost"
        # Unique per run: (origin, seq) keys the alerts, so a retried batch is harmless.
        self.origin = f"{self.source}:{os.getpid()}:{time.time():.6f}"
        self.writer = StoreWriter(
            lambda: connect(store, secret), store.queue_size,
            errors=((psycopg.OperationalError, psycopg.InterfaceError), psycopg.Error),
            rows=ROWS)
        self._seq = 0
        self._routers: dict[str, Any] = {}
        self._full = True  # the first save sends the whole cache
        self._neighbor_drops = 0
        self._reported = 0
        self._reported_at: float | None = None
        self._stopped = False

    def stored_name(self, probe: str) -> str:
        """A local probe's name in the store: ``source/probe``."""
        return clean(f"{self.source}/{probe}")

    def started(self) -> None:
        """The writer thread (it connects) starts once ndpmon runs as the ``--user``:
        root cannot drop with threads running, and the connection is the user's."""
        for state in self._local_states():
            state.neighbors.dirty = {}
        self.writer.start()
        log.info("store: writing probes %s to %s", ", ".join(
            self.stored_name(s.name) for s in self._local_states()), self.store.url)

    def notify(self, alert: Alert) -> None:
        self._seq += 1
        self.writer.put("alert", [(self.origin, self._seq, self.stored_name(alert.probe),
                                   alert)])

    def on_cache_save(self, engine: Any) -> None:
        if not self._stopped:
            self.sync()

    def sync(self, wait: float = 0.0) -> int:
        """Queue the neighbours changed since the last sync (all of them after a drop)
        and the routers that changed; return the neighbour rows queued. ``wait``: how
        long the last sync at exit may wait for room in the queue."""
        dropped = self.writer.dropped["neighbor"]
        full, self._full = self._full or dropped != self._neighbor_drops, False
        self._neighbor_drops = dropped
        now, count = time.time(), 0
        deadline = time.monotonic() + wait

        def put(kind: str, rows: list) -> bool:
            return self.writer.put(kind, rows, max(0.0, deadline - time.monotonic()))

        for state in self._local_states():
            stored = self.stored_name(state.name)
            cache = state.neighbors
            changed = list(cache) if full else list((cache.dirty or {}).values())
            cache.dirty = {}
            put("probe", [(stored, self.source, now)])
            if state.routers is not self._routers.get(state.name):
                if put("router", [(stored, router_rows(stored, state.routers))]):
                    self._routers[state.name] = state.routers
            rows = [snapshot(stored, nb) for nb in changed]
            chunk = max(1, min(CHUNK, self.writer.max_rows // 4))
            for start in range(0, len(rows), chunk):
                put("neighbor", rows[start:start + chunk])
            count += len(rows)
        return count

    def tick(self, now: float) -> Sequence[Alert]:
        """``store drops`` (high) when rows were dropped since the last report."""
        dropped = sum(self.writer.dropped.values())
        recent = self._reported_at is not None and now - self._reported_at < REPORT_EVERY
        if dropped == self._reported or recent:
            return ()
        new, self._reported, self._reported_at = dropped - self._reported, dropped, now
        d = self.writer.dropped
        state = "down" if self.writer.down_since is not None else "up"
        message = (f"store drops: {new} rows not written to the store (since start: "
                   f"{d['alert']} alerts, {d['neighbor']} neighbours; queue of "
                   f"{self.writer.max_rows} rows; database {state})")
        log.warning("%s", message)
        probe = next((s.name for s in self._local_states()), "store")
        extra = MappingProxyType({"dropped_alerts": d["alert"],
                                  "dropped_neighbors": d["neighbor"]})
        return [Alert(now, probe, Priority.HIGH, DROPS_REASON, message, extra=extra)]

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.engine is not None:
            self.sync(wait=FLUSH_TIMEOUT)
        self.writer.close(FLUSH_TIMEOUT)
        log.info("store: %s", self.summary())

    def summary(self) -> str:
        """What was written and dropped, and the write rate (rows/s while writing)."""
        w, d = self.writer.written, self.writer.dropped
        rows = sum(w.values())
        rate = rows / self.writer.seconds if self.writer.seconds > 0 else 0.0
        return (f"wrote {w['neighbor']} neighbour rows, {w['alert']} alerts, "
                f"{w['router']} router lists ({rate:,.0f} rows/s while writing); "
                f"dropped {d['alert']} alerts, {d['neighbor']} neighbour rows, "
                f"{d['router'] + d['probe']} other rows; {self.writer.outages} outages")

    def _local_states(self) -> list:
        if self.engine is None:
            return []
        return [s for s in self.engine.probes.values() if s.probe.type == "interface"]
