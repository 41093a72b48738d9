"""End to end: the ``ndpmon`` command capturing live in a network namespace.

ndpmon runs as a real process (``ip netns exec``) on ``mon0`` of a veth pair; the test
puts crafted ND frames on the wire from ``peer0``. The alerts must arrive in a private
rsyslogd, in a real SMTP server (aiosmtpd, run inside the monitor's namespace) and in a
pipe program; a learning run must write a config the next run monitors with; SIGHUP must
swap in a good config and keep the old one on a broken one; a kill -9 during a save must
leave a valid file.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from needs import need_root, need_tool
from netns import MONITOR, PEER, VethPair
from services import wait_for

from ndpmon.config import loader as configmod

NDPMON = [sys.executable, "-m", "ndpmon"]
ROUTER_MAC, ROUTER_LLA = "00:11:22:33:44:55", "fe80::1"
ROGUE_MAC, ROGUE_LLA = "00:66:66:66:66:66", "fe80::666"

SETTINGS = """\
  <settings>
    <!-- the admin's comment: must survive learning -->
    <actions_high_priority sendmail="1" syslog="1" exec_pipe_program="{pipe}"/>
    <actions_low_priority sendmail="0" syslog="1" exec_pipe_program=""/>
    <admin_mail>admin@example.net</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL3</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <delivery mail_relay="127.0.0.1:{smtp}" syslog_socket="{sock}" dedupe_window="0"/>
  </settings>"""

ROUTER = f"""\
        <router>
          <mac>{ROUTER_MAC}</mac>
          <lla>{ROUTER_LLA}</lla>
          <addresses/>
          <prefixes>
            <prefix><address>2001:db8:1::</address><mask>64</mask></prefix>
          </prefixes>
          <rdnss><nameserver lifetime="900">2001:db8:1::53</nameserver></rdnss>
          <dnssl><domain lifetime="900">example.net</domain></dnssl>
          <routes>
            <route><address>2001:db8:2::</address><mask>48</mask>
              <param_pref_reserved>0</param_pref_reserved><lifetime>1800</lifetime></route>
          </routes>
        </router>"""


def config_text(env: dict, routers: str = "") -> str:
    return (f'<?xml version="1.0"?>\n<config_ndpmon>\n{SETTINGS.format(**env)}\n'
            f'  <probes>\n    <probe name="{MONITOR}" type="interface">\n      <routers>\n'
            f'{routers}\n      </routers>\n    </probe>\n  </probes>\n</config_ndpmon>\n')


def ra(mac: str, lla: str, prefix: str = "2001:db8:1::") -> bytes:
    """A Router Advertisement with a prefix, an MTU, RDNSS, DNSSL and a route."""
    from scapy.layers.inet6 import (ICMPv6NDOptDNSSL, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
                                    ICMPv6NDOptRDNSS, ICMPv6NDOptRouteInfo,
                                    ICMPv6NDOptSrcLLAddr, ICMPv6ND_RA, IPv6)
    from scapy.layers.l2 import Ether

    pkt = (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=lla, dst="ff02::1", hlim=255)
           / ICMPv6ND_RA(chlim=64, routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=mac)
           / ICMPv6NDOptMTU(mtu=1500)
           / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, validlifetime=86400,
                                   preferredlifetime=14400)
           / ICMPv6NDOptRDNSS(dns=["2001:db8:1::53"], lifetime=900)
           / ICMPv6NDOptDNSSL(searchlist=["example.net."], lifetime=900)
           / ICMPv6NDOptRouteInfo(prefix="2001:db8:2::", plen=48, rtlifetime=1800))
    return bytes(pkt)


def na(mac: str, addr: str) -> bytes:
    """An unsolicited NA announcing ``addr`` at ``mac``."""
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr, ICMPv6ND_NA, IPv6
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=mac, dst="33:33:00:00:00:01")
                 / IPv6(src=addr, dst="ff02::1", hlim=255)
                 / ICMPv6ND_NA(tgt=addr, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac))


class Ndpmon:
    """One ``ndpmon`` process in the monitor namespace, with its stderr collected."""

    def __init__(self, pair: VethPair, tmp: Path, *args: str) -> None:
        self.log = tmp / f"ndpmon-{time.monotonic_ns()}.log"
        self.json = tmp / "alerts.jsonl"
        cmd = ["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f", str(tmp / "config.xml"),
               "-g", str(tmp / "neighbors.xml"), "-i", MONITOR, "-q",
               "--json-alerts", str(self.json), *args]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
        self.proc = subprocess.Popen(cmd, stderr=self.log.open("w"), env=env)
        # "monitoring on mon0 (pid N)" comes once signals are handled (the sysctl line
        # "ignor_autoconf: ... on mon0" comes before: a SIGUSR1 then killed ndpmon)
        wait_for(lambda: "(pid " in self.stderr() or self.proc.poll() is not None, 60)
        assert self.proc.poll() is None, self.stderr()

    def stderr(self) -> str:
        return self.log.read_text()

    def alerts(self) -> list[dict]:
        if not self.json.exists():
            return []
        return [json.loads(line) for line in self.json.read_text().splitlines()]

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        return code


@pytest.fixture
def lab(tmp_path, rsyslog):
    """The namespaces, rsyslogd, an SMTP server in the monitor's namespace, a pipe."""
    need_root()
    need_tool("ip")
    sock, syslog_out = rsyslog
    port = random.randrange(20000, 30000)
    pipe_out = tmp_path / "pipe"
    pipe = tmp_path / "pipe.py"
    pipe.write_text("import os, sys\n"
                    f"with open({str(pipe_out)!r}, 'a') as f:\n"
                    "    f.write(os.environ['NDPMON_REASON'] + '|' + sys.stdin.read())\n")
    env = {"pipe": f"{sys.executable} {pipe}", "smtp": port, "sock": sock}
    maildir = tmp_path / "maildir"
    with VethPair() as pair:
        pair.ip("a", "link", "set", "lo", "up")
        smtp = subprocess.Popen(
            ["ip", "netns", "exec", pair.ns["a"], sys.executable, "-m", "aiosmtpd", "-n",
             "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield pair, env, syslog_out, pipe_out, maildir
        finally:
            smtp.terminate()
            smtp.wait(10)


def text(path: Path) -> str:
    """A file's text, or "" while the daemon writing it has not created it yet."""
    return path.read_text() if path.exists() else ""


def mails(maildir: Path) -> list[str]:
    new = maildir / "new"
    return [p.read_text() for p in sorted(new.iterdir())] if new.exists() else []


def test_alerts_reach_syslog_mail_and_pipe(lab, tmp_path):
    """On a veth pair a rogue RA reaches the pipe program (NDPMon's body), the mail (subject
    ``NDPMon_Security_Alert: <message>``) and rsyslog (NDPMon's ident, facility and spaced
    message, start and stop notices)."""
    pair, env, syslog_out, pipe_out, maildir = lab
    (tmp_path / "config.xml").write_text(config_text(env, ROUTER))
    mon = Ndpmon(pair, tmp_path)
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA), ra(ROGUE_MAC, ROGUE_LLA)])
    wait_for(lambda: any(a["reason"] == "wrong ipv6 router" for a in mon.alerts()))
    message = "wrong ipv6 router 0:66:66:66:66:66 fe80:0:0:0:0:0:0:666"
    wait_for(lambda: pipe_out.exists() and message.split()[0] in pipe_out.read_text())
    wait_for(lambda: mails(maildir))
    wait_for(lambda: message in text(syslog_out))
    assert mon.stop() == 0
    assert [a["reason"] for a in mon.alerts()] == ["new station", "wrong ipv6 router"]
    assert pipe_out.read_text() == ("wrong ipv6 router|Reason:  wrong ipv6 router\n"
                                    "MAC:     0:66:66:66:66:66\nMAC2:    n/a\n"
                                    "IPv6:    fe80::666\nDNS:     n/a\n\n")
    (mail,) = mails(maildir)
    mail = email.message_from_string(mail, policy=email.policy.default)
    assert mail["Subject"] == f"NDPMon_Security_Alert: {message}"
    assert mail["To"] == "admin@example.net"
    assert mail.get_content().startswith("Reason:  wrong ipv6 router\nMAC:     0:66")
    wait_for(lambda: "NDPMon stopped." in syslog_out.read_text())
    lines = [ln for ln in syslog_out.read_text().splitlines() if "NDPMon[" in ln]
    assert lines[0].startswith("local3.notice|") and "NDPMon started by user 0" in lines[0]
    assert lines[1].startswith("local3.info|") and "|  new station 0:11:22:33:44:55" in lines[1]
    assert lines[2] == f"local3.info|{lines[2].split('|')[1]}|  {message} |"
    assert lines[3].startswith("local3.notice|") and "NDPMon stopped." in lines[3]


