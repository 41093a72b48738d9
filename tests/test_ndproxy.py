"""The ND proxy without a network: npd6.conf, the decision, the NA bytes, the plugin.

The decision (ndpmon.proxy.decide.decide) is a pure function of the decoded NS, the outside
interface, the settings, the inside neighbour caches and the time, so each rule is one
call here. The plugin runs inside an Engine with a fake sender that records frames;
the frames are checked by decoding them with ndpmon's own decoder.
"""

from __future__ import annotations

import logging
import signal
import socket
import textwrap
from pathlib import Path

import pytest
from plugkit import REPO, load

from ndpmon.capture import craft
from ndpmon.commands.main import main
from ndpmon.config.values import ipv6, mac
from ndpmon.codec.decode import decode
from ndpmon.engine.engine import Engine
from ndpmon.errors import ConfigError
from ndpmon.codec.message import NA, NA_OVERRIDE, NA_ROUTER, NA_SOLICITED, NdMessage
from ndpmon.proxy.decide import Answer, Iface, NaBuilder, decide, na_checksum
from ndpmon.proxy.npd6conf import from_params, npd6_prefix, parse_npd6, read_npd6, with_npd6_conf
from ndpmon.engine.plugin import PluginError
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.plugins import load_plugins
from ndpmon.state.neighbors import NeighborCache

UP_MAC, GW_MAC = "02:00:00:00:01:01", "02:00:00:00:02:02"
UP_LLA, GW_LLA, GW_GUA = "fe80::ff:fe00:101", "fe80::ff:fe00:202", "2001:db8:1::2"
IFACE = Iface("out0", mac(GW_MAC), ipv6(GW_LLA), frozenset((ipv6(GW_LLA), ipv6(GW_GUA))),
              (ipv6(GW_GUA),))
T = 1_700_000_000.0


def ns(target: str, *, src: str = UP_LLA, unicast: bool = False, hlim: int = 255,
       slla: bool = True, dst: str | None = None, code: int = 0, chksum=None,
       vlan: int | None = None, eth_src: str = UP_MAC) -> bytes:
    """An NS from upstream: to the solicited-node group, or unicast to the gateway."""
    from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, ICMPv6ND_NS, IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.utils6 import in6_getnsma, in6_getnsmac

    group = in6_getnsma(socket.inet_pton(socket.AF_INET6, target))
    ip_dst, eth_dst = socket.inet_ntop(socket.AF_INET6, group), in6_getnsmac(group)
    if unicast:
        ip_dst, eth_dst = dst or GW_LLA, GW_MAC
    body = ICMPv6ND_NS(tgt=target, code=code)
    if chksum is not None:
        body.cksum = chksum
    pkt = IPv6(src=src, dst=ip_dst, hlim=hlim) / body
    if slla:
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr=eth_src)
    eth = Ether(src=eth_src, dst=eth_dst)
    return bytes(eth / Dot1Q(vlan=vlan) / pkt if vlan else eth / pkt)


def msg(frame: bytes) -> NdMessage:
    decoded = decode(frame)
    assert type(decoded) is NdMessage
    return decoded


SETTINGS = from_params({"prefix": "2001:db8:1::/64", "interface": "out0",
                        "listtype": "black", "addrlist": "2001:db8:1::66 2001:db8:1::f0/124"})


# -- npd6.conf ---------------------------------------------------------------------

@pytest.mark.parametrize("text, addr, length", [
    ("2001:db8:1:", "2001:db8:1::", 48),
    ("2a01:0123:0456:0007:", "2a01:123:456:7::", 64),
    ("2000:11:22:33:8000::", "2000:11:22:33:8000::", 80),
    ("2000:11:22:33:8000::/65", "2000:11:22:33:8000::", 65),
    ("2001:db8:1::/64", "2001:db8:1::", 64),
    ("2001:db8:1:/56", "2001:db8:1::", 56),
    ("0::/0", "::", 0),
])
def test_npd6_prefix_forms(text, addr, length):
    """npd6's prefix: a terminating colon, the implicit length (groups x 16), /mask."""
    assert npd6_prefix(text) == (ipv6(addr), length)


