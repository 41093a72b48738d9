"""End to end: ndpmon's kill_illegitimate_router undoes a rogue router on a real host, and
one attack frame gets one answer at most (issue 15 item 8).

Four throw-away namespaces around a bridge (LAB-NOTES: no STP, no MAC learning, no
multicast snooping, the bridge's own namespace without IPv6): ``host`` (a Linux host
accepting RAs), ``rogue`` (sends a rogue RA from a packet socket; IPv6 off, so its kernel
says nothing), ``mon`` (ndpmon, countermeasures on) and ``lan`` (the bridge). A rogue RA
makes the host install a default route; with ndpmon watching, the rogue's next RA is
answered by an RA with router lifetime 0 from the rogue's addresses, and the host drops
the route (checked with ``ip -6 route`` inside the host's namespace).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import asuser
from needs import need_root, need_tool
from netns import NamespaceGroup, VethPair, ip, run_forked, send_frames
from plugkit import ROGUE_LLA, ROGUE_MAC, ROUTER_MAC, config_text
from services import wait_for

from ndpmon.capture import craft
from ndpmon.config.values import ipv6, mac

MONITOR_MAC = "02:00:00:00:00:0a"


class BridgeLab(NamespaceGroup):
    """Namespaces lan (bridge br0), host, rogue, mon, each joined to br0 by a veth."""

    MEMBERS = ("host", "rogue", "mon")
    NAMES = ("lan", *MEMBERS)

    def sysctl(self, name: str, key: str, value: int) -> None:
        subprocess.run(["ip", "netns", "exec", self.ns[name], "sysctl", "-qw",
                        f"{key}={value}"], check=True, capture_output=True, timeout=30)

    def _create(self) -> None:
        for name in self.ns.values():
            ip("netns", "add", name)
        for name in ("lan", "rogue"):  # silent: no IPv6 of their own
            self.sysctl(name, "net.ipv6.conf.all.disable_ipv6", 1)
            self.sysctl(name, "net.ipv6.conf.default.disable_ipv6", 1)
        self.run("lan", "link", "add", "br0", "type", "bridge", "stp_state", "0",
                 "forward_delay", "0", "ageing_time", "0", "mcast_snooping", "0")
        self.run("lan", "link", "set", "br0", "up")
        for member in self.MEMBERS:
            dev = "mon0" if member == "mon" else "eth0"
            self.run("lan", "link", "add", f"p-{member}", "type", "veth", "peer", "name",
                     dev, "netns", self.ns[member])
            self.run("lan", "link", "set", f"p-{member}", "master", "br0", "up")
            ip("-n", self.ns["lan"], "link", "set", "dev", f"p-{member}", "type",
               "bridge_slave", "learning", "off", "flood", "on", "mcast_flood", "on")
        for key, value in (("accept_ra", 0), ("autoconf", 0), ("accept_redirects", 0),
                           ("accept_dad", 0)):
            self.sysctl("mon", f"net.ipv6.conf.mon0.{key}", value)
        for key, value in (("forwarding", 0), ("accept_ra", 1), ("accept_ra_defrtr", 1),
                           ("accept_dad", 0)):
            self.sysctl("host", f"net.ipv6.conf.eth0.{key}", value)
        self.run("host", "link", "set", "eth0", "up")
        self.run("rogue", "link", "set", "eth0", "up")
        self.run("mon", "link", "set", "mon0", "address", MONITOR_MAC)
        self.run("mon", "link", "set", "mon0", "up")

    def send(self, name: str, frames: list[bytes]) -> None:
        """Put frames on the wire from ``eth0`` of namespace ``name``."""
        import socket

        def go() -> None:
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
                send_frames(sock, "eth0", frames)

        run_forked(go, netns=self.ns[name])

    def default_routes(self) -> str:
        return self.run("host", "-6", "route", "show", "default").stdout.strip()


def rogue_ra(eth_dst: str = "33:33:00:00:00:01") -> bytes:
    from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, ICMPv6ND_RA, IPv6
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=ROGUE_MAC, dst=eth_dst)
                 / IPv6(src=ROGUE_LLA, dst="ff02::1", hlim=255)
                 / ICMPv6ND_RA(chlim=64, routerlifetime=1800)
                 / ICMPv6NDOptSrcLLAddr(lladdr=ROGUE_MAC))


CONFIG = config_text(
    '    <plugin name="countermeasures"/>', probe="mon0",
    probe_body="      <countermeasures_enabled>1</countermeasures_enabled>",
    countermeasures="  <countermeasures>\n    <kill_illegitimate_router>RESPOND"
                    "</kill_illegitimate_router>\n  </countermeasures>",
).replace("<ignor_autoconf>1</ignor_autoconf>", "<ignor_autoconf>0</ignor_autoconf>")


@pytest.mark.parametrize("user", [None, "nobody"])
def test_kill_illegitimate_router_removes_the_hosts_default_route(tmp_path, user, request):
    """Rogue RA -> default route on the host; with ndpmon (kill_illegitimate_router
    RESPOND) watching, the next rogue RA is answered and the host's route is gone.
    ndpmon raises one alert: its own RA is not taken for another rogue. With
    ``--user nobody`` the same, with no capability left (the packet socket is opened
    before the drop)."""
    need_root()
    need_tool("ip", "sysctl")
    python, env, extra = sys.executable, dict(os.environ, PYTHONPATH=str(
        Path(__file__).parents[1])), []
    if user is not None:
        python, env, extra = asuser.python(), asuser.env(), ["--user", user]
        tmp_path, etc = asuser.workdir(), asuser.etcdir()
        request.addfinalizer(lambda: (shutil.rmtree(tmp_path), shutil.rmtree(etc)))
    else:
        etc = tmp_path
    (etc / "config.xml").write_text(CONFIG)
    with BridgeLab() as lab:
        lab.send("rogue", [rogue_ra()])
        wait_for(lambda: "fe80::666" in lab.default_routes(), 20)
        assert "via fe80::666 dev eth0" in lab.default_routes()
        log = tmp_path / "ndpmon.log"
        cmd = ["ip", "netns", "exec", lab.ns["mon"], python, "-m", "ndpmon",
               "-f", str(etc / "config.xml"), "-g", str(tmp_path / "cache.xml"),
               "-i", "mon0", "-v", "--json-alerts", str(tmp_path / "alerts.jsonl"), *extra]
        proc = subprocess.Popen(cmd, stderr=log.open("w"), env=env, cwd="/")
        try:
            wait_for(lambda: "monitoring on mon0" in log.read_text()
                     or proc.poll() is not None, 60)
            assert proc.poll() is None, log.read_text()
            if user is not None:
                caps = Path(f"/proc/{proc.pid}/status").read_text()
                assert "\nCapEff:\t0000000000000000\n" in caps, caps
            # The rogue's next RA goes to the monitor's MAC only: the host's kernel drops
            # it (not its MAC), ndpmon (promiscuous) sees it. A multicast one would also
            # refresh the host's route, and could reach the host after ndpmon's answer.
            lab.send("rogue", [rogue_ra(MONITOR_MAC)])
            try:
                wait_for(lambda: "fe80::666" not in lab.default_routes(), 20)
            except AssertionError:
                pytest.fail(f"route still there: {lab.default_routes()}\n{log.read_text()}")
            presence = craft.presence(mac("00:77:00:00:00:07"), ipv6("fe80::77"),
                                      (1, 3, 5), 0x02)
            lab.send("rogue", [presence])
            wait_for(lambda: "another NDPMon on mon0" in log.read_text(), 20)
            time.sleep(0.5)  # time for our own RA to come back, if it ever did
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    text = log.read_text()
    assert code == 0, text
    assert "countermeasure kill_illegitimate_router on mon0: sent 1 frame" in text
    assert "another NDPMon on mon0: 0:77:0:0:0:7 fe80::77, version 1.3.5 " \
           "(countermeasures)" in text
    reasons = [line for line in (tmp_path / "alerts.jsonl").read_text().splitlines()
               if '"wrong ipv6 router"' in line]
    assert len(reasons) == 1, text


DNS_CONFIG = config_text(
    '    <plugin name="countermeasures"/>', probe="mon0",
    probe_body="      <countermeasures_enabled>1</countermeasures_enabled>",
    countermeasures="  <countermeasures>\n    <propagate_router_dns>RESPOND"
                    "</propagate_router_dns>\n  </countermeasures>")
ETH_P_ALL = 0x0003


def answers_seen(sock, router: bytes) -> list[bytes]:
    """The RAs in the router's name that reached the peer (not those it sent itself),
    read until none came for half a second."""
    import select
    import socket

    found = []
    while select.select([sock], [], [], 0.5)[0]:
        data, addr = sock.recvfrom(65535)
        if (addr[2] != socket.PACKET_OUTGOING and data[6:12] == router
                and data[12:14] == b"\x86\xdd" and data[20] == 58 and data[54] == 134):
            found.append(data)
    return found


def dns_alerts(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_text().count('"reason": "wrong RA DNSSL option"')


def test_one_attack_frame_is_answered_once_and_a_burst_within_the_budget(tmp_path):
    """Live on a veth pair: one 1,510-byte RA spoofing the configured router with 477 bogus
    search domains makes ndpmon (propagate_router_dns RESPOND) send one RA, not 954; then
    50 such frames sent at once get at most the per-target burst plus the rate times the
    time they took to send. The peer counts the RAs in the router's name it receives."""
    import socket

    from plugins.countermeasures import PER_TARGET
    from test_countermeasures import dnssl_attack

    need_root()
    need_tool("ip")
    (tmp_path / "config.xml").write_text(DNS_CONFIG)
    attack, router = dnssl_attack(), mac(ROUTER_MAC)
    with VethPair() as pair:
        with pair.inside("b"):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: count all
        sock.bind(("peer0", 0))
        log, alerts = tmp_path / "ndpmon.log", tmp_path / "alerts.jsonl"
        cmd = ["ip", "netns", "exec", pair.ns["a"], sys.executable, "-m", "ndpmon",
               "-f", str(tmp_path / "config.xml"), "-g", str(tmp_path / "cache.xml"),
               "-i", "mon0", "-v", "--json-alerts", str(alerts)]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
        proc = subprocess.Popen(cmd, stderr=log.open("w"), env=env, cwd="/")
        try:
            wait_for(lambda: "monitoring on mon0" in log.read_text()
                     or proc.poll() is not None, 60)
            assert proc.poll() is None, log.read_text()
            answers_seen(sock, router)  # whatever came before the attack
            pair.send("b", "peer0", [attack])
            wait_for(lambda: dns_alerts(alerts) == 1, 60)  # one alert per RA (issue 16)
            one = answers_seen(sock, router)
            print(f"1 attack frame of {len(attack)} bytes: {len(one)} RAs sent, "
                  f"{sum(map(len, one))} bytes")
            assert len(one) == 1, log.read_text()[-2000:]
            start = time.monotonic()
            pair.send("b", "peer0", [attack] * 50)
            took = time.monotonic() - start
            wait_for(lambda: dns_alerts(alerts) == 51, 120)
            burst = answers_seen(sock, router)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            sock.close()
    print(f"50 attack frames sent in {took * 1000:.1f} ms: {len(burst)} RAs sent")
    assert code == 0, log.read_text()
    assert len(burst) <= min(50, PER_TARGET[0] + int(PER_TARGET[1] * took) + 1)
    assert "rate limit reached" in log.read_text()


@pytest.fixture(autouse=True)
def _no_stray_namespaces():
    """Every namespace this module made is gone afterwards, also after a failure."""
    yield
    left = [n for n in os.listdir("/run/netns") if n.startswith(f"ndpt{os.getpid()}-cm")] \
        if os.path.isdir("/run/netns") else []
    assert left == []
