"""Helpers for the plugin tests: configs that switch plugins on, and crafted ND frames.

Frames are built with scapy (tests only); addresses follow the rest of the suite
(2001:db8::/32, fixed MACs), so that a failing test prints readable values.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ndpmon.config import loader as configmod
from ndpmon.engine.engine import Engine
from ndpmon.config.model import Config
from ndpmon.run.plugins import load_plugins

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "plugins"
ROUTER_MAC, ROUTER_LLA = "00:11:22:33:44:55", "fe80::1"
ROGUE_MAC, ROGUE_LLA = "00:66:66:66:66:66", "fe80::666"

HEAD = """\
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
    <probe name="{probe}" type="interface">
{probe_body}
      <routers>
        <router>
          <mac>{router_mac}</mac>
          <lla>{router_lla}</lla>
          <param_curhoplimit>64</param_curhoplimit>
          <param_flags_reserved>0</param_flags_reserved>
          <param_router_lifetime>1800</param_router_lifetime>
          <param_reachable_timer>0</param_reachable_timer>
          <param_retrans_timer>0</param_retrans_timer>
          <param_mtu>1500</param_mtu>
          <params_volatile>1</params_volatile>
          <addresses/>
          <prefixes>
            <prefix><address>2001:db8:1::</address><mask>64</mask></prefix>
          </prefixes>
        </router>
      </routers>
{rules}
    </probe>
  </probes>
{tail}
</config_ndpmon>
"""


def config_text(plugins: str = "", *, rules: str = "", probe: str = "lan0",
                countermeasures: str = "", probe_body: str = "") -> str:
    """A valid config with one probe and one router, ``plugins`` as the content of
    ``<plugins>`` (none if empty), ``rules`` inside the probe."""
    tail = countermeasures
    if plugins:
        tail += "\n" + plugins if plugins.lstrip().startswith("<plugins") else \
            f"\n  <plugins>\n{plugins}\n  </plugins>"
    return HEAD.format(probe=probe, probe_body=probe_body, router_mac=ROUTER_MAC,
                       router_lla=ROUTER_LLA, rules=rules, tail=tail)


def write_config(tmp_path: Path, text: str) -> str:
    """Write a config (and the DTD beside it, as the DOCTYPE names it); return its path."""
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(textwrap.dedent(text))
    (tmp_path / "config_ndpmon.dtd").write_bytes(configmod.PACKAGED_DTD.read_bytes())
    return str(path)


def load(tmp_path: Path, text: str) -> Config:
    return configmod.load(write_config(tmp_path, text))


def engine_for(config: Config) -> Engine:
    """An engine with the config's plugins loaded."""
    return Engine(config, plugins=load_plugins(config))


def ra(mac: str = ROUTER_MAC, lla: str = ROUTER_LLA, *, lifetime: int = 1800,
       prefix: str = "2001:db8:1::", mtu: int | None = None) -> bytes:
    from scapy.layers.inet6 import (ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
                                    ICMPv6NDOptSrcLLAddr, ICMPv6ND_RA, IPv6)
    from scapy.layers.l2 import Ether

    pkt = (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=lla, dst="ff02::1", hlim=255)
           / ICMPv6ND_RA(chlim=64, routerlifetime=lifetime) / ICMPv6NDOptSrcLLAddr(lladdr=mac))
    if mtu is not None:
        pkt = pkt / ICMPv6NDOptMTU(mtu=mtu)
    pkt = pkt / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, validlifetime=86400,
                                      preferredlifetime=14400)
    return bytes(pkt)


def ns(mac: str, src: str, target: str, *, hlim: int = 255) -> bytes:
    """A Neighbor Solicitation to the target's solicited-node group, with a source
    link-layer option."""
    import socket

    from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, ICMPv6ND_NS, IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils6 import in6_getnsma, in6_getnsmac

    group = in6_getnsma(socket.inet_pton(socket.AF_INET6, target))
    dst = socket.inet_ntop(socket.AF_INET6, group)
    return bytes(Ether(src=mac, dst=in6_getnsmac(group)) / IPv6(src=src, dst=dst, hlim=hlim)
                 / ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=mac))


def na(mac: str, src: str, target: str, *, flags: str = "S") -> bytes:
    """A solicited Neighbor Advertisement with a target link-layer option."""
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr, ICMPv6ND_NA, IPv6
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=mac, dst="00:00:00:00:00:01") / IPv6(src=src, dst="fe80::99",
                                                                 hlim=255)
                 / ICMPv6ND_NA(tgt=target, R="R" in flags, S="S" in flags, O="O" in flags)
                 / ICMPv6NDOptDstLLAddr(lladdr=mac))