def test_learn_then_monitor(lab, tmp_path):
    """Live ``-L`` learns the router (volatile, one prefix, RDNSS) and the neighbour, keeps the
    admin's comment and passes --check-config; monitoring then reports only the RA with an
    unknown prefix (``wrong prefix``)."""
    pair, env, *_ = lab
    cfg = tmp_path / "config.xml"
    cfg.write_text(config_text(env))
    mon = Ndpmon(pair, tmp_path, "-L")
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA), na("00:aa:00:00:00:01", "fe80::a1")])
    time.sleep(1.0)
    assert mon.stop() == 0, mon.stderr()
    assert mon.alerts() == []
    text = cfg.read_text()
    assert "the admin's comment: must survive learning" in text
    (router,) = configmod.load(str(cfg)).probe(MONITOR).routers
    assert router.params_volatile and len(router.prefixes) == 1 and router.rdnss
    assert "0:aa:0:0:0:1" in (tmp_path / "neighbors.xml").read_text()
    check = subprocess.run(["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f", str(cfg), "-g",
                            str(tmp_path / "neighbors.xml"), "--check-config"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    mon = Ndpmon(pair, tmp_path)
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA),
                          ra(ROUTER_MAC, ROUTER_LLA, prefix="2001:db8:bad::")])
    wait_for(lambda: mon.alerts())
    time.sleep(0.5)
    assert mon.stop() == 0
    assert [a["reason"] for a in mon.alerts()] == ["wrong prefix"]


