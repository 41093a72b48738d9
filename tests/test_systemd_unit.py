"""The shipped systemd unit (contrib/systemd/ndpmon.service) works as written (issue 14,
item 4).

The unit bounds root's capabilities to CAP_NET_RAW, CAP_NET_ADMIN, CAP_SETUID,
CAP_SETGID and CAP_SETPCAP with NoNewPrivileges, and the README makes the state
directory 0750 owned by the ``--user``: root then cannot even enter it (no
CAP_DAC_OVERRIDE nor CAP_DAC_READ_SEARCH). Its ExecStartPre (``--check-config``) and its
ExecStart (a live run) are run here under exactly that capability set with ``setpriv``,
with an existing cache of the user's; and ``systemd-analyze verify`` reads the unit.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import asuser
from needs import missing, need_root, need_tool
from netns import MONITOR, VethPair
from services import wait_for
from test_privs_live import CONFIG

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "contrib" / "systemd" / "ndpmon.service"
NEIGHBOR_MAC = "2:0:0:0:0:9"
CACHE = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<neighbors>
  <probe name="{MONITOR}" mac="0:0:0:0:0:0">
    <neighbor>
      <mac vendor="">{NEIGHBOR_MAC}</mac>
      <lla>fe80::9</lla>
      <addresses/>
    </neighbor>
  </probe>
</neighbors>
"""


#: where README's "Monitoring a LAN" installs ndpmon, and what the unit runs
INSTALLED = "/opt/ndpmon/bin/ndpmon"


def test_unit_runs_the_ndpmon_the_readme_installs():
    """The unit's ExecStartPre and ExecStart run the ndpmon of the README's install
    (``python3 -m venv /opt/ndpmon && /opt/ndpmon/bin/pip install ...``), not another path
    (issue 18 item 3: it ran /usr/local/bin/ndpmon); exit 2 is not restarted."""
    readme = (ROOT / "README.md").read_text()
    venv = re.search(r"python3 -m venv (\S+) &&", readme)
    assert venv and f"{venv.group(1)}/bin/ndpmon" == INSTALLED
    assert f"{venv.group(1)}/bin/pip install" in readme
    text = UNIT.read_text()
    commands = re.findall(r"^ExecStart(?:Pre)?=(\S+)", text, re.M)
    assert commands == [INSTALLED, INSTALLED]
    assert re.search(r"^RestartPreventExitStatus=2$", text, re.M)


def bounding_set() -> str:
    """setpriv's ``--bounding-set`` for the unit's CapabilityBoundingSet line."""
    line = re.search(r"^CapabilityBoundingSet=(.*)$", UNIT.read_text(), re.M)
    assert line, "the unit no longer bounds the capabilities"
    caps = [cap.removeprefix("CAP_").lower() for cap in line.group(1).split()]
    assert "dac_override" not in caps and "dac_read_search" not in caps
    return ",".join(["-all", *(f"+{cap}" for cap in caps)])


@pytest.fixture
def unit_files():
    """(python, config in root's 0755 folder, cache in nobody's 0750 state folder)."""
    need_root()
    need_tool("setpriv")
    python = asuser.python()
    user = pwd.getpwnam(asuser.USER)
    base = Path(tempfile.mkdtemp(prefix="ndpmon-unit-", dir="/tmp"))
    base.chmod(0o755)
    etc, state = base / "etc", base / "state"
    etc.mkdir(mode=0o755)
    (etc / "config.xml").write_text(CONFIG.format(plugins="", pipe=""))
    state.mkdir(mode=0o750)
    cache = state / "neighbor_list.xml"
    cache.write_text(CACHE)
    cache.chmod(0o640)
    for path in (state, cache):
        os.chown(path, user.pw_uid, user.pw_gid)
    try:
        yield python, etc / "config.xml", cache
    finally:
        shutil.rmtree(base)


def unit_command(python: str, config: Path, cache: Path, *extra: str) -> list[str]:
    """The unit's command line, as root with the unit's capability bounding set."""
    return ["setpriv", f"--bounding-set={bounding_set()}", "--no-new-privs", python, "-m",
            "ndpmon", "-f", str(config), "-g", str(cache), "--user", asuser.USER, *extra]


def test_unit_check_config_reads_the_users_cache(unit_files):
    """ExecStartPre: ``--check-config`` under the unit's capabilities reads the user's cache in
    the user's 0750 state directory, exit 0 (in a namespace that has the probe's interface:
    a missing one is an error, issue 18 item 3)."""
    python, config, cache = unit_files
    need_tool("ip")
    with VethPair() as pair:
        result = subprocess.run(["ip", "netns", "exec", pair.ns["a"],
                                 *unit_command(python, config, cache, "--check-config")],
                                env=asuser.env(), capture_output=True, text=True, cwd="/",
                                timeout=120)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.startswith(f"{config}: OK")


def run_live(pair: VethPair, python: str, config: Path, cache: Path) -> str:
    """The unit's ExecStart in namespace ``a``, until it monitors, then SIGTERM; its log."""
    state = cache.parent
    log = state.parent / "ndpmon.log"
    cmd = ["ip", "netns", "exec", pair.ns["a"],
           *unit_command(python, config, cache, "-q", "-i", MONITOR,
                         "--json-alerts", str(state / "alerts.jsonl"))]
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=asuser.env(), cwd="/")
    try:
        wait_for(lambda: "monitoring on" in log.read_text() or proc.poll() is not None, 60)
        assert proc.poll() is None, log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, log.read_text()
    return log.read_text()


def test_unit_starts_and_keeps_the_users_cache(unit_files):
    """ExecStart: a live run under the unit's capabilities (in a network namespace) reads the
    user's cache, runs, stops on SIGTERM with exit 0 and saves the cache as the user, the
    neighbour it had read still in it; a second start finds alerts.xml and the JSON alerts
    of the first, the user's, and starts as well."""
    python, config, cache = unit_files
    need_tool("ip")
    nobody = pwd.getpwnam(asuser.USER).pw_uid
    with VethPair() as pair:
        run_live(pair, python, config, cache)
        owners = {p.name: p.stat().st_uid for p in cache.parent.iterdir()}
        assert owners == dict.fromkeys(["neighbor_list.xml", "alerts.xml", "alerts.jsonl"],
                                       nobody)
        run_live(pair, python, config, cache)
    assert f">{NEIGHBOR_MAC}</mac>" in cache.read_text()


def test_systemd_analyze_verifies_the_unit(tmp_path):
    """``systemd-analyze verify`` finds nothing wrong in the unit (its ndpmon path pointed at
    this checkout's entry point, which the test cannot install in /opt/ndpmon; no man page
    lookup)."""
    tools = need_tool("systemd-analyze")
    ndpmon = Path(sys.executable).parent / "ndpmon"
    if not ndpmon.exists():
        missing(f"{ndpmon}: the ndpmon entry point is not installed (pip install -e .)")
    unit = tmp_path / "ndpmon.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(ndpmon)))
    result = subprocess.run([tools["systemd-analyze"], "verify", "--man=no", str(unit)],
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
