"""What a flood writes: bytes and write system calls of the alert files per minute.

Issue 16 measured a 5 s NA flood at 100k/s writing about 0.5 GB of alert files. This
replays the same shape in memory, a flood of unsolicited NAs each from a new random
station (THC-IPv6's flood_advertise6) at ``--rate`` frames/s of capture time for
``--seconds``, through the pipeline with a run's real outputs as ``ndpmon`` builds them:
alerts on stderr (redirected to a file, line-buffered as stderr is), ``--json-alerts``
and alerts.xml, in batches of ``--batch`` frames as the live capture hands them over.
It counts every byte and every write(2) that reaches those files and prints them, with
the figure per minute of capture time.

Run: ``python bench/bench_outputs.py [--rate 100000] [--seconds 60] [--json-all]``. It
works on any commit that has ``ndpmon.run.outputs`` (to compare before and after).
Not part of the test run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from ndpmon.config.model import Config, Prefix, Probe, Router, Settings  # noqa: E402
from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.run.options import RunOptions  # noqa: E402
from ndpmon.run.outputs import build_outputs  # noqa: E402
from ndpmon.run.pipeline import Pipeline  # noqa: E402
from ndpmon.run.session import tune_gc  # noqa: E402
from floodgen import PREFIX, na, station  # noqa: E402  (tests/floodgen.py)

ROUTER_MAC = bytes.fromhex("00005e005301")
ROUTER_LLA = bytes.fromhex("fe800000000000000200" + "5efffe005301")
T0 = 1_790_000_000.0


class Counted:
    """Bytes and write calls per file name."""

    def __init__(self) -> None:
        self.bytes: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def add(self, name: str, size: int) -> None:
        self.bytes[name] = self.bytes.get(name, 0) + size
        self.calls[name] = self.calls.get(name, 0) + 1


COUNTED = Counted()


class CountingFile(io.FileIO):
    """stderr's raw file: its writes counted."""

    def write(self, data) -> int:  # type: ignore[override]
        COUNTED.add("stderr", len(data))
        return super().write(data)


def count_writes() -> None:
    """Count os.write/os.pwrite per file name (what alerts.xml and JSON lines use)."""
    def counting(real):
        def call(fd: int, data, *args):
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            COUNTED.add(".".join(name.split(".")[:2]), len(data))  # alerts.xml.1: alerts.xml
            return real(fd, data, *args)
        return call
    os.pwrite = counting(os.pwrite)  # type: ignore[assignment]
    os.write = counting(os.write)  # type: ignore[assignment]


def frames(rate: float, seconds: float, batch: int, seed: int = 1):
    """Batches of ``(time, NA)`` from new random stations, ``rate`` per second."""
    rng, total = random.Random(seed), int(rate * seconds)
    for start in range(0, total, batch):
        out = []
        for i in range(start, min(start + batch, total)):
            mac, _lla, gua = station(rng)
            out.append((T0 + i / rate, na(mac, gua, gua)))
        yield out


def run(args: argparse.Namespace, tmp: str) -> tuple[int, float]:
    """The flood through the pipeline; (alerts raised, wall seconds)."""
    router = Router(ROUTER_MAC, ROUTER_LLA, prefixes=(Prefix(PREFIX, 64),))
    config = Config("bench", Settings(), (Probe("lan0", routers=(router,)),))
    extra = {"json_alerts_all": True} if args.json_all else {}
    options = RunOptions(cache=os.path.join(tmp, "cache.xml"), replay="bench",
                         json_alerts=os.path.join(tmp, "alerts.jsonl"),
                         alerts_xml=os.path.join(tmp, "alerts.xml"), **extra)
    pipeline = Pipeline(Engine(config), build_outputs(options, config))
    sys.stderr = io.TextIOWrapper(io.BufferedWriter(CountingFile(
        os.path.join(tmp, "stderr.txt"), "w")), line_buffering=True)
    pipeline.start()
    count_writes()
    alerts, started = 0, time.perf_counter()
    try:
        for batch in frames(args.rate, args.seconds, args.batch):
            alerts += len(pipeline.feed("lan0", batch))
    finally:
        pipeline.stop()
        sys.stderr.flush()
        sys.stderr = sys.__stderr__
    return alerts, time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=100_000.0, help="frames/s of capture time")
    p.add_argument("--seconds", type=float, default=60.0, help="capture time of the flood")
    p.add_argument("--batch", type=int, default=256, help="frames per batch")
    p.add_argument("--json-all", action="store_true", help="--json-alerts-all")
    args = p.parse_args()
    tune_gc()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o700)
        alerts, wall = run(args, tmp)
    per_minute = 60.0 / args.seconds
    total = sum(COUNTED.bytes.values())
    print(f"{int(args.rate * args.seconds):,} NAs at {args.rate:,.0f}/s for {args.seconds:g} s"
          f" of capture time: {alerts:,} alerts raised, {wall:.1f} s to run")
    for name in sorted(COUNTED.bytes):
        print(f"  {name:14} {COUNTED.bytes[name]:>14,} bytes in {COUNTED.calls[name]:>9,} "
              f"writes")
    guess = "" if args.seconds == 60 else f" (times {per_minute:g}: a guess, the windows are 60 s)"
    print(f"  {'all files':14} {total:>14,} bytes: {total * per_minute / 1e6:,.1f} MB per "
          f"minute of the flood{guess}, {sum(COUNTED.calls.values()) * per_minute:,.0f} "
          f"writes")


if __name__ == "__main__":
    main()
