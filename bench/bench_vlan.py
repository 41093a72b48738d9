"""The per-frame cost of routing frames to VLAN probes: does untagged traffic pay for it?

Three figures, in microseconds of CPU time per frame (``time.process_time``, so that
other processes on a shared machine count less than in wall-clock figures), the best
of ``--repeat`` passes over the same frames through one Engine:

  untagged: bench_replay.py's benign mix (50 hosts doing NUD, RAs) on probe lan0;
  NA flood: its NA flood (100k MACs, each a new neighbour and an alert), untagged;
  tagged:   the benign mix with 802.1Q tags, alternating VLANs 10 and 20, whose probes
            lan0.10 and lan0.20 hold the router (before VLAN probes existed, all of it
            fed lan0).

Run: ``python bench/bench_vlan.py [--frames N] [--repeat R]``; point PYTHONPATH at
another tree to compare (the script only uses Engine, which every version has). Not
part of the test run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.dirname(__file__))

from bench_replay import ROUTER_LLA, ROUTER_MAC, benign, flood  # noqa: E402
from floodgen import PREFIX  # noqa: E402
from ndpmon.config.model import Config, Limits, Prefix, Probe, Router, Settings  # noqa: E402
from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.run.session import tune_gc  # noqa: E402


def config() -> Config:
    router = Router(ROUTER_MAC, ROUTER_LLA, prefixes=(Prefix(PREFIX, 64),))
    probes = tuple(Probe(name, routers=(router,)) for name in ("lan0", "lan0.10", "lan0.20"))
    return Config("bench", Settings(limits=Limits(max_neighbors=100_000)), probes)


def tagged(frames: list[bytes]) -> list[bytes]:
    """The frames with an 802.1Q tag, VLAN 10 and 20 in turn."""
    return [f[:12] + b"\x81\x00" + (10 + 10 * (i & 1)).to_bytes(2, "big") + f[12:]
            for i, f in enumerate(frames)]


def cost(frames: list[bytes], repeat: int) -> float:
    """Best CPU microseconds per frame over ``repeat`` passes, each on a fresh Engine."""
    best = float("inf")
    for _ in range(repeat):
        handle = Engine(config()).handle
        started = time.process_time()
        for i, frame in enumerate(frames):
            handle("lan0", 1700000000.0 + i * 1e-3, frame)
        best = min(best, time.process_time() - started)
    return best / len(frames) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tune_gc()
    mix = benign(args.frames)
    for name, frames in (("untagged", mix), ("NA flood", flood(args.frames)),
                         ("tagged", tagged(mix))):
        print(f"{name}: {cost(frames, args.repeat):.3f} us/frame", flush=True)


if __name__ == "__main__":
    main()
