"""ndpmon as a process on the lab's monitor port: config, start, stop, what it raised.

The lab test and the hand-run ``lab.py try`` both start the real ``ndpmon`` command in
the ``mon`` namespace with a config of their own (no mail, no syslog: alerts go to a JSON
lines file the test reads, and to alerts.xml) and read its peak memory from /proc.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab import ROUTER_ADDR, Lab, LabError, _wait

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <limits max_neighbors="{max_neighbors}" max_addresses="16" rate_window="2"/>
  </settings>
  <probes>
    <probe name="eth0" type="interface">
      <routers/>
    </probe>
  </probes>
</config_ndpmon>
"""


class Ndpmon:
    """One ndpmon process in ``lab``'s monitor namespace, files under ``workdir``."""

    def __init__(self, lab: Lab, workdir: Path, max_neighbors: int = 5000) -> None:
        self.lab, self.workdir = lab, workdir
        self.config, self.cache = workdir / "config_ndpmon.xml", workdir / "neighbor_list.xml"
        self.json = workdir / "alerts.jsonl"
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "ndpmon.log"
        if not self.config.exists():
            self.config.write_text(CONFIG.format(max_neighbors=max_neighbors))

    def start(self, *extra: str) -> None:
        """Start ndpmon; return once it captures (its "on eth0" log line)."""
        self.log.write_text("")
        # every alert in the JSON lines (the lab checks each attack's own alerts; the
        # summarised JSON would fold a later attack's into the window of an earlier one)
        argv = [sys.executable, "-m", "ndpmon", "-f", str(self.config), "-g", str(self.cache),
                "-i", "eth0", "-q", "--json-alerts", str(self.json), "--json-alerts-all",
                *extra]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = self.lab.popen("mon", argv, self.log, env=env)
        _wait(lambda: " on eth0 (pid " in self.stderr() or self.proc.poll() is not None, 60,
              "ndpmon did not start")
        if self.proc.poll() is not None:
            raise LabError(f"ndpmon exited {self.proc.returncode}: {self.stderr()}")

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def peak_rss_kib(self) -> int:
        """VmHWM of the ndpmon process (``ip netns exec`` execs it: same pid)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise LabError("no VmHWM")

    def stop(self) -> int:
        """SIGTERM and wait: ndpmon writes its cache (and learned config) on the way out."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(120)

    def alerts(self) -> list[dict]:
        if not self.json.exists():
            return []
        with self.json.open() as lines:
            return [json.loads(line) for line in lines if line.endswith("\n")]


def try_it(lab: Lab) -> None:
    """``lab.py try``: build the lab, learn for 20 s, then monitor until Ctrl-C."""
    workdir = lab.workdir / "ndpmon"
    print(f"building lab {lab.name} ...", flush=True)
    lab.up(hosts=False)
    mon = None
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        mon = Ndpmon(lab, workdir)
        mon.start("-L", "--learn-for", "20s")
        print(f"learning for 20 s (files in {workdir}) ...", flush=True)
        lab.hosts_up()
        lab.sh("host1", "ping", "-c", "3", "-i", "0.3", ROUTER_ADDR, check=False)
        mon.proc.wait(60)
        mon.start()
        print(f"monitoring; alerts also in {mon.json}. Try, in another terminal:\n"
              f"  ip netns exec {lab.ns('atk')} atk6-fake_router6 eth0 2001:db8:bad::/64\n"
              f"  ip netns exec {lab.ns('atk')} atk6-parasite6 eth0\n"
              "Ctrl-C stops ndpmon and removes the lab.", flush=True)
        seen = 0
        while mon.running():
            time.sleep(1)
            alerts = mon.alerts()
            for alert in alerts[seen:]:
                print(f"{alert['priority']}: {alert['message'].strip()}", flush=True)
            seen = len(alerts)
    except KeyboardInterrupt:
        pass
    finally:
        if mon is not None and mon.running():
            mon.stop()
        lab.down()
