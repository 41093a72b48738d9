"""The long fuzz run: mutated frames and frame sequences through the whole per-frame path.

    .venv/bin/python fuzz/run_long.py --minutes 30 [--seed N] [--out fuzz/findings]

Alternates two modes, a batch each: single frames mutated from the seed captures on an
engine with the default limits, and sequences re-addressed from a few MACs and
addresses on an engine with tiny limits (``max_neighbors=4 max_addresses=2``) whose
neighbour cache is written and read back after every sequence. Every finding (an
exception, a broken invariant, a slow frame: see fuzz/harness.py) is written to
``--out`` as ``<kind>-<n>.pcap`` with a ``.txt`` saying what happened, and the run goes
on. A progress line every 30 s; the exit code is 1 if anything was found.

    .venv/bin/python fuzz/run_long.py --recheck fuzz/findings

re-runs each saved frame alone on a fresh engine: timing findings made while the machine
was busy are re-measured there.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import frames, harness  # noqa: E402
from ndpmon.config.model import Limits  # noqa: E402

SMALL = Limits(max_neighbors=4, max_addresses=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--out", default=str(Path(__file__).parent / "findings"))
    parser.add_argument("--recheck", metavar="DIR",
                        help="re-run the single-frame findings saved in DIR, each alone")
    args = parser.parse_args(argv)
    if args.recheck:
        return recheck(Path(args.recheck))
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    out = Path(args.out)
    rng = random.Random(seed)
    pool = frames.Pool.from_seeds(frames.seed_frames())
    print(f"fuzz: seed {seed}, {len(pool.frames)} seed frames, {args.minutes} min", flush=True)
    found: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    start = report = time.monotonic()
    total = alerts = 0
    deadline = start + args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < deadline:
            for finding, target in _batch(rng, pool, Path(tmp)):
                total += target.frames
                alerts += target.alerts
                if finding is not None:
                    kinds[finding.kind] += 1
                    _save(out, finding, found)
            now = time.monotonic()
            if now - report >= 30 or now >= deadline:
                report = now
                rate = total / (now - start)
                print(f"fuzz: {total} frames, {rate:.0f}/s, {alerts} alerts, "
                      f"findings {dict(kinds) or 0}", flush=True)
    return 1 if kinds else 0


def recheck(folder: Path) -> int:
    """Re-run every ``*.pcap`` finding on a fresh engine (the state it met is gone, so
    a slow frame is re-measured alone: run this on an idle machine)."""
    still = 0
    for pcap in sorted(folder.glob("*.pcap")):
        for _when, frame in frames.read_pcap(pcap):
            target = harness.Target()
            finding = target.feed(frame)
            timing = target._fastest_again(frame, target._run(target.now, frame))
            verdict = f"{finding.kind}: {finding.detail}" if finding else "fine"
            still += finding is not None
            print(f"{pcap.name}: {verdict} (engine {timing[0] / 1e6:.2f} ms, outputs "
                  f"{timing[1] / 1e6:.2f} ms for {timing[2]} alerts)", flush=True)
    return 1 if still else 0


def _batch(rng: random.Random, pool: frames.Pool, tmp: Path):
    """One batch of either mode; yields (finding or None, target) once per batch and
    once per finding."""
    if rng.random() < 0.5:
        target = harness.Target()
        for _ in range(2000):
            finding = target.feed(frames.mutate(rng, rng.choice(pool.frames), pool))
            if finding is not None:
                yield finding, _empty(target)
        yield None, target
        return
    target = harness.Target(SMALL)
    small = frames.small_pool(pool, rng)
    recent: list[bytes] = []
    for step, frame in frames.sequence(rng, small, 300):
        recent = (recent + [frame])[-20:]
        finding = target.feed(frame, step)
        if finding is not None:  # the sequence that led to it is the sample
            finding.frame = b"".join(len(f).to_bytes(2, "big") + f for f in recent)
            finding.kind += "-sequence"
            yield finding, _empty(target)
    try:
        harness.roundtrip(target.engine, tmp)
    except Exception as exc:  # the cache written from packet data does not load back
        yield harness.Finding("cache-roundtrip", f"{type(exc).__name__}: {exc}", b""), \
            _empty(target)
    yield None, target


class _Nothing:
    frames = alerts = 0


def _empty(target: harness.Target) -> _Nothing:
    """A stand-in so that a finding does not count its target's frames twice."""
    return _Nothing()


def _save(out: Path, finding: harness.Finding, found: Counter[str]) -> None:
    """``<kind>-<n>.pcap`` (sequences: 2-byte length + frame, repeated, in ``.bin``)."""
    out.mkdir(parents=True, exist_ok=True)
    found[finding.kind] += 1
    name = f"{finding.kind}-{found[finding.kind]}"
    if finding.kind.endswith("-sequence"):
        (out / f"{name}.bin").write_bytes(finding.frame)
    else:
        frames.write_pcap(out / f"{name}.pcap", [(0.0, finding.frame)])
    (out / f"{name}.txt").write_text(f"{finding.kind}: {finding.detail}\n"
                                     f"{finding.frame.hex()}\n")
    print(f"fuzz: FOUND {name}: {finding.detail}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
