"""Coverage-guided fuzzing of the per-frame path with atheris (libFuzzer), optional.

    .venv/bin/pip install atheris      # wheels for CPython 3.8-3.11 on x86_64 Linux
    .venv/bin/python fuzz/atheris_target.py -max_total_time=600 [-seed=1] [CORPUS_DIR]

libFuzzer keeps the inputs that reach new code of ndpmon (instrumented at import); the
mutations are those of fuzz/frames.py (structure-aware, checksum fixed), fed from the
seed captures, with libFuzzer's own byte mutations mixed in. A finding other than a
slow frame (fuzz/harness.py) raises, so libFuzzer saves the input as ``crash-*``.
fuzz/run_long.sh needs no atheris and is what SECURITY.md's figures come from.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["ndpmon"]):
    from fuzz import frames, harness

POOL = frames.Pool.from_seeds(frames.seed_frames())
TARGET = harness.Target()


def test_one_input(data: bytes) -> None:
    """One frame through the whole path; a crash or broken invariant raises."""
    finding = TARGET.feed(data)
    if finding is not None and finding.kind != "slow":
        raise AssertionError(f"{finding.kind}: {finding.detail}")


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Mostly fuzz/frames.py's mutations of ``data`` (or of a seed frame); sometimes
    libFuzzer's own byte-level ones."""
    rng = random.Random(seed)
    if rng.random() < 0.2:
        return atheris.Mutate(data, max_size)
    base = data if data and rng.random() < 0.8 else rng.choice(POOL.frames)
    return frames.mutate(rng, base, POOL)[:max_size]


def main() -> None:
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus: the seed frames
        corpus = Path(tempfile.mkdtemp(prefix="ndpmon-corpus-"))
        for i, frame in enumerate(POOL.frames):
            (corpus / f"seed-{i}").write_bytes(frame)
        args.append(str(corpus))
    atheris.Setup(args, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
