"""Running ``ndpmon --user nobody`` from the tests: a Python that user can read.

After the drop, ndpmon still imports modules now and then (scapy for a replay, codecs);
the test virtualenv's interpreter may live where only root can read (a pyenv Python
under /root). Then the system's Python of the same version runs ndpmon, with the
virtualenv's packages on PYTHONPATH.
"""

from __future__ import annotations

import os
import pwd
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from needs import missing, need_root

REPO = Path(__file__).resolve().parents[1]
USER = "nobody"


def _readable_by(user: str, python: str) -> bool:
    """Can ``python``, started as root, import what ndpmon imports late once it has
    become ``user``?"""
    entry = pwd.getpwnam(user)
    probe = (f"import os; os.setgroups([]); os.setgid({entry.pw_gid}); "
             f"os.setuid({entry.pw_uid}); "
             "import platform, scapy.utils, lxml.etree, encodings.latin_1")
    result = subprocess.run([python, "-c", probe], env=env(), capture_output=True, cwd="/")
    return result.returncode == 0


def env() -> dict[str, str]:
    paths = [str(REPO), *site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))


def python() -> str:
    """An interpreter ``nobody`` can run ndpmon with (root only; fails under CI)."""
    need_root()
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (sys.executable, shutil.which(version, path="/usr/bin:/usr/local/bin")):
        if candidate and _readable_by(USER, candidate):
            return candidate
    missing(f"no {version} that user {USER} can read")
    raise AssertionError  # not reached


def workdir() -> Path:
    """A fresh folder in /tmp that ``nobody`` owns (pytest's tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix="ndpmon-privs-", dir="/tmp"))
    entry = pwd.getpwnam(USER)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o755)
    return folder


def etcdir() -> Path:
    """A fresh folder in /tmp that root alone can change (0755): where a config read by
    root must be, even under ``--user`` (the user may not change it, issue 14)."""
    folder = Path(tempfile.mkdtemp(prefix="ndpmon-etc-", dir="/tmp"))
    folder.chmod(0o755)
    return folder
