"""The tree a benchmark compares with: a throw-away git worktree of a commit.

The benchmarks measure before and after in one run, alternating, on a shared machine
(README "Performance"); this is the one way they get the "before".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from typing import Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def worktree(commit: str, prefix: str = "bench_base.") -> Iterator[str]:
    """A detached git worktree of ``commit`` in a temporary folder, removed afterwards."""
    folder = tempfile.mkdtemp(prefix=prefix)
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", folder, commit],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", folder],
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "-C", ROOT, "worktree", "prune"], check=False)
