"""A trunk port, live: ``ndpmon`` on ``mon0`` of a veth pair with 802.1Q-tagged ND (issue 17).

No 8021q module is needed: the peer namespace sends frames crafted with their tags on a
packet socket, and the monitor's kernel hands them to ndpmon's sockets with the tag in
the auxiliary data (ndpmon.capture.live puts it back). The config names VLAN probes only
(``mon0.10``, ``mon0.20``) and no ``-i``: ndpmon must read them from the trunk mon0,
give each VLAN its own routers, cache and alerts, report a VLAN without a probe once,
learn one probe per VLAN, and send what a plugin sends on a VLAN probe tagged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect,
                                ICMPv6ND_RS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo,
                                ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop)
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from needs import need_root, need_tool
from netns import MONITOR, PEER, VethPair
from services import wait_for

from ndpmon.capture.live import LiveCapture
from ndpmon.capture.send import PacketSender
from ndpmon.config import loader as configmod

NDPMON = [sys.executable, "-m", "ndpmon"]
ROUTER, OTHER_ROUTER, ROGUE = "00:00:5e:00:53:01", "00:00:5e:00:53:02", "00:00:5e:00:53:66"
HOST_ON_10, HOST_ON_20 = "00:00:5e:00:53:0a", "00:00:5e:00:53:14"
LLA, HOST_LLA = "fe80::1", "fe80::a"
PREFIX = {10: "2001:db8:10::", 20: "2001:db8:20::"}

SETTINGS = """\
  <settings>
    <actions_high_priority sendmail="0" syslog="{syslog}" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL3</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <delivery syslog_socket="{sock}" dedupe_window="0"/>
  </settings>"""


def router_xml(mac: str, prefix: str) -> str:
    return (f"<router><mac>{mac}</mac><lla>{LLA}</lla><addresses/><prefixes><prefix>"
            f"<address>{prefix}</address><mask>64</mask></prefix></prefixes></router>")


def config_text(probes: dict[str, str], syslog: str = "", sock: str = "/dev/null") -> str:
    """A config with ``probes`` (name -> the routers' XML)."""
    body = "\n".join(f'    <probe name="{name}" type="interface"><routers>{routers}'
                     "</routers></probe>" for name, routers in probes.items())
    settings = SETTINGS.format(syslog="1" if syslog else "0", sock=syslog or sock)
    return (f'<?xml version="1.0"?>\n<config_ndpmon>\n{settings}\n  <probes>\n{body}\n'
            "  </probes>\n</config_ndpmon>\n")


def tag(vid: int | None, payload, src: str) -> bytes:
    eth = Ether(src=src, dst="33:33:00:00:00:01")
    return bytes(eth / Dot1Q(vlan=vid) / payload if vid is not None else eth / payload)


def ra(mac: str, vid: int | None, prefix: str, lla: str = LLA) -> bytes:
    """An RA from ``mac`` at ``lla`` advertising ``prefix``/64, tagged ``vid``."""
    return tag(vid, IPv6(src=lla, dst="ff02::1", hlim=255)
               / ICMPv6ND_RA(chlim=64, routerlifetime=1800)
               / ICMPv6NDOptSrcLLAddr(lladdr=mac)
               / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64), mac)


def na(mac: str, vid: int) -> bytes:
    """An unsolicited NA of fe80::a at ``mac``, tagged ``vid``."""
    return tag(vid, IPv6(src=HOST_LLA, dst="ff02::1", hlim=255)
               / ICMPv6ND_NA(tgt=HOST_LLA, R=0, S=0, O=1)
               / ICMPv6NDOptDstLLAddr(lladdr=mac), mac)


class Monitor:
    """``ndpmon`` (no ``-i``: the config's probes decide) in the monitor namespace."""

    def __init__(self, pair: VethPair, tmp: Path, *args: str) -> None:
        self.log = tmp / f"ndpmon-{time.monotonic_ns()}.log"
        self.json = tmp / f"alerts-{time.monotonic_ns()}.jsonl"
        cmd = ["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f", str(tmp / "config.xml"),
               "-g", str(tmp / "neighbors.xml"), "-q", "--json-alerts", str(self.json),
               *args]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
        self.proc = subprocess.Popen(cmd, stderr=self.log.open("w"), env=env)
        wait_for(lambda: "(pid " in self.stderr() or self.proc.poll() is not None, 60)
        assert self.proc.poll() is None, self.stderr()

    def stderr(self) -> str:
        return self.log.read_text()

    def alerts(self) -> list[tuple[str, str, str]]:
        """(probe, reason, message) of every alert so far."""
        if not self.json.exists():
            return []
        rows = [json.loads(line) for line in self.json.read_text().splitlines()]
        return [(a["probe"], a["reason"], a["message"]) for a in rows]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


