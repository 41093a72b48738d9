"""End to end: ``<ignor_autoconf>`` changes the captured interface's kernel settings only
while ndpmon runs (issue 18, item 1).

ndpmon runs in a network namespace on ``mon0``, whose ``accept_ra`` is 2 and
``autoconf`` 1 (a host that takes its IPv6 route from RAs). With ``<ignor_autoconf>0``
they are 0 while it runs and the values found again after it stopped: after SIGTERM, as
root and as ``--user nobody`` (which can no longer write them itself), and after a
``kill -9`` of ndpmon. SIGHUP applies a changed value, and a blank one gives the values
found back.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import asuser
from needs import need_tool
from netns import MONITOR, VethPair
from services import wait_for
from test_privs_live import CONFIG

FOUND = {"accept_ra": "2", "autoconf": "1", "accept_ra_defrtr": "1",
         "accept_redirects": "1"}


@pytest.fixture
def setup():
    """(python, folder owned by nobody, root's config folder, veths with mon0 as a host's)."""
    need_tool("ip")
    python = asuser.python()
    work, etc = asuser.workdir(), asuser.etcdir()
    try:
        with VethPair() as pair:
            for key, value in FOUND.items():
                pair.sysctl("a", f"net/ipv6/conf/{MONITOR}/{key}", value)
            yield python, work, etc, pair
    finally:
        shutil.rmtree(work)
        shutil.rmtree(etc)


def write_config(etc: Path, value: str) -> None:
    text = CONFIG.format(plugins="", pipe="").replace(
        "<ignor_autoconf>0</ignor_autoconf>", f"<ignor_autoconf>{value}</ignor_autoconf>")
    (etc / "config.xml").write_text(text)


def kernel(pair: VethPair) -> dict[str, str]:
    """mon0's settings in the monitor's namespace."""
    with pair.inside("a"):
        return {key: Path(f"/proc/sys/net/ipv6/conf/{MONITOR}/{key}").read_text().strip()
                for key in FOUND}


def children(pid: int) -> list[str]:
    """The child processes of ``pid`` (ip netns exec execs ndpmon: the Popen is ndpmon)."""
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def start(setup, *extra: str) -> tuple[subprocess.Popen, Path]:
    python, work, etc, pair = setup
    log = work / "ndpmon.log"
    state = work if extra else etc  # the --user's folder, or root's
    cmd = ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f",
           str(etc / "config.xml"), "-g", str(state / "cache.xml"), "-i", MONITOR, "-q",
           *extra]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), env=asuser.env(), cwd="/")
    wait_for(lambda: "monitoring on" in log.read_text() or proc.poll() is not None, 60)
    assert proc.poll() is None, log.read_text()
    return proc, log


@pytest.mark.parametrize("user", [[], ["--user", asuser.USER]], ids=["root", "nobody"])
def test_settings_are_restored_after_the_run_and_follow_sighup(setup, user):
    """0 while ndpmon runs; SIGHUP to 1 gives 1, SIGHUP to blank the values found, SIGHUP to 0
    again 0; after SIGTERM the values found (accept_ra 2, not 1), also under --user."""
    pair, etc = setup[3], setup[2]
    write_config(etc, "0")
    proc, log = start(setup, *user)
    try:
        assert set(kernel(pair).values()) == {"0"}
        (keeper,) = children(proc.pid)  # it stays root, also under --user
        uid, gid = (line.split()[1:] for line in Path(f"/proc/{keeper}/status").read_text()
                    .splitlines() if line.startswith(("Uid:", "Gid:")))
        assert uid == gid == ["0"] * 4
        for value, expected in (("1", dict.fromkeys(FOUND, "1")), ("", FOUND),
                                ("0", dict.fromkeys(FOUND, "0"))):
            write_config(etc, value)
            done = log.read_text().count("SIGHUP: reloaded") + 1
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda n=done: log.read_text().count("SIGHUP: reloaded") == n)
            assert kernel(pair) == expected, (value, log.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, log.read_text()
    assert kernel(pair) == FOUND, log.read_text()
    assert "ignor_autoconf: restored mon0/autoconf=1, mon0/accept_ra=2" in log.read_text()


def test_settings_are_restored_after_kill_9(setup):
    """A ``kill -9`` of ndpmon leaves no chance to restore: its keeper process does it."""
    pair, etc = setup[3], setup[2]
    write_config(etc, "0")
    proc, log = start(setup)
    assert kernel(pair)["accept_ra"] == "0"
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    wait_for(lambda: kernel(pair) == FOUND, 20)


def test_blank_setting_changes_nothing(setup):
    """``<ignor_autoconf></ignor_autoconf>`` (the sample config's) leaves the settings alone, and
    no root process stays beside ndpmon for it; a SIGHUP to 0 asks for a restart, once."""
    pair, etc = setup[3], setup[2]
    write_config(etc, "")
    proc, log = start(setup)
    try:
        assert kernel(pair) == FOUND
        assert children(proc.pid) == []  # no keeper
        write_config(etc, "0")
        for done in (1, 2):
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda n=done: log.read_text().count("SIGHUP: reloaded") == n)
        assert kernel(pair) == FOUND
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    assert log.read_text().count("ignor_autoconf: 0 is set now but was empty when ndpmon "
                                 "started: restart ndpmon to apply it") == 1
