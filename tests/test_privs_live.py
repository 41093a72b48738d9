"""End to end: ``ndpmon --user nobody`` capturing in a network namespace.

After the drop ndpmon must still capture and alert (a rogue RA), and /proc/PID/status
must show nobody's uid and gid, no capability (CAP_NET_RAW only for a plugin that asks
for it) and NoNewPrivs; what it creates belongs to nobody, mode 0640; SIGHUP reloads
the config as nobody; a directory nobody cannot write stops ndpmon before it captures.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

import asuser
from needs import need_tool
from netns import MONITOR, PEER, VethPair
from services import wait_for
from test_live import ROGUE_LLA, ROGUE_MAC, ROUTER_LLA, ROUTER_MAC, ra

CONFIG = f"""<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program="{{pipe}}"/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
  </settings>
  <probes>
    <probe name="{MONITOR}" type="interface">
      <routers>
        <router><mac>{ROUTER_MAC}</mac><lla>{ROUTER_LLA}</lla><addresses/><prefixes/></router>
      </routers>
    </probe>
  </probes>{{plugins}}
</config_ndpmon>
"""
NEEDY = ("from ndpmon.plugin import Plugin as Base\n\n\n"
         "class Plugin(Base):\n    needs_net_raw = True\n")


@pytest.fixture
def setup():
    """(python, folder owned by nobody, a root-owned config folder outside it, veths)."""
    need_tool("ip")
    python = asuser.python()
    work = asuser.workdir()
    etc = asuser.etcdir()  # root's alone: nobody may read, not change, the config
    try:
        with VethPair() as pair:
            yield python, work, etc, pair
    finally:
        shutil.rmtree(work)
        shutil.rmtree(etc)


def start(python: str, work: Path, etc: Path, pair: VethPair, *extra: str,
          plugins: str = "", pipe: str = "") -> tuple[subprocess.Popen, Path]:
    (etc / "config.xml").write_text(CONFIG.format(plugins=plugins, pipe=pipe))
    log = work / "ndpmon.log"
    cmd = ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f",
           str(etc / "config.xml"), "-g", str(work / "cache.xml"), "-i", MONITOR, "-q",
           "--json-alerts", str(work / "alerts.jsonl"), "--user", asuser.USER, *extra]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), env=asuser.env(), cwd="/")
    wait_for(lambda: "running as user" in log.read_text() or proc.poll() is not None, 60)
    return proc, log


def status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def alerts(work: Path) -> list[str]:
    path = work / "alerts.jsonl"
    text = path.read_text() if path.exists() else ""
    return [json.loads(line)["reason"] for line in text.splitlines()]


def test_captures_and_alerts_as_nobody(setup):
    """With ``--user nobody`` ndpmon captures with no capability left (uids, gids, CapEff, CapBnd,
    NoNewPrivs checked), the pipe runs as nobody, SIGHUP rereads the config, and the files it
    writes are nobody's, mode 0640."""
    python, work, etc, pair = setup
    nobody = pwd.getpwnam(asuser.USER)
    out = work / "pipe.out"
    script = etc / "alert.sh"
    script.write_text(f"#!/bin/sh\nid -u >> {out}\n")
    script.chmod(0o755)
    proc, log = start(python, work, etc, pair, pipe=str(script))
    try:
        assert proc.poll() is None, log.read_text()
        fields = status(proc.pid)
        assert fields["Uid"].split() == [str(nobody.pw_uid)] * 4
        assert fields["Gid"].split() == [str(nobody.pw_gid)] * 4
        assert int(fields["CapEff"], 16) == int(fields["CapPrm"], 16) == 0
        assert int(fields["CapBnd"], 16) == int(fields["CapAmb"], 16) == 0
        assert fields["NoNewPrivs"] == "1"
        pair.send("b", PEER, [ra(ROGUE_MAC, ROGUE_LLA)])
        wait_for(lambda: "wrong ipv6 router" in alerts(work))
        wait_for(lambda: out.exists() and out.read_text())
        assert out.read_text() == f"{nobody.pw_uid}\n"  # the pipe program ran as nobody
        proc.send_signal(signal.SIGHUP)  # read as nobody
        wait_for(lambda: "SIGHUP: reloaded" in log.read_text())
    finally:
        code = stop(proc)
    assert code == 0, log.read_text()
    for name in ("cache.xml", "alerts.xml", "alerts.jsonl"):
        st = (work / name).stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, 0o640), name