@pytest.fixture
def pair():
    need_root()
    need_tool("ip")
    with VethPair() as made:
        yield made


def same_router_on_two_vlans() -> dict[str, str]:
    return {f"{MONITOR}.{vid}": router_xml(ROUTER, PREFIX[vid]) for vid in (10, 20)}


def test_same_router_and_lla_on_two_vlans_raise_no_alert(pair, tmp_path):
    """The same router MAC and link-local address on VLANs 10 and 20 (each VLAN has it
    configured with its prefix), and one link-local address at a MAC on each VLAN: only
    the first sight of each station on each VLAN (``new station``, probes mon0.10 and
    mon0.20, messages starting VLAN<n>:); after a restart, which reads each VLAN's cache
    back, the same traffic raises nothing."""
    (tmp_path / "config.xml").write_text(config_text(same_router_on_two_vlans()))
    traffic = [ra(ROUTER, 10, PREFIX[10]), ra(ROUTER, 20, PREFIX[20]), na(HOST_ON_10, 10),
               na(HOST_ON_20, 20)]
    mon = Monitor(pair, tmp_path)
    assert "probe mon0.10: VLAN 10, read tagged from mon0" in mon.stderr()
    assert "monitoring on mon0 (pid" in mon.stderr()
    pair.send("b", PEER, traffic)
    wait_for(lambda: len(mon.alerts()) >= 4)
    time.sleep(0.5)
    assert mon.stop() == 0, mon.stderr()
    assert sorted((p, r, m.split(" ")[0]) for p, r, m in mon.alerts()) == [
        ("mon0.10", "new station", "VLAN10:"), ("mon0.10", "new station", "VLAN10:"),
        ("mon0.20", "new station", "VLAN20:"), ("mon0.20", "new station", "VLAN20:")]
    cache = (tmp_path / "neighbors.xml").read_text()
    assert 'name="mon0.10"' in cache and 'name="mon0.20"' in cache
    mon = Monitor(pair, tmp_path)
    pair.send("b", PEER, traffic + traffic)
    time.sleep(1.5)
    assert mon.stop() == 0, mon.stderr()
    assert mon.alerts() == []
    assert "frames passed the kernel filter" in mon.stderr()


def test_rogue_ra_on_one_vlan_alerts_on_that_vlan_only(pair, tmp_path, rsyslog):
    """A rogue RA on VLAN 20 is a ``wrong ipv6 router`` of probe mon0.20 alone (in JSON
    and in syslog, with the 802.1Q fork's ``VLAN20: ``); VLAN 30, which has no probe,
    raises one ``unmonitored VLAN`` alert and is counted in the exit log."""
    sock, syslog_out = rsyslog
    (tmp_path / "config.xml").write_text(config_text(same_router_on_two_vlans(), sock))
    mon = Monitor(pair, tmp_path)
    rogue = [ra(ROGUE, vid, PREFIX[20], "fe80::66") for vid in (20, 30, 30)]
    pair.send("b", PEER, [ra(ROUTER, 10, PREFIX[10]), *rogue])
    wait_for(lambda: len(mon.alerts()) >= 3)
    message = "VLAN20: wrong ipv6 router 0:0:5e:0:53:66 fe80:0:0:0:0:0:0:66"
    wait_for(lambda: syslog_out.exists() and message in syslog_out.read_text())
    time.sleep(0.5)
    assert mon.stop() == 0, mon.stderr()
    assert sorted(mon.alerts()) == [
        ("mon0", "unmonitored VLAN", 'no probe for VLAN 30 on mon0: its ND messages are not '
         'checked; add <probe name="mon0.30"> to monitor them'),
        ("mon0.10", "new station", "VLAN10: new station 0:0:5e:0:53:1 fe80::1"),
        ("mon0.20", "wrong ipv6 router", message)]
    assert "mon0: 2 ND frames of VLAN 30 were not checked: no probe mon0.30" in mon.stderr()


