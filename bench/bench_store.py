"""Store benchmark: what writing to PostgreSQL costs the capture path, and the write rate.

A private PostgreSQL server (tests/pgserver.py: root, Debian's postgresql) and a flood
of NAs from N distinct MACs and addresses (every frame a new neighbour and a ``new
station`` alert), run through the engine in memory. Printed:

* frames/s of the engine without a store, and with one (the cache records changed
  neighbours, each alert is queued): the cost on the capture path;
* the time one cache save takes to turn the N changed neighbours into rows (capture
  thread);
* rows/s into the store: N alerts, then N neighbours (with their N addresses), from
  the first row queued to the last one committed, COPY batches of 5000 rows.

Run: ``python bench/bench_store.py [--neighbors N]`` as root. No timing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "tests"), HERE]

from bench_replay import config, flood  # noqa: E402
from pgserver import PgServer  # noqa: E402

from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.config.model import Store  # noqa: E402
from ndpmon.run.pipeline import Pipeline  # noqa: E402
from ndpmon.run.session import tune_gc  # noqa: E402
from ndpmon.store.sync import StoreSync  # noqa: E402


def feed(pipeline: Pipeline, frames: list[bytes]) -> float:
    started = time.perf_counter()
    for i in range(0, len(frames), 256):
        batch = [(1_700_000_000.0 + (i + j) * 1e-3, f) for j, f in enumerate(frames[i:i + 256])]
        pipeline.feed("lan0", batch)
    return len(frames) / (time.perf_counter() - started)


def drain(plugin: StoreSync, kind: str, total: int) -> float:
    """Seconds until ``total`` rows of ``kind`` are committed (or dropped)."""
    started = time.perf_counter()
    while plugin.writer.written[kind] + plugin.writer.dropped[kind] < total:
        time.sleep(0.01)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--neighbors", type=int, default=100_000)
    n = parser.parse_args().neighbors
    tune_gc()
    frames = flood(n, n)
    cfg = config(n)
    base = feed(Pipeline(Engine(cfg), ()), frames)
    print(f"engine without a store: {base:,.0f} frames/s")
    server = PgServer()
    try:
        server.init()
        store = Store(server.url, password_file=server.password_file, source="bench",
                      queue_size=4 * n)
        plugin = StoreSync(store, cfg)
        start_writer, plugin.writer.start = plugin.writer.start, lambda: None
        pipeline = Pipeline(Engine(cfg, plugins=[plugin]), ())
        pipeline.start()  # the cache records changes; the writer waits (rows pile up)
        rate = feed(pipeline, frames)
        print(f"engine with a store:    {rate:,.0f} frames/s ({n:,} alerts queued)")
        t0 = time.perf_counter()
        rows = plugin.sync()
        snap = time.perf_counter() - t0
        print(f"cache save: {rows:,} changed neighbours snapshot in {snap * 1e3:.0f} ms "
              "(capture thread)")
        start_writer()
        t0 = time.perf_counter()
        alerts_s = drain(plugin, "alert", n)
        neigh_s = drain(plugin, "neighbor", rows)
        total = time.perf_counter() - t0
        print(f"alerts into the store: {n:,} in {alerts_s:.2f} s = {n / alerts_s:,.0f} rows/s "
              "(with the first connection and the schema)")
        neigh_s = total - alerts_s
        print(f"neighbours into the store: {rows:,} (+{rows:,} addresses) in {neigh_s:.2f} s "
              f"= {rows / neigh_s:,.0f} neighbour rows/s ({2 * rows / neigh_s:,.0f} rows/s "
              "counting addresses)")
        pipeline.stop()
        print("summary:", plugin.summary())
        print("rows in the store:", server.psql(
            "SELECT (SELECT count(*) FROM ndpmon_alert) || ' alerts, ' || "
            "(SELECT count(*) FROM ndpmon_neighbor) || ' neighbours, ' || "
            "(SELECT count(*) FROM ndpmon_address) || ' addresses'"))
    finally:
        server.remove()


if __name__ == "__main__":
    main()