@pytest.mark.parametrize("text", ["2001:db8::1:", "2001:db8:1", "zz:", "2001:db8:1::/129"])
def test_npd6_prefix_refuses(text):
    """No terminating colon, a '::' inside, or a bad address/length: refused."""
    with pytest.raises(ValueError):
        npd6_prefix(text)


SAMPLE_CONF = """\
// npd6 config file
prefix=2001:db8:1:
interface = out0
prefix = 2001:db8:7::/64
interface = out1   // the second link
ralogging = off
listtype = white
addrlist = 2001:db8:1::10
addrlist = 2001:db8:7::/120
listlogging = on
collectTargets = 100
linkOption = true
ignoreLocal = false
routerNA = false
maxHops = 254
pollErrorLimit = 20
"""


def test_npd6_conf_read_as_is(tmp_path):
    """Every npd6 key, comments, pairs in order, and CIDR addrlist entries."""
    path = tmp_path / "npd6.conf"
    path.write_text(SAMPLE_CONF)
    s = read_npd6(str(path))
    assert [(p.iface, p.prefix, p.length) for p in s.pairs] == [
        ("out0", ipv6("2001:db8:1::"), 48), ("out1", ipv6("2001:db8:7::"), 64)]
    assert s.interfaces == ("out0", "out1")
    assert (s.link_option, s.ignore_local, s.router_na, s.max_hops) == (True, False,
                                                                         False, 254)
    assert (s.collect_targets, s.listtype, s.listlogging) == (100, "white", True)
    assert s.addrlist == ((ipv6("2001:db8:1::10"), 128), (ipv6("2001:db8:7::"), 120))


def test_npd6_defaults_are_npd6s():
    """linkOption false, ignoreLocal true, routerNA true, maxHops 255, collectTargets
    0, listtype none, listlogging off (man npd6.conf)."""
    s = parse_npd6("prefix = 2001:db8:1:\ninterface = eth0\n").settings()
    assert (s.link_option, s.ignore_local, s.router_na, s.max_hops, s.collect_targets,
            s.listtype, s.listlogging) == (False, True, True, 255, 0, "none", False)


@pytest.mark.parametrize("text, error", [
    ("prefix = 2001:db8:1:\nexprlist = (HOST)\n", "x.conf:2: exprlist: exprlist is not "
                                                   "supported"),
    ("prefix = 2001:db8:1:\nmaxHops = 300\n", "x.conf:2: maxHops: not a number from 0 "
                                              "to 255: '300'"),
    ("interface = eth0\nroutrNA = true\n", "x.conf:2: routrNA: unknown key"),
    ("prefix 2001:db8:1:\n", "x.conf:1: not a 'key = value' line"),
    ("linkOption = maybe\n", "x.conf:1: linkOption: not true or false: 'maybe'"),
])
def test_npd6_conf_errors_name_file_and_line(text, error):
    """A bad line is one error naming the file, the line and the key."""
    with pytest.raises(ValueError) as exc:
        parse_npd6(text, "x.conf")
    assert str(exc.value).startswith(error)


def test_npd6_pairs_must_match(tmp_path):
    """npd6 pairs prefixes and interfaces: as many of each."""
    path = tmp_path / "npd6.conf"
    path.write_text("prefix = 2001:db8:1:\nprefix = 2001:db8:2:\ninterface = eth0\n")
    with pytest.raises(ValueError, match=r"npd6.conf: 2 prefix and 1 interface"):
        read_npd6(str(path))