def test_learning_on_a_trunk_writes_a_probe_per_vlan(pair, tmp_path):
    """``-L`` on trunk mon0 (probe mon0, no router) with one router on VLAN 10 and another
    on VLAN 20 (the same link-local address) writes probes mon0.10 and mon0.20, each with
    its router; the config passes --check-config, and monitoring with it then finds VLAN
    20's router on VLAN 10 (probe mon0.10) and nothing else."""
    cfg = tmp_path / "config.xml"
    cfg.write_text(config_text({MONITOR: ""}))
    mon = Monitor(pair, tmp_path, "-L")
    pair.send("b", PEER, [ra(ROUTER, 10, PREFIX[10]), ra(OTHER_ROUTER, 20, PREFIX[20])])
    wait_for(lambda: "new probe mon0.20" in mon.stderr())
    assert mon.stop() == 0, mon.stderr()
    config = configmod.load(str(cfg))
    assert [p.name for p in config.probes] == [MONITOR, "mon0.10", "mon0.20"]
    routers = {name: [(r.mac.hex(), r.prefixes[0].address.hex()[:12])
                      for r in config.probe(name).routers] for name in ("mon0.10", "mon0.20")}
    assert routers == {"mon0.10": [("00005e005301", "20010db80010")],
                       "mon0.20": [("00005e005302", "20010db80020")]}
    check = subprocess.run(["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f", str(cfg),
                            "-g", str(tmp_path / "neighbors.xml"), "--check-config"],
                           capture_output=True, text=True)  # where mon0 is (issue 18)
    assert check.returncode == 0, check.stderr
    mon = Monitor(pair, tmp_path)
    pair.send("b", PEER, [ra(OTHER_ROUTER, 20, PREFIX[20]), ra(OTHER_ROUTER, 10, PREFIX[20]),
                          ra(ROUTER, 10, PREFIX[10])])
    wait_for(lambda: mon.alerts())
    time.sleep(0.5)
    assert mon.stop() == 0, mon.stderr()
    assert [(p, r) for p, r, _m in mon.alerts()] == [("mon0.10", "wrong router mac")]


def tagged_nd(vid: int) -> dict[str, tuple[bytes, str]]:
    """One tagged frame of each kind, and the lane it must reach."""
    src = "00:00:5e:00:53:bb"
    ip = IPv6(src="fe80::bb", dst="ff02::1", hlim=255)
    return {name: (tag(vid, payload, src), lane) for name, (payload, lane) in {
        "RA": (ip / ICMPv6ND_RA(), "router"),
        "Redirect": (ip / ICMPv6ND_Redirect(tgt="fe80::1", dst="2001:db8::5"), "router"),
        "RS": (ip / ICMPv6ND_RS(), "neighbor"),
        "NS": (ip / ICMPv6ND_NS(tgt="fe80::1"), "neighbor"),
        "NA": (ip / ICMPv6ND_NA(tgt="fe80::bb"), "neighbor"),
        "NA behind hop-by-hop": (ip / IPv6ExtHdrHopByHop() / ICMPv6ND_NA(tgt="fe80::bb"),
                                 "extension"),
        "fragment": (ip / IPv6ExtHdrFragment(id=1, offset=2, nh=58) / Raw(b"\0" * 16),
                     "extension"),
    }.items()}


def test_tagged_nd_reaches_every_lane(pair):
    """The kernel filter of each lane passes tagged ND as it passes untagged ND: RA and
    Redirect (router), RS/NS/NA (neighbor), behind extension headers and fragments
    (extension), unchanged and tagged (a guard: the filter needed no change)."""
    frames = tagged_nd(10)
    with pair.inside("a"):
        capture = LiveCapture([MONITOR])
        capture.open()
    with capture:
        pair.send("b", PEER, [frame for frame, _lane in frames.values()])
        got: list[bytes] = []
        deadline = time.monotonic() + 5
        while len(got) < len(frames) and time.monotonic() < deadline:
            got += [f for _i, batch in capture.read(0.1) for _t, f in batch]
        lanes = {lane: received for lane, (received, _d) in capture.lane_stats()[MONITOR].items()}
    assert sorted(got) == sorted(frame for frame, _lane in frames.values())
    want: dict[str, int] = {}
    for _frame, lane in frames.values():
        want[lane] = want.get(lane, 0) + 1
    assert lanes == want


def test_a_frame_sent_on_a_trunk_vlan_probe_goes_out_tagged(pair):
    """What a plugin sends on VLAN probe mon0.10 (no such interface: read from the trunk)
    leaves mon0 with an 802.1Q tag for VLAN 10 (countermeasures on a trunk's VLANs)."""
    frame = tag(None, IPv6(src="fe80::cc", dst="ff02::1", hlim=255)
                / ICMPv6ND_NA(tgt="fe80::cc"), "00:00:5e:00:53:cc")
    with pair.inside("b"):
        capture = LiveCapture([PEER])
        capture.open()
    with capture:
        with pair.inside("a"):
            sender = PacketSender()
            sender.open()
        try:
            sender.send("mon0.10", frame)
        finally:
            sender.close()
        got: list[bytes] = []
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:  # not mon0's own MLD reports
            got += [f for _i, batch in capture.read(0.1) for _t, f in batch
                    if f[6:12] == frame[6:12]]
    assert got == [frame[:12] + bytes.fromhex("8100000a") + frame[12:]]
