"""What the Prometheus metrics cost the live loop: frames/s with and without them.

Runs the live loop (ndpmon.run.live.Monitor, as ``ndpmon`` runs it, no alert outputs)
over a fake capture that hands it bench_replay.py's captures in reads of 256 frames, on
the real clock (so the 0.5 s tick that publishes the metrics' snapshot runs as it does
live). Three ways, each in a fresh interpreter, interleaved, ``--rounds`` times:

  base  the tree given by ``--base`` (e.g. a worktree of main, before the metrics);
  off   this tree, no ``<metrics>``;
  on    this tree with ``<metrics>``: the tick publishes the snapshot, and a thread
        scrapes it through prometheus_client (the text format, the process collector)
        every ``--scrape`` seconds (Prometheus's default is 15 to 60 s).

Run: ``python bench/bench_metrics.py --base /path/to/main [--frames N] [--rounds R]``.
Prints the median and the best frames per CPU second (the process's CPU time, all its
threads: a busy machine's other processes do not count) of each way and the differences
to base, and (on) the share of the CPU time that publishing and scraping took, timed
where they run (``time.thread_time``): on a shared machine the rates vary by several
per cent from run to run, that share does not. Not part of the test run; no timing is
asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeCapture:
    """Reads of ``batch`` frames from ``frames``, stamped with the wall clock."""

    ports = {"lan0": None}

    def __init__(self, frames: list[bytes], monitor_ref: list, batch: int = 256) -> None:
        self.frames, self.ref, self.batch, self.at = frames, monitor_ref, batch, 0

    def read(self, timeout: float):
        if self.at >= len(self.frames):
            self.ref[0].flags.stop = True
            return []
        chunk = self.frames[self.at:self.at + self.batch]
        self.at += len(chunk)
        now = time.time()
        return [("lan0", [(now, frame) for frame in chunk])]

    def drops_since_last(self):
        return {}

    def lane_stats(self):
        return {"lan0": {"router": (self.at, 0), "extension": (0, 0), "neighbor": (0, 0)}}

    def wake(self) -> None:
        pass


def scraper(monitor, every: float, stop: threading.Event) -> list[float]:
    """Hook the metrics on ``monitor``'s tick and start a thread that scrapes them like
    Prometheus would, every ``every`` seconds (everything imported and built first).
    Returns the list the CPU seconds of each publish and scrape are added to."""
    from prometheus_client import generate_latest

    from ndpmon.run.metrics import Source, registry_of

    source, spent = Source(monitor), []
    registry = registry_of(source)
    generate_latest(registry)

    def publish() -> None:
        started = time.thread_time()
        source.publish()
        spent.append(time.thread_time() - started)

    def scrape() -> None:
        while not stop.wait(every):
            started = time.thread_time()
            generate_latest(registry)
            spent.append(time.thread_time() - started)

    monitor.observe = publish
    threading.Thread(target=scrape, daemon=True).start()
    return spent


def measure(way: str, capture: str, frames: int, every: float) -> tuple[float, float]:
    """Frames per CPU second of the live loop over ``capture`` (a or b), ``way``
    base/off/on, and the share of that CPU time the metrics took (publish, scrape)."""
    import bench_replay
    from ndpmon.engine.engine import Engine
    from ndpmon.run.live import Monitor
    from ndpmon.run.pipeline import Pipeline
    from ndpmon.run.session import tune_gc

    tune_gc()
    data = bench_replay.CAPTURES[capture][1](frames)
    ref: list = []
    monitor = Monitor(Pipeline(Engine(bench_replay.config(100_000)), ()),
                      FakeCapture(data, ref), save_cache=lambda: None)
    ref.append(monitor)
    stop, spent = threading.Event(), []
    if way == "on":
        spent = scraper(monitor, every, stop)
    started = time.process_time()  # CPU time of every thread (the scraper's too), so
    monitor.run()                   # that other processes on the machine do not count
    seconds = time.process_time() - started
    stop.set()
    return len(data) / seconds, sum(spent) / seconds


def run_one(way: str, tree: str, capture: str, frames: int,
            every: float) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, HERE, os.path.join(tree, "tests")]))
    out = subprocess.run([sys.executable, __file__, "--one", way, capture, "--frames",
                          str(frames), "--scrape", str(every)],
                         env=env, check=True, capture_output=True, text=True).stdout
    rate, share = out.split()
    return float(rate), float(share)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="the tree before the metrics (a worktree of main)")
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrape", type=float, default=1.0)
    parser.add_argument("--captures", default="ab")
    parser.add_argument("--one", nargs=2, metavar=("WAY", "CAPTURE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(*measure(args.one[0], args.one[1], args.frames, args.scrape), flush=True)
        return
    here = os.path.dirname(HERE)
    ways = ([("base", args.base)] if args.base else []) + [("off", here), ("on", here)]
    for capture in args.captures:
        rates: dict[str, list[float]] = {way: [] for way, _ in ways}
        shares: list[float] = []
        for _ in range(args.rounds):
            for way, tree in ways:
                rate, share = run_one(way, tree, capture, args.frames, args.scrape)
                rates[way].append(rate)
                shares += [share] if way == "on" else []
        ref = statistics.median(rates[ways[0][0]])
        print(f"capture ({capture}) {args.frames} frames, {args.rounds} rounds, scrape every "
              f"{args.scrape:g} s:")
        best = max(rates[ways[0][0]])
        for way, _ in ways:
            med, top = statistics.median(rates[way]), max(rates[way])
            print(f"  {way:4}: median {med:,.0f} frames/CPU-s ({(med / ref - 1) * 100:+.2f}%), "
                  f"best {top:,.0f} ({(top / best - 1) * 100:+.2f}%); "
                  f"runs: {', '.join(f'{r:,.0f}' for r in rates[way])}")
        print(f"  on: publishing and scraping took {statistics.median(shares) * 100:.3f}% "
              f"of the CPU time (median; max {max(shares) * 100:.3f}%)")


if __name__ == "__main__":
    main()
