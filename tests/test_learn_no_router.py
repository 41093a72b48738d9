"""Learning that saw no router says so, loudly, and exits 1 (issue 18, item 5).

Monitoring a probe that has no router makes every RA a ``wrong ipv6 router`` alert; a
learning run that saw none (a mirror port that does not get the multicast, the wrong
interface, a bridge with snooping on) ended with ``learning: wrote 0 routers`` and exit
0. Now an error line names the probe and what to check, and the exit code is 1 (the
cache and config are written all the same). Replay learning and live ``--learn-for`` in a
network namespace.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scapy.utils import wrpcap

from needs import need_root, need_tool
from netns import MONITOR, VethPair
from test_live import ROUTER_LLA, ROUTER_MAC, na, ra

from ndpmon.commands.main import main

CONFIG = """<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf></ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
  </settings>
  <probes>
    <probe name="{probe}" type="interface"><routers/></probe>
  </probes>
</config_ndpmon>
"""


def learn_replay(tmp_path: Path, capsys, frames: list[bytes]) -> tuple[int, str]:
    (tmp_path / "config.xml").write_text(CONFIG.format(probe="eth0"))
    pcap = tmp_path / "capture.pcap"
    wrpcap(str(pcap), frames)
    rc = main(["-f", str(tmp_path / "config.xml"), "-g", str(tmp_path / "cache.xml"), "-q",
               "-L", "-r", str(pcap)])
    return rc, capsys.readouterr().err


def test_replay_learning_without_a_router_says_what_to_check_and_exits_1(tmp_path, capsys):
    """Only NAs, no RA: the error names the probe, the frames seen and what to check; exit 1;
    the neighbours are still written to the cache."""
    rc, err = learn_replay(tmp_path, capsys, [na("02:00:00:00:00:09", "fe80::9")] * 3)
    assert rc == 1, err
    assert ("ndpmon: learning: NO ROUTER on eth0 (3 frames seen in all): monitoring it now "
            "would raise 'wrong ipv6 router' for every RA. Check that eth0 is the interface "
            "that sees the LAN, that it gets the LAN's multicast (a switch mirror port") in err
    assert "learning: wrote 0 routers" in err
    assert "2:0:0:0:0:9" in (tmp_path / "cache.xml").read_text()


def test_replay_learning_with_a_router_exits_0(tmp_path, capsys):
    """An RA was seen: no such line, exit 0."""
    rc, err = learn_replay(tmp_path, capsys, [ra(ROUTER_MAC, ROUTER_LLA)])
    assert rc == 0, err
    assert "NO ROUTER" not in err and "learning: wrote 1 router " in err


def test_live_learn_for_without_a_router_exits_1(tmp_path):
    """``--learn-for 2s`` on an interface that sees nothing: the error line, exit 1."""
    need_root()
    need_tool("ip")
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o700)
    (etc / "config.xml").write_text(CONFIG.format(probe=MONITOR))
    with VethPair() as pair:
        result = subprocess.run(
            ["ip", "netns", "exec", pair.ns["a"], sys.executable, "-m", "ndpmon", "-f",
             str(etc / "config.xml"), "-g", str(etc / "cache.xml"), "--learn-for", "2s"],
            capture_output=True, text=True, timeout=120,
            env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1, result.stderr
    assert f"ndpmon: learning: NO ROUTER on {MONITOR} (0 frames seen in all)" in result.stderr