def test_sighup_good_and_bad_config(lab, tmp_path):
    """SIGHUP swaps in a valid config (the router is no longer rogue) and keeps the running one when
    the new file is broken, logging why."""
    pair, env, *_ = lab
    cfg = tmp_path / "config.xml"
    cfg.write_text(config_text(env))
    mon = Ndpmon(pair, tmp_path)
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA)])
    wait_for(lambda: len(mon.alerts()) == 1)
    cfg.write_text(config_text(env, ROUTER))
    mon.signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP: reloaded" in mon.stderr())
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA)])
    cfg.write_text(config_text(env, ROUTER).replace(ROUTER_MAC, "zz"))
    mon.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running config" in mon.stderr())
    assert "<mac>: not a MAC address: 'zz'" in mon.stderr()
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA), ra(ROGUE_MAC, ROGUE_LLA)])
    wait_for(lambda: len(mon.alerts()) >= 3)
    time.sleep(0.5)
    assert mon.stop() == 0
    router = ROUTER_MAC.replace("00", "0")
    # unknown router; once configured it only enters the neighbour cache; the rogue stays
    assert [(a["reason"], a["mac"]) for a in mon.alerts()] == [
        ("wrong ipv6 router", router), ("new station", router),
        ("wrong ipv6 router", "0:66:66:66:66:66")]