def test_countermeasures_need_no_capability_a_plugin_may_ask_for_net_raw(setup):
    """The countermeasures open their packet socket before the drop: nothing kept.
    A plugin with ``needs_net_raw`` keeps CAP_NET_RAW alone."""
    python, work, etc, pair = setup
    plugins = etc / "plugins"
    plugins.mkdir(mode=0o755)
    (plugins / "needy.py").write_text(NEEDY)
    cm = "\n  <plugins><plugin name=\"countermeasures\"/></plugins>"
    proc, log = start(python, work, etc, pair, plugins=cm)
    try:
        assert proc.poll() is None, log.read_text()
        assert int(status(proc.pid)["CapEff"], 16) == 0
    finally:
        assert stop(proc) == 0, log.read_text()
    both = cm.replace("</plugins>", '<plugin name="needy"/></plugins>')
    proc, log = start(python, work, etc, pair, plugins=both)
    try:
        assert proc.poll() is None, log.read_text()
        fields = status(proc.pid)
        assert int(fields["CapEff"], 16) == int(fields["CapPrm"], 16) == 1 << 13
        assert int(fields["CapBnd"], 16) == 1 << 13
        assert "keeping CAP_NET_RAW for plugin needy" in log.read_text()
    finally:
        assert stop(proc) == 0, log.read_text()


def test_directory_not_writable_by_the_user_stops_before_capture(setup):
    """A cache directory the ``--user`` cannot write stops ndpmon before capturing, with the chown
    that fixes it (exit 2)."""
    python, work, etc, pair = setup
    (etc / "config.xml").write_text(CONFIG.format(plugins="", pipe=""))
    result = subprocess.run(
        ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f",
         str(etc / "config.xml"), "-g", str(etc / "cache.xml"), "-i", MONITOR,
         "--user", asuser.USER], env=asuser.env(), capture_output=True, text=True, cwd="/")
    assert result.returncode == 2
    assert result.stderr == (f"ndpmon: {etc / 'cache.xml'}: directory {etc} not writable "
                             f"by user {asuser.USER} (chown {asuser.USER} {etc})\n")


def writable_root_files(pid: int) -> list[str]:
    """The regular files of root's that process ``pid`` holds open for writing."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            st = fd.stat()
            flags = int(Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                        .split("flags:")[1].split()[0], 8)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == 0 and \
                flags & os.O_ACCMODE != os.O_RDONLY:
            found.append(f"fd {fd.name}: {os.readlink(fd)}")
    return found


def test_no_writable_fd_on_roots_files_after_the_drop(setup):
    """Started as root with ``--pidfile`` in root's directory, a dropped ndpmon holds no fd open
    for writing on any file of root's (/proc/PID/fdinfo), the pid file included: its lock is on
    a read-only fd. At exit nobody cannot remove root's pid file: it stays, as the log says."""
    python, work, etc, pair = setup
    run_dir = Path(tempfile.mkdtemp(prefix="ndpmon-run-", dir="/tmp"))
    run_dir.chmod(0o755)
    pidfile = run_dir / "ndpmon.pid"
    log = work / "ndpmon.log"
    log.touch()
    os.chown(log, pwd.getpwnam(asuser.USER).pw_uid, -1)  # the test's own fd 2: not root's
    try:
        proc, log = start(python, work, etc, pair, "--pidfile", str(pidfile))
        try:
            assert proc.poll() is None, log.read_text()
            assert pidfile.read_text() == f"{proc.pid}\n"
            assert writable_root_files(proc.pid) == []
        finally:
            code = stop(proc)
        assert code == 0, log.read_text()
        assert f"{pidfile}: left in place (user nobody cannot remove it)" in log.read_text()
    finally:
        shutil.rmtree(run_dir)
