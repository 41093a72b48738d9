"""VLAN trunk ports: a probe per VLAN (``lan0.10``), each with its own state (issue 17 item 5).

The names (ndpmon.config.vlans), how a live run reads a VLAN probe (run/trunk.py), the
engine's routing of tagged frames to the probe of their VLAN, the ``unmonitored VLAN``
alert, learning one probe per VLAN and writing them into the config, a SIGHUP adding a
VLAN probe, and a replay of a trunk capture through the command line with the neighbour
cache written and read back per VLAN. The samples ``vlan*`` (tests/data/make_pcaps.py)
pin the alerts frame by frame; tests/test_vlans_live.py runs it all on a veth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.layers.inet6 import (ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo,
                                ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrFragment)
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from ndpmon.checks import reasons
from ndpmon.commands.main import main
from ndpmon.config import exchange, loader as configmod, vlans
from ndpmon.config.model import Config, Prefix, Probe, Router
from ndpmon.config.values import ipv6, mac
from ndpmon.config.writeback import write_learned
from ndpmon.engine import engine as enginemod
from ndpmon.engine.engine import Engine
from ndpmon.run.trunk import capture_plan

R1, R2, ROGUE = "00:00:5e:00:53:01", "00:00:5e:00:53:02", "00:00:5e:00:53:66"
LLA1, LLA2 = "fe80::1", "fe80::2"
T0 = 1_700_000_000.0


def ra(router: str, lla: str, vid: int | None, prefix: str = "2001:db8:1::") -> bytes:
    """An RA from ``router`` (MAC) at ``lla`` with one prefix, tagged ``vid``."""
    body = (IPv6(src=lla, dst="ff02::1", hlim=255) / ICMPv6ND_RA(chlim=64, routerlifetime=1800)
            / ICMPv6NDOptSrcLLAddr(lladdr=router)
            / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64))
    eth = Ether(src=router, dst="33:33:00:00:00:01")
    return bytes(eth / Dot1Q(vlan=vid) / body if vid is not None else eth / body)


def ns(host: str, lla: str, vid: int | None) -> bytes:
    """An NS from ``host`` at ``lla`` for fe80::1, tagged ``vid``."""
    body = (IPv6(src=lla, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=LLA1)
            / ICMPv6NDOptSrcLLAddr(lladdr=host))
    eth = Ether(src=host, dst="33:33:ff:00:00:01")
    return bytes(eth / Dot1Q(vlan=vid) / body if vid is not None else eth / body)


def router(mac_text: str, lla: str, prefix: str = "2001:db8:1::") -> Router:
    return Router(mac(mac_text), ipv6(lla), prefixes=(Prefix(ipv6(prefix), 64),))


def trunk(*probes: Probe) -> Config:
    return Config("<test>", probes=probes)


# -- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, parts", [
    ("eth0.105", ("eth0", 105)), ("enp3s0f1.1", ("enp3s0f1", 1)),
    ("br-lan.4094", ("br-lan", 4094)), ("a.b.7", ("a.b", 7)),
    ("eth0", None), ("eth0.", None), (".5", None), ("eth0.0", None), ("eth0.4095", None),
    ("eth0.0105", None), ("eth0.1x", None), ("eth0.+5", None), ("eth0.\u0665", None),
    ("eth0.7.5", None), ("eth0. 5", None),
])
def test_vlan_probe_names(name, parts):
    """IFACE.VID with VID 1..4094 in plain decimal, one level, names a VLAN probe; any
    other name (priority tag 0, reserved 4095, leading zeros, non-ASCII digits, QinQ
    names) is an interface's. The VLAN probe's alerts start with ``VLAN<n>: ``."""
    assert vlans.split(name) == parts
    assert vlans.label(name) == (None if parts is None else f"VLAN{parts[1]}: ")
    if parts is not None:
        assert vlans.join(*parts) == name


@pytest.mark.parametrize("probes, present, plan", [
    (["eth0.10", "eth0.20"], set(), ["eth0"]),  # no sub-interfaces: the trunk
    (["eth0.10"], {"eth0.10"}, ["eth0.10"]),  # a sub-interface alone: read as before
    (["eth0", "eth0.10"], {"eth0.10"}, ["eth0"]),  # the trunk is captured: never twice
    (["eth0.10", "eth0.20"], {"eth0.10"}, ["eth0"]),  # 20 needs the trunk: 10 from it too
    (["eth0.10", "eth1.10", "eth1"], {"eth0.10"}, ["eth0.10", "eth1"]),
    (["wlan0", "eth0.0105"], set(), ["wlan0", "eth0.0105"]),  # not VLAN names
])
def test_capture_plan(probes, present, plan):
    """A VLAN probe is read from its trunk when the trunk is captured anyway or it has no
    interface of its own, else from its sub-interface; each interface is captured once."""
    assert capture_plan(probes, present.__contains__) == plan


# -- the engine -----------------------------------------------------------------------------

def test_each_vlan_has_its_own_routers_and_alerts_name_it():
    """The same router (MAC, LLA) on VLANs 10 and 20 with a prefix each: its RAs raise
    nothing; its VLAN 10 prefix on VLAN 20 is a ``wrong prefix`` of probe lan0.20 alone,
    whose message, JSON and fields name VLAN 20."""
    engine = Engine(trunk(Probe("lan0.10", routers=(router(R1, LLA1),)),
                          Probe("lan0.20", routers=(router(R1, LLA1, "2001:db8:20::"),))))
    quiet = [ra(R1, LLA1, 10), ra(R1, LLA1, 20, "2001:db8:20::")]
    got = [a for i, f in enumerate(quiet) for a in engine.handle("lan0", T0 + i, f)]
    assert [(a.probe, a.reason) for a in got] == [("lan0.10", reasons.NEW_STATION),
                                                 ("lan0.20", reasons.NEW_STATION)]
    (alert,) = engine.handle("lan0", T0 + 5, ra(R1, LLA1, 20))
    assert (alert.probe, alert.reason) == ("lan0.20", reasons.WRONG_PREFIX)
    assert alert.message.startswith("VLAN20: wrong prefix ")
    out = alert.to_json()
    assert (out["probe"], out["fields"]["vlan"]) == ("lan0.20", 20)
    assert out["message"].startswith("VLAN20: wrong prefix")
    assert engine.handle("lan0", T0 + 6, ra(R1, LLA1, 10)) == []


def test_a_vlan_without_probe_is_reported_once_and_counted():
    """Untagged frames on a trunk with VLAN probes only, and VLAN 30 (no probe): one
    ``unmonitored VLAN`` alert each, naming the probe to add; the frames (a rogue RA, a
    fragment) are counted, never checked."""
    engine = Engine(trunk(Probe("lan0.10", routers=(router(R1, LLA1),))))
    frames = [ns(R2, LLA2, None), ns(R2, LLA2, 30), ra(ROGUE, "fe80::66", 30),
              ns(R2, LLA2, 30)]
    got = [a for i, f in enumerate(frames) for a in engine.handle("lan0", T0 + i, f)]
    assert [(a.probe, a.reason, a.priority.label, a.extra["vlan"]) for a in got] == [
        ("lan0", reasons.UNMONITORED_VLAN, "low", None),
        ("lan0", reasons.UNMONITORED_VLAN, "low", 30)]
    assert got[1].message == ('no probe for VLAN 30 on lan0: its ND messages are not '
                              'checked; add <probe name="lan0.30"> to monitor them')
    assert got[0].message.startswith("no probe for the untagged frames on lan0: their ")
    later = IPv6(src=LLA2, dst="ff02::1") / IPv6ExtHdrFragment(id=7, offset=3, nh=58) \
        / Raw(b"\0" * 24)
    frag = bytes(Ether(src=R2, dst="33:33:00:00:00:01") / Dot1Q(vlan=40) / later)
    (alert,) = engine.handle("lan0", T0 + 9, frag)
    assert (alert.reason, alert.extra["vlan"]) == (reasons.UNMONITORED_VLAN, 40)
    assert engine.unmonitored == {("lan0", None): 1, ("lan0", 30): 3, ("lan0", 40): 1}
    assert engine.reasons[reasons.UNMONITORED_VLAN] == 3


def test_unmonitored_alerts_are_bounded():
    """Frames of 4094 VLANs without a probe raise MAX_UNMONITORED_ALERTS alerts, then are
    only counted."""
    engine = Engine(trunk(Probe("lan0")))
    alerts = [a for vid in range(1, 4095) for a in engine.handle("lan0", T0, ns(R2, LLA2, vid))]
    assert {a.reason for a in alerts} == {reasons.UNMONITORED_VLAN}
    assert len(alerts) == enginemod.MAX_UNMONITORED_ALERTS
    assert len(engine.unmonitored) == 4094


def test_sighup_adds_a_vlan_probe_that_is_fed_at_once():
    """A VLAN probe new in a reloaded config gets the trunk's frames of its VLAN from the
    next frame on (no restart: the trunk is captured already)."""
    engine = Engine(trunk(Probe("lan0")))
    assert engine.handle("lan0", T0, ra(ROGUE, "fe80::66", 30))[0].reason == \
        reasons.UNMONITORED_VLAN
    engine.reload(trunk(Probe("lan0"), Probe("lan0.30", routers=(router(R1, LLA1),))))
    (alert,) = engine.handle("lan0", T0 + 1, ra(ROGUE, "fe80::66", 30))
    assert (alert.probe, alert.reason) == ("lan0.30", reasons.WRONG_IPV6_ROUTER)


# -- learning -------------------------------------------------------------------------------

CONFIG = """\
<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>1</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
  </settings>
  <probes>
{probes}
  </probes>
