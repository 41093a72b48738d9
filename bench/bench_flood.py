"""CPU per frame of a random-source NA flood, in process: the engine, then everything.

The live flood of issue 16 (bench/bench_live.py) costs what the engine, the outputs and
the live loop cost per frame; this measures them without a network, so that two trees
can be compared in one run, alternating, on a shared machine. A flood of unsolicited
NAs, each from a new random station (THC-IPv6's flood_advertise6, tests/floodgen.py),
``--frames`` of them (after ``--warm`` ones not counted, which fill the neighbour
cache: every frame then evicts one, as in a long flood) in batches of ``--batch`` as
the capture ring hands them over, at ``--rate`` frames/s of capture time, goes through:

- ``engine``: ``Engine.handle`` alone (decode, checks, neighbour cache);
- ``full``: the live loop's ``Monitor._handle`` over a Pipeline with a live run's
  default outputs (alerts on stderr into a file, alerts.xml, ``--json-alerts``, and the
  delivery dispatcher with no action configured), the wall clock set as live (``--late
  2``: two seconds ahead, a backlog, where every alert carries the time it was raised).

Each figure is the CPU time (``time.process_time``) per frame of one fresh interpreter.
With ``--baseline COMMIT`` the same figures are taken for that commit (a throw-away git
worktree), alternating with this tree, ``--reps`` times; it prints the medians and the
ratios. Run: ``python bench/bench_flood.py [--frames 100000] [--baseline main]
[--reps 5]``. Not part of the test run; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import time

from basetree import worktree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODES = ("engine", "full")


def flood(total: int, seed: int = 1) -> list[bytes]:
    """``total`` NAs, each from a new random station (MAC, global address); kept in a
    file of the temporary folder for the next interpreters (floodgen takes seconds)."""
    from floodgen import na, station

    path = os.path.join(tempfile.gettempdir(), f"bench_flood.{total}.{seed}.pickle")
    with contextlib.suppress(OSError):
        with open(path, "rb") as kept:
            return pickle.load(kept)
    rng = random.Random(seed)
    out = []
    for _ in range(total):
        mac, _lla, gua = station(rng)
        out.append(na(mac, gua, gua))
    with open(path + f".{os.getpid()}", "wb") as new:
        pickle.dump(out, new)
    os.replace(path + f".{os.getpid()}", path)
    return out


def one(mode: str, total: int, rate: float, batch: int, late: float = 0.0,
        warm: int = 0) -> float:
    """CPU microseconds per frame of ``mode`` in this interpreter (the tree on
    sys.path), over ``total`` frames after ``warm`` frames not counted (they fill the
    neighbour cache: every frame then evicts one, as in a long flood)."""
    from ndpmon.config.model import Config, Prefix, Probe, Router, Settings
    from ndpmon.engine.engine import Engine
    from ndpmon.run.session import tune_gc
    from floodgen import PREFIX

    tune_gc()
    router = Router(bytes.fromhex("00005e005301"),
                    bytes.fromhex("fe800000000000000200" + "5efffe005301"),
                    prefixes=(Prefix(PREFIX, 64),))
    config = Config("bench", Settings(), (Probe("lan0", routers=(router,)),))
    frames = flood(warm + total)
    t0 = 1_790_000_000.0
    batches = [[(t0 + i / rate, f) for i, f in enumerate(frames[s:s + batch], s)]
               for s in range(0, warm + total, batch)]
    first = -(-warm // batch)  # the first timed batch
    engine = Engine(config)
    if mode == "engine":
        handle = engine.handle
        started = 0.0
        for index, chunk in enumerate(batches):
            if index == first:
                started = time.process_time()
            for now, frame in chunk:
                handle("lan0", now, frame)
        return (time.process_time() - started) / total * 1e6
    with tempfile.TemporaryDirectory() as tmp:
        return _full(engine, config, (batches[:first], batches[first:]), tmp, total,
                     t0 - late)


def _full(engine, config, batches, tmp: str, total: int, t0: float) -> float:
    """The live loop's handling of ``batches`` (untimed, timed) with a live run's default
    outputs."""
    from ndpmon.run.live import Monitor
    from ndpmon.run.options import RunOptions
    from ndpmon.run.outputs import build_outputs
    from ndpmon.run.pipeline import Pipeline

    os.chmod(tmp, 0o700)
    options = RunOptions(cache=os.path.join(tmp, "cache.xml"),
                         json_alerts=os.path.join(tmp, "alerts.json"),
                         alerts_xml=os.path.join(tmp, "alerts.xml"))
    pipeline = Pipeline(engine, build_outputs(options, config))
    err = open(os.path.join(tmp, "stderr.txt"), "w", buffering=1)
    sys.stderr, real_err = err, sys.stderr
    pipeline.start()
    offset = [0.0]
    monitor = Monitor(pipeline, _NoCapture(), save_cache=lambda: None,
                      wallclock=lambda: time.time() - offset[0])
    try:
        offset[0] = time.time() - t0
        for chunk in batches[0]:
            monitor._handle([("lan0", chunk)])
        started = time.process_time()
        for chunk in batches[1]:
            monitor._handle([("lan0", chunk)])
        spent = time.process_time() - started
    finally:
        pipeline.stop()
        sys.stderr = real_err
        err.close()
    return spent / total * 1e6


class _NoCapture:
    """What Monitor asks of a capture, for a loop that is never run."""

    def wake(self) -> None:
        pass


def measure(tree: str, mode: str, args: argparse.Namespace) -> float:
    """One figure, in a fresh interpreter importing ``tree`` (tests/floodgen.py from this
    tree, so that both get the same frames)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, os.path.join(ROOT, "tests")]))
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", mode,
                           "--frames", str(args.frames), "--rate", str(args.rate),
                           "--batch", str(args.batch), "--late", str(args.late),
                           "--warm", str(args.warm)],
                          env=env, cwd=tree, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def compare(trees: dict[str, str], args: argparse.Namespace) -> None:
    sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
    flood(args.warm + args.frames)  # made once, here, for every interpreter
    figures: dict[tuple[str, str], list[float]] = {}
    for rep in range(args.reps):
        for mode in MODES:
            names = list(trees) if rep % 2 == 0 else list(reversed(trees))
            for name in names:
                value = measure(trees[name], mode, args)
                figures.setdefault((name, mode), []).append(value)
                print(f"rep {rep + 1} {mode:6} {name:8} {value:6.2f} us/frame", flush=True)
    print(f"\n{args.frames:,} random-source NAs, batches of {args.batch}, "
          f"CPU us/frame (median of {args.reps}; min):")
    names = list(trees)
    for mode in MODES:
        cells = [f"{name} {statistics.median(figures[name, mode]):6.2f} "
                 f"({min(figures[name, mode]):.2f})" for name in names]
        ratio = ""
        if len(names) == 2:
            a, b = (statistics.median(figures[n, mode]) for n in names)
            ratio = f"  ratio {names[1]}/{names[0]}: {b / a:.3f}"
        print(f"  {mode:6}: " + " | ".join(cells) + ratio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50_000.0,
                        help="frames/s of capture time")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warm", type=int, default=100_000,
                        help="frames not counted first (100k: the default cache is full)")
    parser.add_argument("--late", type=float, default=0.0,
                        help="full: the wall clock this far ahead of capture time (a "
                             "backlog: over 1 s, every alert carries its raised time)")
    parser.add_argument("--baseline", help="a commit to compare with, alternating")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        sys.path[:0] = [os.path.join(ROOT, "tests")]
        print(f"{one(args.one, args.frames, args.rate, args.batch, args.late, args.warm):.3f}")
        return
    if args.baseline is None:
        compare({"tree": ROOT}, args)
        return
    with worktree(args.baseline, "bench_flood.") as base:
        compare({"base": base, "tree": ROOT}, args)


if __name__ == "__main__":
    main()