def test_params_lists_and_own_keys(tmp_path):
    """<param>s: blank- or comma-separated lists, discovery as a duration, targets_file
    relative to the config's folder; npd6_conf and npd6's keys do not mix."""
    s = from_params({"prefix": "2001:db8:1::/64, 2001:db8:2::/64", "interface": "a b",
                     "inside": "in0 in1", "discovery": "10m", "targets_file": "t.txt"},
                    str(tmp_path))
    assert [p.iface for p in s.pairs] == ["a", "b"]
    assert (s.inside, s.discovery, s.targets_file) == (("in0", "in1"), 600.0,
                                                       str(tmp_path / "t.txt"))
    with pytest.raises(ValueError, match="either npd6_conf or npd6's keys"):
        from_params({"npd6_conf": "x", "prefix": "2001:db8:1:"})
    with pytest.raises(ValueError, match="discovery.*not a duration"):
        from_params({"prefix": "2001:db8:1:", "interface": "a", "discovery": "soon"})


# -- the decision -------------------------------------------------------------------

def test_multicast_ns_in_prefix_is_answered_as_npd6_does():
    """To the NS's source and SLLA, from the LLA, R and S set, O clear, TLLA, hlim 255."""
    answer = decide(msg(ns("2001:db8:1::a1")), IFACE, SETTINGS, (), T)
    assert answer == Answer("out0", mac(UP_MAC), ipv6(GW_LLA), ipv6(UP_LLA),
                            ipv6("2001:db8:1::a1"), NA_ROUTER | NA_SOLICITED, True, 255)


def test_unicast_ns_gets_no_tlla_unless_link_option():
    """linkOption false (npd6's default): no TLLA in answers to unicast NS."""
    frame = ns("2001:db8:1::a2", unicast=True)
    assert decide(msg(frame), IFACE, SETTINGS, (), T).tlla is False
    linked = from_params({"prefix": "2001:db8:1:", "interface": "out0",
                          "linkOption": "true", "routerNA": "false", "maxHops": "200"})
    answer = decide(msg(frame), IFACE, linked, (), T)
    assert (answer.tlla, answer.flags, answer.hlim) == (True, NA_SOLICITED, 200)


def test_global_source_is_answered_from_a_global_address():
    """An NS from a global address is answered from the interface's global address;
    without an SLLA the answer goes to the frame's source MAC."""
    answer = decide(msg(ns("2001:db8:1::a7", src="2001:db8:ff::1", slla=False,
                           eth_src="02:00:00:00:09:09")), IFACE, SETTINGS, (), T)
    assert (answer.src, answer.dst, answer.eth_dst) == (
        ipv6(GW_GUA), ipv6("2001:db8:ff::1"), mac("02:00:00:00:09:09"))


@pytest.mark.parametrize("frame, reason", [
    (ns("2001:db8:1::a3", src="::", slla=False), "dad"),
    (ns("2001:db8:2::a4"), "not for prefix"),
    (ns("2001:db8:1::a5", hlim=64), "hop limit"),
    (ns("2001:db8:1::a6", chksum=0x1234), "malformed"),
    (ns("2001:db8:1::a9", code=1), "malformed"),
    (ns("2001:db8:1::66"), "blacklisted"),
    (ns("2001:db8:1::f3"), "blacklisted"),
    (ns(GW_GUA), "own address"),
    (ns("2001:db8:1::b1", unicast=True, dst="2001:db8:1::b1"), "target is destination"),
    (ns("2001:db8:1::a1", vlan=7), "vlan"),
])
def test_ignored_ns_and_why(frame, reason):
    """DAD, other prefixes, bad hop limit, bad checksum or code, listed, the gateway's
    own address, NUD to the target itself, VLAN-tagged: no answer, one reason."""
    assert decide(msg(frame), IFACE, SETTINGS, (), T) == reason


def test_prefix_is_per_interface():
    """A prefix answers only on its own interface (npd6's pairs)."""
    other = IFACE._replace(name="out1")
    assert decide(msg(ns("2001:db8:1::a1")), other, SETTINGS, (), T) == "not for prefix"