</config_ndpmon>
"""


def probe_xml(name: str, routers: tuple[tuple[str, str, str], ...] = ()) -> str:
    """A ``<probe>`` with routers ``(mac, lla, prefix)``."""
    body = "".join(
        f"<router><mac>{m}</mac><lla>{lla}</lla><addresses/><prefixes><prefix>"
        f"<address>{prefix}</address><mask>64</mask></prefix></prefixes></router>"
        for m, lla, prefix in routers)
    return f'    <probe name="{name}" type="interface"><routers>{body}</routers></probe>'


def test_learning_on_a_trunk_writes_one_probe_per_vlan(tmp_path):
    """-L on trunk lan0 with router R1 on VLAN 10 and R2 on VLAN 20 (the same link-local
    address): probes lan0.10 and lan0.20 are made, each learns its router alone, and
    both are written into the config (also through root's writer hand-over, whose names
    are checked); a VLAN without a router is not written."""
    path = tmp_path / "config.xml"
    path.write_text(CONFIG.format(probes=probe_xml("lan0")))
    config = configmod.load(str(path))
    engine = Engine(config, learning=True)
    for i, frame in enumerate([ra(R1, LLA1, 10), ra(R2, LLA1, 20, "2001:db8:20::"),
                               ns(R2, LLA2, 30), ra(R1, LLA1, 10)]):
        assert engine.handle("lan0", T0 + i, frame) == []
    assert list(engine.learned()) == ["lan0", "lan0.10", "lan0.20", "lan0.30"]
    assert engine.new_probes == ["lan0.10", "lan0.20", "lan0.30"]
    learned = exchange.loads(exchange.dumps(engine.learned()))
    assert [r.mac for r in learned["lan0.10"]] == [mac(R1)]
    assert [r.mac for r in learned["lan0.20"]] == [mac(R2)]
    write_learned(str(path), learned, config)
    again = configmod.load(str(path))
    assert [p.name for p in again.probes] == ["lan0", "lan0.10", "lan0.20"]
    (r20,) = again.probe("lan0.20").routers
    assert (r20.mac, r20.prefixes[0].address) == (mac(R2), ipv6("2001:db8:20::"))
    monitor = Engine(again)
    (alert,) = monitor.handle("lan0", T0, ra(R2, LLA1, 10))  # VLAN 20's router on 10
    assert (alert.probe, alert.reason) == ("lan0.10", reasons.WRONG_ROUTER_MAC)


def test_learning_makes_a_bounded_number_of_vlan_probes():
    """Learning makes at most MAX_NEW_PROBES probes, which share one probe's neighbour
    cache limit; the frames of further VLANs are counted and one note says so."""
    engine = Engine(trunk(Probe("lan0")), learning=True)
    for vid in range(1, 256 + 11):
        engine.handle("lan0", T0, ns(R2, LLA2, vid))
    assert len(engine.probes) == 256 + 1
    assert enginemod.MAX_NEW_PROBES == 256
    assert len(engine.new_probes) == enginemod.MAX_NEW_PROBES
    assert engine.probes["lan0"].neighbors.max_neighbors == 100_000
    assert {engine.probes[name].neighbors.max_neighbors for name in engine.new_probes} == {
        100_000 // 256}
    assert sum(engine.unmonitored.values()) == 10
    assert sum("no new probe past" in note for note in engine.notes) == 1


# -- a replay of a trunk capture --------------------------------------------------------------

def trunk_replay(tmp_path: Path) -> list[str]:
    """A config with VLAN probes lan0.10 and lan0.20 (the same router on each, a prefix
    each) and a capture of trunk lan0: the routers' RAs, one host (the same MAC and
    link-local address) on VLANs 10, 20 and 30; the arguments to replay it."""
    config = tmp_path / "config.xml"
    config.write_text(CONFIG.format(probes="\n".join(
        [probe_xml("lan0.10", ((R1, LLA1, "2001:db8:1::"),)),
         probe_xml("lan0.20", ((R1, LLA1, "2001:db8:20::"),))])))
    frames = [Ether(ra(R1, LLA1, 10)), Ether(ra(R1, LLA1, 20, "2001:db8:20::")),
              Ether(ns(R2, LLA2, 10)), Ether(ns(R2, LLA2, 20)), Ether(ns(R2, LLA2, 30))]
    for i, pkt in enumerate(frames):
        pkt.time = T0 + i
    wrpcap(str(tmp_path / "trunk.pcap"), frames)
    return ["-q", "-f", str(config), "-g", str(tmp_path / "cache.xml"), "-r",
            str(tmp_path / "trunk.pcap"), "-i", "lan0"]


def test_replay_of_a_trunk_keeps_each_vlans_cache(tmp_path, capsys):
    """``ndpmon -r trunk.pcap -i lan0`` with VLAN probes only: the same host MAC and
    link-local address on VLANs 10 and 20 is a new station on each (messages with
    VLAN<n>:), the cache file holds probes lan0.10 and lan0.20, and a second replay reads
    them back: no alert. VLAN 30's frames are logged as not checked."""
    cache = tmp_path / "cache.xml"
    argv = [*trunk_replay(tmp_path), "--json-alerts", "-"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    got = [json.loads(line) for line in out.splitlines()]
    assert [(a["probe"], a["reason"], a["message"].split(" ")[0]) for a in got] == [
        ("lan0.10", "new station", "VLAN10:"), ("lan0.20", "new station", "VLAN20:"),
        ("lan0.10", "new station", "VLAN10:"), ("lan0.20", "new station", "VLAN20:"),
        ("lan0", "unmonitored VLAN", "no")]
    assert "lan0: 1 ND frames of VLAN 30 were not checked: no probe lan0.30" in err
    text = cache.read_text()
    assert 'name="lan0.10"' in text and 'name="lan0.20"' in text
    assert main(argv) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["reason"] for a in again] == ["unmonitored VLAN"]