def _loads(path: Path, pair: VethPair) -> int:
    """Number of neighbours in a cache file that ndpmon --check-config accepts (in the monitor's
    namespace: it checks that the probe's interface exists)."""
    check = subprocess.run(["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f",
                            str(path.parent / "config.xml"), "-g", str(path), "--check-config"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    return path.read_text().count("<neighbor>")


def test_kill_9_during_save_leaves_a_valid_cache(lab, tmp_path):
    """SIGUSR1 starts a save; SIGKILL lands at a random moment of it, five times."""
    pair, env, *_ = lab
    (tmp_path / "config.xml").write_text(config_text(env, ROUTER))
    rng = random.Random(7)
    hosts = [na(f"00:bb:00:00:{i >> 8:02x}:{i & 255:02x}", f"fe80::b:{i:x}")
             for i in range(3000)]
    cache, before = tmp_path / "neighbors.xml", 0
    for round_ in range(5):
        mon = Ndpmon(pair, tmp_path)
        pair.send("b", PEER, hosts[round_ * 600:(round_ + 1) * 600])
        time.sleep(0.5)
        mon.signal(signal.SIGUSR1)
        time.sleep(rng.uniform(0.0, 0.3))
        mon.proc.kill()
        mon.proc.wait(30)
        count = _loads(cache, pair) if cache.exists() else 0  # parses: the old file or a new one
        # a new save holds what was handled by then (on a loaded machine not all 600 yet)
        assert before <= count <= before + 600
        before = count
    mon = Ndpmon(pair, tmp_path)  # a new run's first save removes a killed run's leftovers
    mon.signal(signal.SIGUSR1)
    wait_for(lambda: not list(tmp_path.glob(".neighbors.xml.*.tmp")))
    assert mon.stop() == 0 and _loads(cache, pair) == before


def test_daemon_detaches_writes_pidfile_and_logs_to_syslog(lab, tmp_path):
    """-D: errors still reach the terminal; then a pid file, the log in syslog, SIGTERM."""
    pair, env, syslog_out, *_ = lab
    cfg, pidfile = tmp_path / "config.xml", tmp_path / "ndpmon.pid"
    # relative paths, as an admin types them: the daemon works in /
    base = ["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f", "config.xml",
            "-g", "neighbors.xml", "--json-alerts", "a.jsonl", "--pidfile", "ndpmon.pid", "-D"]
    env_run = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))

    def run(*more: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *more], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path, env=env_run)

    cfg.write_text(config_text(env, ROUTER).replace(ROUTER_MAC, "zz"))
    broken = run("-i", MONITOR)
    assert broken.returncode == 2 and "not a MAC address: 'zz'" in broken.stderr
    cfg.write_text(config_text(env, ROUTER))
    missing = run("-i", "nosuch0")
    assert (missing.returncode, missing.stderr) == (2, "ndpmon: nosuch0: no such interface\n")
    started = run("-i", MONITOR)
    assert (started.returncode, started.stderr) == (0, "")
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
    pid = int(pidfile.read_text())
    try:
        wait_for(lambda: f"ndpmon[{pid}]:| monitoring on mon0" in text(syslog_out))
        again = run("-i", MONITOR)
        assert again.returncode == 2
        assert f"ndpmon is already running (pid {pid})" in again.stderr
        pair.send("b", PEER, [ra(ROGUE_MAC, ROGUE_LLA)])
        wait_for(lambda: "wrong ipv6 router" in text(tmp_path / "a.jsonl"))
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"))
    assert not pidfile.exists()
    assert (tmp_path / "neighbors.xml").exists()  # written at exit, where -g said
    wait_for(lambda: f"ndpmon[{pid}]:| stopped by SIGTERM" in text(syslog_out))


def test_learn_for_ends_learning_by_itself(lab, tmp_path):
    """``--learn-for 3s`` ends the live learning run by itself after 3 s, exit 0, with the router
    written to the config."""
    pair, env, *_ = lab
    cfg = tmp_path / "config.xml"
    cfg.write_text(config_text(env))
    started = time.monotonic()
    mon = Ndpmon(pair, tmp_path, "--learn-for", "3s")
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA)])
    assert mon.proc.wait(60) == 0, mon.stderr()
    assert time.monotonic() - started >= 3
    assert "learning time is over" in mon.stderr()
    assert len(configmod.load(str(cfg)).probe(MONITOR).routers) == 1


def test_two_interfaces_in_one_process_keep_their_own_probes(lab, tmp_path):
    """-i mon0 -i mon1: each interface is its own probe with its own routers and cache."""
    pair, env, *_ = lab
    pair.ip("a", "link", "add", "mon1", "type", "veth", "peer", "name", "peer1", "netns",
            pair.ns["b"])
    pair.quiet_monitor("mon1")
    pair.ip("a", "link", "set", "mon1", "up")
    pair.ip("b", "link", "set", "peer1", "up")
    (tmp_path / "config.xml").write_text(config_text(env, ROUTER))  # mon0 only
    mon = Ndpmon(pair, tmp_path, "-i", "mon1")  # Ndpmon already passes -i mon0
    pair.send("b", PEER, [ra(ROUTER_MAC, ROUTER_LLA)])
    pair.send("b", "peer1", [ra(ROUTER_MAC, ROUTER_LLA)])
    wait_for(lambda: len(mon.alerts()) >= 2)
    time.sleep(0.5)
    assert mon.stop() == 0
    assert sorted((a["probe"], a["reason"]) for a in mon.alerts()) == [
        ("mon0", "new station"), ("mon1", "wrong ipv6 router")]
    cache = (tmp_path / "neighbors.xml").read_text()
    assert 'name="mon0"' in cache and 'name="mon1"' in cache
