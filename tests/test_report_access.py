"""A web server can read the web report (issue 18, item 2).

The web server runs as another account (www-data, nginx, http): the pages must be
readable by it, and the directories ndpmon makes for them enterable, whatever the umask
ndpmon runs with (027 for the monitor and its webreport plugin) and whatever mode an
older ndpmon gave the pages (0640). Checked by reading every page as ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import asuser
from needs import need_root, need_tool
from test_report import CONFIG, cache_file

from ndpmon.commands.main import main

PAGES = ("index.html", "config.html", "neighbors.html", "alerts.html")


@pytest.fixture
def www():
    """A root-owned 0755 folder in /tmp (pytest's tmp_path is private to root)."""
    need_root()
    need_tool("setpriv")
    folder = asuser.etcdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def read_as_nobody(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", "--reuid", asuser.USER, "--regid", "nogroup",
                           "--clear-groups", "cat", str(path)], capture_output=True, text=True)


def report(www: Path, out: Path) -> None:
    """``ndpmon report`` under the monitor's umask (027), as the webreport plugin renders."""
    old = os.umask(0o027)
    try:
        assert main(["report", "-f", CONFIG, "-g", cache_file(www), "--out", str(out)]) == 0
    finally:
        os.umask(old)


def test_pages_are_readable_by_another_user(www):
    """Pages written under umask 027 into directories ndpmon makes (two levels) are 0644, the
    directories 0755, and ``nobody`` reads every page."""
    out = www / "html" / "ndpmon"
    report(www, out)
    for folder in (www / "html", out):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    for name in PAGES:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644
        result = read_as_nobody(out / name)
        assert result.returncode == 0 and "<html" in result.stdout, (name, result.stderr)


def test_old_0640_pages_become_readable_and_the_admins_directory_is_kept(www):
    """Pages an older ndpmon wrote 0640 are rewritten 0644; a directory the admin made 0750 stays
    0750 (restricting access is the directory's job), and then nobody cannot read them."""
    out = www / "ndpmon"
    out.mkdir(mode=0o750)
    for name in PAGES:
        (out / name).write_text("old")
        (out / name).chmod(0o640)
    report(www, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert {stat.S_IMODE((out / n).stat().st_mode) for n in PAGES} == {0o644}
    assert read_as_nobody(out / "index.html").returncode != 0
    out.chmod(0o755)
    assert read_as_nobody(out / "index.html").returncode == 0
