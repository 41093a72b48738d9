"""Neighbour cache benchmark: what a full cache costs to save (in the live loop) and to load.

A flood can fill the cache up to its caps (``<limits max_neighbors max_addresses>``, by
default 100,000 neighbours of 16 global addresses each: about 1.6M NAs). This fills an
engine's cache to the caps (each neighbour with a vendor and one old MAC, as mac_resolv and
a MAC change leave them) and measures, each phase in a fresh interpreter:

  save:  the live loop (ndpmon.run.live.Monitor) with a fake capture that hands it 20 NAs
         of known neighbours every millisecond, asked to save the cache twice (SIGUSR1's
         flag), wired as ``ndpmon`` does it; for each save it prints the time until the
         file is replaced, the longest gap between two reads of the capture (the time
         the loop was blocked) and the frames handled while the save ran; then the peak
         RSS the saves added (VmHWM, reset before); then the save at exit (synchronous),
         its time and peak RSS;
  load:  ``load_cache`` of that file into an empty engine (a restart): time, peak RSS
         and the RSS left afterwards.

Run: ``.venv/bin/python bench/bench_cache.py [--neighbors N] [--addresses A]``. Not part
of the test run; no timing is asserted anywhere. Works on older trees too (the save is
then ndpmon.run.session.save_cache, called in the loop).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "tests")]

from floodgen import na  # noqa: E402

from ndpmon.config.model import Config, Limits, Probe, Settings  # noqa: E402
from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.formats import cache as cachefile  # noqa: E402
from ndpmon.run import live as livemod, session  # noqa: E402
from ndpmon.run.pipeline import Pipeline  # noqa: E402

START = 1_767_225_600.0
PREFIX = bytes.fromhex("20010db8000100000000")


def config(neighbors: int, addresses: int) -> Config:
    limits = Limits(max_neighbors=neighbors, max_addresses=addresses)
    return Config("bench", Settings(limits=limits), (Probe("lan0"),))


def mac(i: int) -> bytes:
    return bytes.fromhex("02005e") + i.to_bytes(3, "big")


def fill(engine: Engine, neighbors: int, addresses: int) -> None:
    """The cache at its caps, built through NeighborCache as the engine does."""
    cache = engine.probes["lan0"].neighbors
    for i in range(neighbors):
        now = START + i
        nb = cache.add(mac(i), bytes.fromhex("fe80000000000000") + i.to_bytes(8, "big"), now)
        for j in range(addresses):
            cache.add_address(nb, PREFIX + (i * addresses + j).to_bytes(6, "big"), now)
        nb.vendor = f"Vendor {i % 50}"
        nb.old_macs = (mac(i + 8_000_000),)


def rss() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in MiB."""
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class FakeCapture:
    """Hands the loop 20 NAs of known neighbours per read, every millisecond; asks for a
    save at the first read and again 0.2 s after the file was replaced, and stops the
    loop 0.2 s after the second one. ``saves``: per save, (start, end, reads)."""

    ports = ("lan0",)

    def __init__(self, path: str, frames: list[bytes]) -> None:
        self.path, self.frames = path, frames
        self.inode = os.stat(path).st_ino if os.path.exists(path) else None
        self.reads: list[float] = []
        self.saves: list[list[float]] = []
        self.monitor = None
        self.handled = [0, 0]

    def read(self, timeout: float):
        now = time.perf_counter()
        self.reads.append(now)
        last = self.saves[-1] if self.saves else None
        if last is None or (len(last) == 2 and len(self.saves) < 2 and now - last[1] > 0.2):
            self.monitor.flags.save = True
            self.saves.append([now])
        elif len(last) == 1 and self._replaced():
            last.append(now)
        elif len(last) == 2 and len(self.saves) == 2 and now - last[1] > 0.2:
            self.monitor.flags.stop = True
        time.sleep(0.001)
        start = len(self.reads) * 20
        batch = [(START, self.frames[k % len(self.frames)]) for k in range(start, start + 20)]
        if len(self.saves[-1]) == 1:
            self.handled[len(self.saves) - 1] += len(batch)
        return [("lan0", batch)]

    def _replaced(self) -> bool:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return False
        replaced, self.inode = inode != self.inode, inode
        return replaced

    def wake(self) -> None:
        pass

    def drops_since_last(self) -> dict:
        return {}


def saver_for(engine: Engine, path: str, pipeline: Pipeline):
    """(the loop's save, the save at exit) as ``ndpmon`` wires them."""
    if hasattr(session, "CacheSaver"):
        saver = session.CacheSaver(engine, path, pipeline.guard)
        return saver.save_in_background, saver.save
    save = lambda: session.save_cache(engine, path, pipeline.guard)  # noqa: E731
    return save, save


def phase_save(path: str, neighbors: int, addresses: int) -> None:
    session.tune_gc()
    engine = Engine(config(neighbors, addresses))
    fill(engine, neighbors, addresses)
    frames = [na(mac(i), PREFIX + (i * addresses).to_bytes(6, "big"),
                 PREFIX + (i * addresses).to_bytes(6, "big")) for i in range(0, neighbors, 97)]
    pipeline = Pipeline(engine, ())
    background, at_exit = saver_for(engine, path, pipeline)
    capture = FakeCapture(path, frames)
    monitor = livemod.Monitor(pipeline, capture, save_cache=background)
    capture.monitor = monitor
    base = rss()[0]
    reset_peak()
    monitor.run()
    for n, (start, end) in enumerate(capture.saves):
        reads = [t for t in capture.reads if start <= t <= end + 0.01]
        gaps = [b - a for a, b in zip(reads, reads[1:], strict=False)]
        print(f"  save {n + 1} in the loop: {end - start:.1f} s until the file was replaced; "
              f"loop blocked at most {max(gaps) * 1000:.0f} ms; {capture.handled[n]} frames "
              "handled meanwhile")
    print(f"  peak RSS of the saves +{rss()[1] - base} MiB (process {base} MiB before)")
    base = rss()[0]
    reset_peak()
    started = time.perf_counter()
    at_exit()
    print(f"  save at exit: {time.perf_counter() - started:.1f} s, peak RSS "
          f"+{rss()[1] - base} MiB; file {os.path.getsize(path) / 1e6:.0f} MB")


def phase_load(path: str, neighbors: int, addresses: int) -> None:
    session.tune_gc()
    engine = Engine(config(neighbors, addresses))
    base = rss()[0]
    reset_peak()
    started = time.perf_counter()
    cachefile.load_cache(path, {"lan0": engine.probes["lan0"].neighbors})
    took = time.perf_counter() - started
    now, peak = rss()
    print(f"  load: {took:.1f} s, {len(engine.probes['lan0'].neighbors)} neighbours; "
          f"peak RSS {peak} MiB (+{peak - base}), {now} MiB after (process {base} MiB before)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neighbors", type=int, default=100_000)
    parser.add_argument("--addresses", type=int, default=16)
    parser.add_argument("--phase", choices=("save", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase = phase_save if args.phase == "save" else phase_load
        phase(args.path, args.neighbors, args.addresses)
        return
    print(f"{args.neighbors} neighbours x {args.addresses} addresses:")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "neighbor_list.xml")
        for phase in ("save", "load"):
            subprocess.run([sys.executable, __file__, "--phase", phase, "--path", path,
                            "--neighbors", str(args.neighbors),
                            "--addresses", str(args.addresses)], check=True)


if __name__ == "__main__":
    main()
