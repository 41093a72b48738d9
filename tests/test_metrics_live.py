"""End to end: a real Prometheus scrapes ndpmon's metrics while ndpmon captures live.

ndpmon runs in the background (``-D``) as ``--user nobody`` on ``mon0`` of a veth pair,
serving its metrics on a port below 1024 (so the socket must be bound before root is
dropped, and its thread started after: ndpmon.run.privs refuses to drop root while
threads run). A Prometheus of the test's own (Debian's ``prometheus``: a temporary TSDB,
a generated config, its web port in the namespace; not the system's service) scrapes
it every second: its target must be ``up``, and a rogue RA sent from ``peer0`` must show
in the alerts and lanes Prometheus queried. ``promtool check metrics`` passes on what
the daemon serves.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import asuser
from needs import need_tool
from netns import MONITOR, PEER, VethPair
from services import wait_for
from test_live import ROGUE_LLA, ROGUE_MAC, ROUTER_LLA, ROUTER_MAC, ra

#: Below 1024: only root may bind it (the namespace is the test's: no clash).
METRICS_PORT = 942
PROMETHEUS_PORT = 9090

CONFIG = f"""<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <delivery syslog_socket="{{sock}}"/>
    <metrics listen="127.0.0.1:{METRICS_PORT}"/>
  </settings>
  <probes>
    <probe name="{MONITOR}" type="interface">
      <routers>
        <router><mac>{ROUTER_MAC}</mac><lla>{ROUTER_LLA}</lla><addresses/><prefixes/></router>
      </routers>
    </probe>
  </probes>
</config_ndpmon>
"""

PROMETHEUS_CONFIG = f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ndpmon
    static_configs:
      - targets: ["127.0.0.1:{METRICS_PORT}"]
"""


@pytest.fixture
def lab(tmp_path, rsyslog):
    """(python, nobody's folder, root's folder, veths, syslog output); lo up in ``a``."""
    tools = need_tool("ip", "prometheus", "promtool")
    python = asuser.python()
    work, etc = asuser.workdir(), asuser.etcdir()
    sock, syslog_out = rsyslog
    (etc / "config.xml").write_text(CONFIG.format(sock=sock))
    try:
        with VethPair() as pair:
            pair.ip("a", "link", "set", "lo", "up")
            yield tools, python, work, etc, pair, syslog_out
    finally:
        shutil.rmtree(work)
        shutil.rmtree(etc)


def fetch(pair: VethPair, url: str) -> str:
    """GET ``url`` from inside the monitor's namespace ("" while nothing answers)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with pair.inside("a"), opener.open(url, timeout=5) as reply:
            return reply.read().decode()
    except OSError:
        return ""


def query(pair: VethPair, promql: str) -> list[dict]:
    """Prometheus's instant query result for ``promql``."""
    url = (f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query?"
           + urllib.parse.urlencode({"query": promql}))
    text = fetch(pair, url)
    return json.loads(text)["data"]["result"] if text else []


def value(pair: VethPair, promql: str) -> float:
    result = query(pair, promql)
    return float(result[0]["value"][1]) if result else -1.0


def target_health(pair: VethPair) -> str:
    text = fetch(pair, f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/targets")
    targets = json.loads(text)["data"]["activeTargets"] if text else []
    return targets[0]["health"] if targets else ""


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def uid_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return line.split()[1]
    return ""


def start_daemon(python: str, work: Path, etc: Path, pair: VethPair, syslog_out: Path) -> int:
    """ndpmon -D --user nobody with the metrics config; its pid once it serves them."""
    pidfile = etc / "ndpmon.pid"
    cmd = ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f",
           str(etc / "config.xml"), "-g", str(work / "cache.xml"), "-i", MONITOR, "-q",
           "--json-alerts", str(work / "alerts.jsonl"), "--user", asuser.USER, "-D",
           "--pidfile", str(pidfile)]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=asuser.env(), cwd="/", timeout=60)
    assert done.returncode == 0, done.stderr
    logged = lambda: syslog_out.read_text() if syslog_out.exists() else ""  # noqa: E731
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 30)
    pid = int(pidfile.read_text())
    url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
    wait_for(lambda: "ndpmon_frames_total" in fetch(pair, url) or not alive(pid), 60)
    assert alive(pid), logged()
    return pid


def test_prometheus_scrapes_a_daemon_running_as_nobody(lab, tmp_path):
    tools, python, work, etc, pair, syslog_out = lab
    pid = start_daemon(python, work, etc, pair, syslog_out)
    (tmp_path / "prometheus.yml").write_text(PROMETHEUS_CONFIG)
    prometheus = subprocess.Popen(
        ["ip", "netns", "exec", pair.ns["a"], tools["prometheus"],
         f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"))
    try:
        assert uid_of(pid) == str(pwd.getpwnam(asuser.USER).pw_uid)
        wait_for(lambda: target_health(pair) == "up" or prometheus.poll() is not None, 90)
        assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()
        pair.send("b", PEER, [ra(ROGUE_MAC, ROGUE_LLA)])
        rogue = 'ndpmon_alerts_total{reason="wrong ipv6 router",priority="high"}'
        wait_for(lambda: value(pair, rogue) >= 1, 60)
        lane = 'ndpmon_capture_frames_total{interface="mon0",lane="router"}'
        wait_for(lambda: value(pair, lane) >= 1, 30)
        assert value(pair, 'ndpmon_interface_up{interface="mon0"}') == 1
        assert value(pair, 'process_resident_memory_bytes{job="ndpmon"}') > 0
        served = fetch(pair, f"http://127.0.0.1:{METRICS_PORT}/metrics")
        check = subprocess.run([tools["promtool"], "check", "metrics"], input=served,
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        prometheus.terminate()
        prometheus.wait(30)
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not alive(pid), 60)
    assert "metrics: http://127.0.0.1:942/metrics" in syslog_out.read_text()