def test_whitelist_with_cidr():
    """listtype white: only listed addresses and blocks are answered."""
    white = from_params({"prefix": "2001:db8:1:", "interface": "out0", "listtype": "white",
                         "addrlist": "2001:db8:1::100/120"})
    assert isinstance(decide(msg(ns("2001:db8:1::1ff")), IFACE, white, (), T), Answer)
    assert decide(msg(ns("2001:db8:1::200")), IFACE, white, (), T) == "not whitelisted"


def test_discovery_answers_only_for_neighbours_seen_alive():
    """Discovery mode: an address the inside cache saw within the window is answered;
    one seen before it, or never, is not."""
    disco = from_params({"prefix": "2001:db8:1:", "interface": "out0", "inside": "in0",
                         "discovery": "600"})
    cache = NeighborCache()
    host = cache.add(mac("02:00:00:00:03:03"), ipv6("fe80::3"), T - 100)
    cache.add_address(host, ipv6("2001:db8:1::10"), T - 100)
    old = cache.add(mac("02:00:00:00:03:04"), ipv6("fe80::4"), T - 1000)
    cache.add_address(old, ipv6("2001:db8:1::11"), T - 1000)
    assert isinstance(decide(msg(ns("2001:db8:1::10")), IFACE, disco, [cache], T), Answer)
    assert decide(msg(ns("2001:db8:1::11")), IFACE, disco, [cache], T) == "not seen alive"
    assert decide(msg(ns("2001:db8:1::12")), IFACE, disco, [cache], T) == "not seen alive"


# -- the NA bytes -----------------------------------------------------------------------

@pytest.mark.parametrize("flags, tlla, hlim", [
    (NA_ROUTER | NA_SOLICITED, True, 255), (NA_SOLICITED, False, 255),
    (NA_ROUTER | NA_SOLICITED, False, 64)])
def test_patched_template_equals_scapy_build(flags, tlla, hlim):
    """The fast builder gives exactly scapy's frame, which ndpmon decodes as a valid NA
    with the right checksum, flags and option."""
    builder = NaBuilder()
    for target in ("2001:db8:1::a1", "2001:db8:1::ffff:1"):
        answer = Answer("out0", mac(UP_MAC), ipv6(GW_LLA), ipv6(UP_LLA), ipv6(target),
                        flags, tlla, hlim)
        fast = builder.build(answer, mac(GW_MAC))
        assert fast == craft.proxy_na(mac(GW_MAC), ipv6(GW_LLA), ipv6(UP_LLA),
                                      ipv6(target), flags, tlla, hlim, mac(UP_MAC))
        na = msg(fast)
        assert (na.type, na.checksum_ok, na.malformed, na.target, na.hlim) == (
            NA, True, None, ipv6(target), hlim)
        assert na.na_flags == flags and not na.na_flags & NA_OVERRIDE
        assert na.tlla == (mac(GW_MAC) if tlla else None)


@pytest.mark.parametrize("body", [b"\x88\x00\x00\x00\x01", bytes(range(24))])
def test_checksum_is_scapys(body):
    """The checksum (odd lengths padded with a zero byte, RFC 4443 §2.3) is scapy's."""
    from scapy.layers.inet6 import IPv6, in6_chksum

    ip = IPv6(src=GW_LLA, dst=UP_LLA)
    assert na_checksum(ipv6(GW_LLA), ipv6(UP_LLA), body) == in6_chksum(58, ip, body)


# -- the plugin in an engine -------------------------------------------------------

CONFIG = """\
<?xml version="1.0"?>
<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">
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
    <probe name="out0" type="interface"/>
    <probe name="in0" type="interface"/>
    <probe name="mirror0" type="interface">
      <proxies>
        <proxy mac="{gw}" prefix="2001:db8:1::/64"/>
      </proxies>
    </probe>
  </probes>
  <plugins>
    <plugin name="ndproxy">
{params}
    </plugin>
  </plugins>
</config_ndpmon>
"""
PARAMS = {"prefix": "2001:db8:1::/64", "interface": "out0", "inside": "in0",
          "collectTargets": "2"}