def test_report_names_the_vlans(tmp_path, capsys):
    """``ndpmon report`` on what a trunk replay wrote: each alert row names its VLAN probe
    and starts with VLAN<n>:, and the neighbours are listed per VLAN probe."""
    argv = trunk_replay(tmp_path)
    assert main(argv) == 0
    out = tmp_path / "web"
    assert main(["report", "-f", argv[2], "-g", argv[4], "--out", str(out)]) == 0
    capsys.readouterr()
    alerts = (out / "alerts.html").read_text()
    assert "lan0.20" in alerts and "VLAN20: new station 0:0:5e:0:53:2 fe80::2" in alerts
    neighbors = (out / "neighbors.html").read_text()
    assert "lan0.10" in neighbors and "lan0.20" in neighbors


def test_learning_a_trunk_replay_then_monitoring_it(tmp_path, capsys):
    """``-L -r trunk.pcap -i lan0`` with only probe lan0 configured: probes lan0.10 and
    lan0.20 are written with their router; VLAN 30 (a host, no router) is neither
    written nor kept in the cache, so monitoring the same capture with the learned config
    starts, and raises only VLAN 30's ``unmonitored VLAN``."""
    argv = trunk_replay(tmp_path)
    Path(argv[2]).write_text(CONFIG.format(probes=probe_xml("lan0")))
    assert main(["-L", *argv]) == 0
    err = capsys.readouterr().err
    assert 'learning: probe lan0.30 saw ND but no router: not written' in err
    config = configmod.load(argv[2])
    assert [(p.name, len(p.routers)) for p in config.probes] == [
        ("lan0", 0), ("lan0.10", 1), ("lan0.20", 1)]
    assert "lan0.30" not in Path(argv[4]).read_text()
    assert main([*argv, "--json-alerts", "-"]) == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(a["probe"], a["reason"], a["fields"]["vlan"]) for a in alerts] == [
        ("lan0", "unmonitored VLAN", 30)]


def test_replay_names_a_trunk_or_a_probe(tmp_path, capsys):
    """``-r -i NAME``: NAME is a probe, or the trunk of a VLAN probe; anything else is the
    one-line error it was. Without -i the frames are the first probe's, lan0.10: a tagged
    frame's alert says how to replay a trunk's capture."""
    config = tmp_path / "config.xml"
    config.write_text(CONFIG.format(probes=probe_xml("lan0.10")))
    wrpcap(str(tmp_path / "x.pcap"), [Ether(ns(R2, LLA2, 10))])
    base = ["-q", "-f", str(config), "-g", str(tmp_path / "c.xml"), "-r",
            str(tmp_path / "x.pcap")]
    assert main([*base, "-i", "lan1"]) == 2
    assert "-i lan1: no such probe" in capsys.readouterr().err
    assert main([*base, "-i", "lan0"]) == 0
    assert main([*base, "--json-alerts", "-"]) == 0  # as captured on lan0.10: no tags
    (alert,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert alert["message"].endswith("lan0.10 is a VLAN probe: a trunk's capture is "
                                     "replayed with -i TRUNK")
