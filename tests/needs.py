"""Guards for tests that need a system tool, root or network namespaces.

On a developer machine a missing tool skips the test with the reason; under CI
(``CI`` set, as ``.ci/run`` does) it fails instead, because ``.ci/run`` installs
every tool these tests need and a skipped real test there would prove nothing.
"""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["need_tool", "need_root", "need_file", "missing"]


def missing(reason: str) -> None:
    """Skip with ``reason``, or fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def need_tool(*names: str) -> dict[str, str]:
    """Full paths of the named programs (searched in PATH and the sbin folders)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    found = {}
    for name in names:
        where = shutil.which(name, path=path)
        if where is None:
            missing(f"{name} is not installed")
        found[name] = where
    return found


def need_root() -> None:
    """Network namespaces and packet sockets need root."""
    if os.geteuid() != 0:
        missing("needs root (network namespaces, packet sockets)")


def need_file(path: str, package: str) -> str:
    """``path``, which the Debian ``package`` installs (.ci/run installs it)."""
    if not os.path.exists(path):
        missing(f"{path} is missing (apt-get install {package})")
    return path