def param_lines(params: dict) -> str:
    return "\n".join(f'      <param name="{k}" value="{v}"/>' for k, v in params.items())


class FakeSender:
    """Records what the plugin sends; the MAC is the gateway's."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, bytes]] = []

    def mac(self, iface: str) -> bytes:
        return mac(GW_MAC)

    def send(self, iface: str, frame: bytes) -> None:
        self.frames.append((iface, frame))

    def close(self) -> None:
        pass


def feed(engine: Engine, probe: str, when: float, frame: bytes) -> list:
    """One frame through a pipeline, as replay and capture run it: the engine, then the
    plugins' ``after`` hooks (where the proxy answers)."""
    return Pipeline(engine, []).feed(probe, [(when, frame)])


def proxy_engine(tmp_path, **params):
    config = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(
        {**PARAMS, **params})))
    engine = Engine(config, plugins=load_plugins(config))
    plugin = engine.plugins[0]
    plugin.sender = FakeSender()
    plugin.ifaces["out0"] = IFACE
    return engine, plugin


def test_plugin_answers_counts_and_lists(tmp_path):
    """NS on out0 are answered (and still checked); the same NS on another probe is not;
    the counters and the collected targets (at most collectTargets) say what happened."""
    engine, plugin = proxy_engine(tmp_path, targets_file="targets.txt")
    for when, frame in enumerate((ns("2001:db8:1::a1"), ns("2001:db8:1::a2"),
                                  ns("2001:db8:1::a1"), ns("2001:db8:1::a3"),
                                  ns("2001:db8:2::1"), ns("2001:db8:1::a5", hlim=1))):
        feed(engine, "out0", T + when, frame)
    feed(engine, "in0", T + 9, ns("2001:db8:1::a9"))
    assert [msg(f).target for _, f in plugin.sender.frames] == [
        ipv6(a) for a in ("2001:db8:1::a1", "2001:db8:1::a2", "2001:db8:1::a1",
                          "2001:db8:1::a3")]
    assert {k: v for k, v in plugin.counters().items() if v} == {
        "answered": 4, "not for prefix": 1, "hop limit": 1}
    assert engine.frames == 7 and engine.dropped == 0  # every NS went on to the checks
    plugin.on_cache_save(engine)
    lines = (tmp_path / "targets.txt").read_text().splitlines()
    assert [line.split()[:3] for line in lines] == [["2001:db8:1::a1", "out0", "2"],
                                                     ["2001:db8:1::a2", "out0", "1"]]


def test_targets_file_is_written_like_every_output(tmp_path, caplog):
    """Issue 14: targets_file goes through the safe writer. A link there to root's file
    is replaced by the listing, the file keeps its bytes (before: the rename went over
    the link's target); in a directory others may write in, nothing is written and one
    warning names the file."""
    (tmp_path / "other").mkdir()
    secret = tmp_path / "other" / "secret"
    secret.write_bytes(b"root's own\n")
    (tmp_path / "targets.txt").symlink_to(secret)
    engine, plugin = proxy_engine(tmp_path, targets_file="targets.txt")
    feed(engine, "out0", T, ns("2001:db8:1::a1"))
    plugin.on_cache_save(engine)
    assert not (tmp_path / "targets.txt").is_symlink()
    assert (tmp_path / "targets.txt").read_text().startswith("2001:db8:1::a1 out0 1")
    assert secret.read_bytes() == b"root's own\n"
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    engine, plugin = proxy_engine(tmp_path, targets_file="shared/targets.txt")
    plugin.on_cache_save(engine)
    assert list(shared.iterdir()) == []
    assert f"ndproxy: {shared / 'targets.txt'}: directory {shared} writable by other " \
           "users" in caplog.text


