"""The store writer: a bounded queue of rows and one worker thread that writes batches.

The capture loop only calls ``put`` (a lock and a list append): it never waits for the
database. The worker takes up to ``batch_rows`` rows at a time and writes them in one
transaction (ndpmon.store.dbwrite). When the database is down or the connection breaks,
the batch in hand is kept, the worker reconnects with a growing back-off (0.5 s to
10 s) and sends it again; meanwhile rows queue up to ``max_rows``, and what does not fit
is counted as dropped, never waited for. When the database refuses a batch (a value it
will not take), the batch is halved until the refused rows are alone, and only those
are dropped: one hostile row never takes its batch with it. The counters say what was
written, dropped (per kind), refused and how often the connection was lost; the monitor
reports drops as a ``store drops`` alert and everything at exit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from typing import Any, Callable

from ndpmon.store import dbwrite, schema
from ndpmon.store.url import StoreError

__all__ = ["StoreWriter", "KINDS"]

log = logging.getLogger("ndpmon")

KINDS = ("probe", "neighbor", "router", "alert")
BACKOFF = (0.5, 10.0)


class StoreWriter:
    """Rows in (any thread), batches out (the worker thread).

    ``connect()`` returns a new psycopg connection (autocommit off); ``errors`` is the
    pair (connection errors, other database errors) to tell a database that is away
    from a batch it refuses.
    """

    def __init__(self, connect: Callable[[], Any], max_rows: int, *,
                 errors: tuple[tuple[type, ...], type], batch_rows: int = 5000,
                 backoff: tuple[float, float] = BACKOFF, name: str = "store",
                 rows: dict[str, Callable[[Any], Any]] | None = None) -> None:
        self._connect = connect
        self._rows = rows or {}  # kind -> item -> row, run in the worker
        self.max_rows = max_rows
        self.batch_rows = batch_rows
        self._down_errors = (*errors[0], StoreError)  # StoreError: schema too new
        self._db_errors = errors[1]
        self._backoff = backoff
        self._name = name
        self._items: deque[tuple[str, list]] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._abandon = threading.Event()
        self._worker: threading.Thread | None = None
        self.written: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.rejected = 0
        self.outages = 0
        self.down_since: float | None = None
        self.seconds = 0.0  # time spent writing (for the write rate)

    # -- the capture side -----------------------------------------------------------

    def put(self, kind: str, rows: list, wait: float = 0.0) -> bool:
        """Queue ``rows`` of ``kind``; False (and counted) when they do not fit. The
        capture loop never waits (``wait`` 0); the last save at exit may."""
        if not rows:
            return True
        deadline = time.monotonic() + wait
        with self._cond:
            while self._queued + len(rows) > self.max_rows and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0 or self._worker is None:
                    break
                self._cond.wait(left)
            if self._queued + len(rows) > self.max_rows or self._stopping:
                self.dropped[kind] += len(rows)
                return False
            self._items.append((kind, rows))
            self._queued += len(rows)
            self._cond.notify_all()
        return True

    def queued(self) -> int:
        """Rows waiting (not counting a batch being written)."""
        with self._cond:
            return self._queued

    def start(self) -> None:
        """Start the worker thread (connecting is its job: start never waits)."""
        self._worker = threading.Thread(target=self._run, name="ndpmon-store", daemon=True)
        self._worker.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, for at most ``timeout`` seconds; count the rest as
        dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is None:
            self._drop_queued()
            return
        self._worker.join(timeout)
        if self._worker.is_alive():
            self._abandon.set()
            self._worker.join(max(timeout, 5.0))
        self._worker = None

    def counters(self) -> dict[str, int]:
        """written_* and dropped_* per kind, rejected, outages, queued."""
        out = {f"written_{k}": self.written[k] for k in KINDS}
        out.update({f"dropped_{k}": self.dropped[k] for k in KINDS})
        out.update(rejected=self.rejected, outages=self.outages, queued=self.queued())
        return out

    # -- the worker -----------------------------------------------------------------

    def _run(self) -> None:
        conn = None
        try:
            while True:
                batch = self._take()
                if batch is None:
                    break
                failed = self._convert(batch)
                conn = self._write(conn, batch, failed)
        finally:
            self._drop_queued()
            _close(conn)

    def _take(self) -> dict[str, list] | None:
        """The next batch (kind -> rows, in queue order); None once stopping and empty."""
        with self._cond:
            while not self._items and not self._stopping:
                self._cond.wait()
            if not self._items or self._abandon.is_set():
                return None
            batch: dict[str, list] = {}
            count = 0
            while self._items and count < self.batch_rows:
                kind, rows = self._items.popleft()
                batch.setdefault(kind, []).extend(rows)
                count += len(rows)
            self._queued -= count
            self._cond.notify_all()  # a final save may be waiting for room
        return batch

    def _convert(self, batch: dict[str, list]) -> list[tuple[str, BaseException]]:
        """Items into rows (``rows``), in place; an item that fails to convert is
        dropped alone. The items dropped (kind, why)."""
        failed: list[tuple[str, BaseException]] = []
        for kind, make in self._rows.items():
            rows = []
            for item in batch.get(kind, ()):
                try:
                    rows.append(make(item))
                except Exception as exc:  # noqa: BLE001 - a bug must not stop the worker
                    failed.append((kind, exc))
            if kind in batch:
                batch[kind] = rows
        with self._cond:
            self.dropped.update(kind for kind, _ in failed)
        return failed

    def _write(self, conn: Any, batch: dict[str, list],
               refused: list[tuple[str, BaseException]]) -> Any:
        """Write ``batch``, reconnecting until it is written or abandoned.

        A part the database refuses is cut in halves, and each half sent again, until
        the rows it refuses are alone: only those are dropped (one log line per batch),
        so one hostile row costs about 2 log2(batch) small transactions, not the batch.
        ``refused``: the rows dropped already (conversion), for that log line.
        """
        pending = [batch]  # parts still to write, the next one last
        written, delay = 0, self._backoff[0]
        while pending and not self._abandon.is_set():
            try:
                if conn is None:
                    conn = self._open()
                written += self._send(conn, pending[-1])
                pending.pop()
                delay = self._backoff[0]
                continue
            except self._down_errors as exc:
                conn = _close(conn)
                self._down(exc, delay)
            except Exception as exc:  # noqa: BLE001 - a refused row must not stop us
                if conn is not None and not getattr(conn, "broken", False):
                    self._rollback(conn)
                    refused += self._split(pending, exc)
                    continue
                conn = _close(conn)  # no usable connection: as if the database were down
                self._down(exc, delay)
            self._abandon.wait(delay)
            delay = min(delay * 2, self._backoff[1])
        for part in pending:
            self._count_dropped(part)
        if refused:
            self._refused(refused, written)
        return conn

    def _split(self, pending: list[dict[str, list]],
               exc: BaseException) -> list[tuple[str, BaseException]]:
        """The last pending part was refused: replace it by its halves, or, a single
        row, drop it; the rows dropped (kind, why)."""
        part = pending.pop()
        halves = _halves(part)
        if halves is not None:
            pending += reversed(halves)
            return []
        self._count_dropped(part)
        return [(kind, exc) for kind, rows in part.items() for _ in rows]

    def _send(self, conn: Any, part: dict[str, list]) -> int:
        """Write ``part`` in one transaction; the rows written."""
        started = time.perf_counter()
        dbwrite.write_batch(conn, part)
        self.seconds += time.perf_counter() - started
        for kind, rows in part.items():
            self.written[kind] += len(rows)
        self._up()
        return sum(len(rows) for rows in part.values())

    def _open(self) -> Any:
        conn = self._connect()
        try:
            before, after = schema.migrate(conn)
            dbwrite.prepare(conn)
        except BaseException:
            _close(conn)
            raise
        if before != after:
            log.info("%s: schema migrated from version %d to %d", self._name, before, after)
        return conn

    def _up(self) -> None:
        if self.down_since is not None:
            log.warning("%s: connected again after %.0f s (%d rows waiting)", self._name,
                        time.monotonic() - self.down_since, self.queued())
            self.down_since = None

    def _down(self, exc: BaseException, delay: float) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.outages += 1
            log.warning("%s: database unavailable: %s; monitoring goes on, rows are "
                        "queued (at most %d) and sent when it is back", self._name,
                        _one_line(exc), self.max_rows)
        else:
            log.debug("%s: still unavailable (%s); next try in %g s", self._name,
                      _one_line(exc), delay)

    def _rollback(self, conn: Any) -> None:
        try:
            conn.rollback()
        except self._db_errors:
            pass

    def _refused(self, refused: list[tuple[str, BaseException]], kept: int) -> None:
        """Rows the database (or their conversion) refused, each alone: log them once
        per batch and count them as ``rejected`` (the caller counts them as dropped)."""
        self.rejected += len(refused)
        kinds = Counter(kind for kind, _ in refused)
        log.error("%s: %d row%s refused and dropped (%s; %d rows of the batch written): %s",
                  self._name, len(refused), "" if len(refused) == 1 else "s",
                  ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())), kept,
                  _one_line(refused[0][1]))

    def _count_dropped(self, batch: dict[str, list]) -> None:
        with self._cond:
            for kind, rows in batch.items():
                self.dropped[kind] += len(rows)

    def _drop_queued(self) -> None:
        with self._cond:
            while self._items:
                kind, rows = self._items.popleft()
                self.dropped[kind] += len(rows)
            self._queued = 0


def _halves(batch: dict[str, list]) -> tuple[dict[str, list], dict[str, list]] | None:
    """``batch`` cut into two parts of (nearly) equal rows, in order; None for one row."""
    rows = [(kind, row) for kind, kind_rows in batch.items() for row in kind_rows]
    if len(rows) < 2:
        return None
    middle = len(rows) // 2
    parts: tuple[dict[str, list], dict[str, list]] = ({}, {})
    for index, (kind, row) in enumerate(rows):
        parts[index >= middle].setdefault(kind, []).append(row)
    return parts


def _close(conn: Any) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            pass
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
