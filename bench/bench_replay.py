"""Replay throughput benchmark: is the per-frame path fast, and is the state O(1)?

Builds two 200k-frame captures and prints frames/s for each:
  (a) benign: 50 hosts doing NUD (NS/NA) and DAD, periodic RAs from the configured router;
  (b) flood: NAs from 100k distinct MACs and addresses (each sent twice), the shape of
      THC-IPv6's flood_advertise6; every first frame creates a neighbour and an alert.
Three figures per capture: the engine alone (decode + checks over frames in memory), the
whole replay (pcap reading through scapy's RawPcapReader + engine, as ``ndpmon -r``
runs it, with no alert outputs), and the floor: the same pcap read in a bare loop.

Run: ``python bench/bench_replay.py [--frames N]``. Not part of the test run; no timing
is asserted anywhere. Frames are built with struct by tests/floodgen.py (scapy would take
minutes for 400k).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.config.model import Config, Limits, Prefix, Probe, Router, Settings  # noqa: E402
from ndpmon.capture.replay import read_batches  # noqa: E402
from ndpmon.run.pipeline import Pipeline  # noqa: E402
from ndpmon.run.session import tune_gc  # noqa: E402
import floodgen  # noqa: E402  (tests/floodgen.py)
from floodgen import PREFIX, na, ns  # noqa: E402

ROUTER_MAC = bytes.fromhex("00005e005301")
ROUTER_LLA = bytes.fromhex("fe800000000000000200" + "5efffe005301")


def host(i: int) -> tuple[bytes, bytes, bytes]:
    """MAC, link-local and global address of host ``i``."""
    mac = bytes.fromhex("02005e") + i.to_bytes(3, "big")
    iid = bytes((mac[0] ^ 2,)) + mac[1:3] + b"\xff\xfe" + mac[3:]
    return mac, bytes.fromhex("fe800000000000000000")[:8] + iid, PREFIX[:8] + iid


def ra() -> bytes:
    return floodgen.ra(ROUTER_MAC, ROUTER_LLA, PREFIX)


def benign(n: int) -> list[bytes]:
    """50 hosts: NUD between them (NS + NA), one RA every 500 frames."""
    hosts = [host(i) for i in range(50)]
    out, advert = [], ra()
    i = 0
    while len(out) < n:
        a, b = hosts[i % 50], hosts[(i * 7 + 3) % 50]
        out.append(advert if i % 500 == 0 else ns(a[0], a[1 + i % 2], b[2]))
        out.append(na(b[0], b[2], b[2], a[2]))
        i += 1
    return out[:n]


def flood(n: int, distinct: int | None = None) -> list[bytes]:
    """NAs from ``distinct`` (default n/2) MACs and global addresses, sent in rounds."""
    distinct = distinct or n // 2
    frames = [na(*host(i)[0::2], host(i)[2]) for i in range(distinct)]
    return (frames * (n // distinct + 1))[:n]


def config(max_neighbors: int) -> Config:
    router = Router(ROUTER_MAC, ROUTER_LLA, prefixes=(Prefix(PREFIX, 64),))
    limits = Limits(max_neighbors=max_neighbors)
    return Config("bench", Settings(limits=limits), (Probe("lan0", routers=(router,)),))


def run_engine(frames: list[bytes], max_neighbors: int) -> tuple[float, int]:
    engine, handle = Engine(config(max_neighbors)), None
    handle = engine.handle
    alerts = 0
    started = time.perf_counter()
    for i, f in enumerate(frames):
        alerts += len(handle("lan0", 1700000000.0 + i * 1e-3, f))
    return len(frames) / (time.perf_counter() - started), alerts


def run_replay(frames: list[bytes], max_neighbors: int, floor: bool = False) -> float:
    """Frames per second of ``ndpmon -r``'s loop over a pcap of ``frames``, or (``floor``)
    of a bare loop reading the same pcap."""
    from scapy.utils import RawPcapWriter

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.pcap")
        with RawPcapWriter(path, linktype=1) as writer:
            writer.write_header(None)
            for i, f in enumerate(frames):
                writer.write_packet(f, sec=1700000000 + i // 1000, usec=i % 1000)
        pipeline = Pipeline(Engine(config(max_neighbors)), ())  # ndpmon -r's own loop
        feed = (lambda probe, batch: None) if floor else pipeline.feed
        started = time.perf_counter()
        for batch in read_batches(path):
            feed("lan0", batch)
        return len(frames) / (time.perf_counter() - started)


CAPTURES = {"a": ("(a) benign mix, 50 hosts", benign), "b": ("(b) NA flood, 100k MACs", flood)}


def measure(kind: str, frames: int, distinct: int) -> str:
    """One figure, in this (fresh) process: ``engine-a``, ``replay-b``, ... or ``c``."""
    if kind == "c":
        cache = max(distinct // 2, 1)  # the cache holds half of them: every frame is new
        rate, alerts = run_engine(flood(frames, distinct), cache)
        return (f"(c) NA flood cycling {distinct} MACs through a {cache}-neighbour cache, "
                f"engine: {rate:,.0f} frames/s ({alerts} alerts)")
    how, which = kind.split("-")
    name, build = CAPTURES[which]
    if how in ("replay", "floor"):
        rate = run_replay(build(frames), 100_000, floor=how == "floor")
        return f"{name}, {how}: {rate:,.0f} frames/s"
    rate, alerts = run_engine(build(frames), 100_000)
    return f"{name}, engine: {rate:,.0f} frames/s ({alerts} alerts)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "DISTINCT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    tune_gc()  # as ndpmon itself does
    if args.one:
        print(measure(args.one[0], args.frames, int(args.one[1])), flush=True)
        return
    # Each figure in a fresh interpreter: the heap left by one run skews the next.
    # (c) is the O(1) check: the same flood with 10x and 100x fewer distinct senders,
    # so the same number of new neighbours per frame in a 10x or 100x smaller cache.
    runs = [("engine-a", 0), ("replay-a", 0), ("floor-a", 0), ("engine-b", 0), ("replay-b", 0),
            ("floor-b", 0), ("c", 100_000), ("c", 10_000), ("c", 1_000)]
    for kind, distinct in runs:
        subprocess.run([sys.executable, __file__, "--frames", str(args.frames),
                        "--one", kind, str(distinct)], check=True)


if __name__ == "__main__":
    main()