def test_own_answers_are_dropped_and_declared_proxies_raise_nothing(tmp_path):
    """Our NA seen on another probe of the link is dropped by its SHA-1; an NA from a
    declared proxy (mirror0's <proxies>) for its prefix raises no alert, while the
    same answers from an undeclared MAC on another probe do."""
    engine, plugin = proxy_engine(tmp_path)
    for n in range(1, 6):
        feed(engine, "out0", T + n, ns(f"2001:db8:1::{n}0"))
    answers = [f for _, f in plugin.sender.frames]
    assert len(answers) == 5
    assert [feed(engine, "in0", T + 10, f) for f in answers] == [[]] * 5
    assert engine.dropped == 5
    other = [craft.proxy_na(mac(GW_MAC), ipv6(GW_LLA), ipv6(UP_LLA),
                            ipv6(f"2001:db8:1::{n}"), NA_ROUTER | NA_SOLICITED, True,
                            255, mac(UP_MAC)) for n in range(11, 16)]
    assert [a for f in other for a in feed(engine, "mirror0", T + 20, f)] == []
    alerts = [a for f in other for a in feed(engine, "in0", T + 30, f)]
    assert [a.reason for a in alerts] == [
        "new station", "NA router flag", "NA router flag", "NA router flag",
        "undeclared ND proxy", "NA router flag", "NA router flag"]


def test_discovery_through_the_engine(tmp_path):
    """With discovery, an address is answered once the inside probe saw it (an NS from
    it there), not before."""
    engine, plugin = proxy_engine(tmp_path, discovery="300")
    feed(engine, "out0", T, ns("2001:db8:1::10"))
    assert plugin.sender.frames == [] and plugin.ignored["not seen alive"] == 1
    feed(engine, "in0", T + 1, ns("2001:db8:1::3", src="2001:db8:1::10",
                                   eth_src="02:00:00:00:03:03"))
    feed(engine, "out0", T + 2, ns("2001:db8:1::10"))
    assert len(plugin.sender.frames) == 1
    feed(engine, "out0", T + 400, ns("2001:db8:1::10"))
    assert len(plugin.sender.frames) == 1 and plugin.ignored["not seen alive"] == 2


def test_replay_sends_nothing(tmp_path):
    """Not live: no sender is opened, decisions are still counted."""
    config = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(PARAMS)))
    engine = Engine(config, plugins=load_plugins(config))
    plugin = engine.plugins[0]
    plugin.start()
    feed(engine, "out0", T, ns("2001:db8:1::a1"))
    plugin.stop()
    assert plugin.sender is None and plugin.answered == 1


def test_reload_keeps_running_settings_when_broken(tmp_path, caplog):
    """SIGHUP with bad settings: logged, the running ones stay; good ones replace them."""
    engine, plugin = proxy_engine(tmp_path)
    before = plugin.settings
    bad = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(
        {**PARAMS, "maxHops": "999"})))
    plugin.reconfigure(bad)
    assert plugin.settings is before
    assert "ndproxy: SIGHUP: <param name='maxHops'>: not a number" in caplog.text
    good = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(
        {**PARAMS, "routerNA": "false"})))
    plugin.reconfigure(good)
    assert plugin.settings.router_na is False


def test_sigusr1_logs_counters(tmp_path, caplog):
    """SIGUSR1 reaches the plugin through its ``status`` hook (called by the live loop):
    it logs the counters and the targets; the plugin installs no signal handler."""
    caplog.set_level(logging.INFO, "ndpmon")
    engine, plugin = proxy_engine(tmp_path)
    engine.live = True
    before = signal.getsignal(signal.SIGUSR1)
    plugin.start()
    assert signal.getsignal(signal.SIGUSR1) is before
    pipeline = Pipeline(engine, [])
    pipeline.feed("out0", [(T, ns("2001:db8:1::a1"))])
    assert "ndproxy: 1 answered" not in caplog.text
    pipeline.hooks("status")
    plugin.stop()
    assert "ndproxy: 1 answered" in caplog.text
    assert "ndproxy: target 2001:db8:1::a1 out0 1" in caplog.text


def test_interfaces_must_be_probes(tmp_path):
    """An outside or inside interface that is no probe: one line at load time."""
    config = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(
        {**PARAMS, "inside": "eth9"})))
    with pytest.raises(PluginError, match="interface eth9 is not a probe of"):
        load_plugins(config)


def test_declared_proxy_config(tmp_path):
    """<proxies><proxy mac prefix/> becomes Probe.proxies; a bad MAC is file:line."""
    config = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(PARAMS)))
    [proxy] = config.probe("mirror0").proxies
    assert (proxy.mac, proxy.prefix, proxy.length) == (mac(GW_MAC), ipv6("2001:db8:1::"),
                                                       64)
    with pytest.raises(ConfigError, match=r"config_ndpmon.xml:17: <proxy mac>: not a MAC"):
        load(tmp_path, CONFIG.format(gw="zz", params=param_lines(PARAMS)))


def test_cli_npd6_conf_switches_the_plugin_on(tmp_path, capsys):
    """``--check-config --npd6-conf FILE`` loads the plugin from the file; a bad file is
    one line naming file and line, exit 2."""
    conf = tmp_path / "npd6.conf"  # lo: --check-config checks that the interfaces exist
    conf.write_text("prefix = 2001:db8:1:\ninterface = lo\n")
    config = REPO / "config_ndpmon.xml"
    cache = tmp_path / "cache.xml"
    assert main(["--check-config", "-f", str(config), "-g", str(cache),
                 "--npd6-conf", str(conf)]) == 0
    conf.write_text("prefix = 2001:db8:1:\ninterface = lo\nmaxHops = x\n")
    assert main(["--check-config", "-f", str(config), "-g", str(cache),
                 "--npd6-conf", str(conf)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"ndpmon: {conf}:3: maxHops: not a number from 0 to 255: 'x'")


def test_with_npd6_conf_adds_probe_and_keeps_own_params(tmp_path):
    """The outside interfaces become probes; ndpmon's own <param>s stay."""
    conf = tmp_path / "npd6.conf"
    conf.write_text(textwrap.dedent("""\
        prefix = 2001:db8:1:
        interface = wan0
    """))
    config = load(tmp_path, CONFIG.format(gw=GW_MAC, params=param_lines(PARAMS)))
    new, outside = with_npd6_conf(config, str(conf))
    assert outside == ("wan0",) and new.probe("wan0") is not None
    [spec] = new.plugins
    # npd6's keys come from the file only (collectTargets is one of them)
    assert spec.params == {"inside": "in0", "npd6_conf": str(Path(conf).resolve())}


def test_outside_interface_must_be_captured(tmp_path):
    """Capturing live without an outside interface (``-i in0`` only): the plugin stops
    ndpmon at start with one line saying which interface to add."""
    engine, plugin = proxy_engine(tmp_path)
    engine.live, engine.captured = True, ("in0",)
    with pytest.raises(PluginError, match=r"plugin ndproxy: outside interface out0 is "
                                          r"not captured \(add -i out0\)"):
        plugin.start()


def test_no_answer_without_the_interfaces_mac(tmp_path):
    """Live, with an outside interface whose MAC cannot be read: nothing is sent (never
    an answer from a zero MAC), the NS is counted."""
    engine, plugin = proxy_engine(tmp_path)

    class Gone(FakeSender):
        def mac(self, iface: str) -> bytes:
            raise OSError(19, "No such device")

    plugin.sender = Gone()
    del plugin.ifaces["out0"]
    feed(engine, "out0", T, ns("2001:db8:1::a1"))
    assert plugin.sender.frames == [] and plugin.ignored["interface unknown"] == 1
