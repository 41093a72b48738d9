#!/usr/bin/env python3
"""Deterministic generator of the old-format files in ``tests/data/old`` (issue 17).

Real NDPMon installs hold files ndpmon must not run as they are and ``ndpmon upgrade``
converts. These fixtures are written from REFERENCE's descriptions of them
(../shared/ndpmon-reference/REFERENCE.md §2.4, §2.5, §2.8) and the 802.1Q fork's own files
(ayourtch/ndpmon-dot1q: its config_ndpmon.dtd, neighbor_list.dtd and writer, parser.c),
never from ndpmon's output:

- ``v14/``: an NDPMon 1.4 config (flat root, action elements, ``prefixes`` before
  ``addresses``, four guards, comments, the stylesheet PI after the DOCTYPE) with 1.4's
  ``config_ndpmon.dtd`` beside it, and a 1.4 ``neighbor_list.xml`` (root
  ``neighbor_list``, ``time[@timestr]``, ``old_mac``) with its DTD;
- ``dot1q/``: the fork's config (a leading ``<vlan_id>`` in each router; 4095 means
  untagged) and cache (a leading ``<vlan_id>`` in each neighbour), with its DTDs;
- ``v21/learned_dnssl.xml``: a config NDPMon 2.1 wrote in learning mode, with the DNSSL
  domain as raw label bytes (``\\x07example\\x03com``: control characters, not XML), an
  empty router ``<address/>``, ``<last_dad_address/>`` and the low-priority actions
  copied from the high ones;
- ``v21/out_of_order.xml``: a hand-written 2.1 config NDPMon 2.1 ran although its DTD
  refuses it: ``<admin_mail>`` after ``<syslog_facility>``, no
  ``<use_reverse_hostlookups>``, a router with ``prefixes`` before ``addresses`` (the 1.4
  habit), plus a ``<soap>`` element and a remote probe without a ``<store>``.

Addresses are in 2001:db8::/32 and fe80::/10, MACs in 00:00:5e:00:53:xx (RFC 7042),
times fixed: running this twice writes identical bytes. ``tests/test_upgrade.py`` checks
that the committed files are what this script writes.

Run: ``python tests/data/make_old_formats.py [outdir]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "old"
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

# NDPMon 1.4's config DTD (REFERENCE §2.8); the fork's adds a leading vlan_id to router.
V14_CONFIG_DTD = """\
<!ELEMENT config_ndpmon (ignor_autoconf, syslog_facility, admin_mail, actions_low_pri, \
actions_high_pri, use_reverse_hostlookups, routers, countermeasures?)>

<!ELEMENT ignor_autoconf (#PCDATA)>
<!ELEMENT syslog_facility (#PCDATA)>
<!ELEMENT admin_mail (#PCDATA)>

<!ELEMENT actions_low_pri (sendmail, syslog, exec_pipe_program)>
<!ELEMENT actions_high_pri (sendmail, syslog, exec_pipe_program)>
<!ELEMENT sendmail (#PCDATA)>
<!ELEMENT syslog (#PCDATA)>
<!ELEMENT exec_pipe_program (#PCDATA)>

<!ELEMENT use_reverse_hostlookups (#PCDATA)>
<!ELEMENT routers (router*)>
<!ELEMENT router (
    VLAN mac, lla,
    param_curhoplimit?,
    param_flags_reserved?,
    param_router_lifetime?,
    param_reachable_timer?,
    param_retrans_timer?,
    param_mtu?,
    params_volatile?,
    prefixes,
    addresses
)>
VLANDECL
<!ELEMENT mac (#PCDATA)>
<!ELEMENT lla (#PCDATA)>
<!ELEMENT param_curhoplimit (#PCDATA)>
<!ELEMENT param_flags_reserved (#PCDATA)>
<!ELEMENT param_router_lifetime (#PCDATA)>
<!ELEMENT param_reachable_timer (#PCDATA)>
<!ELEMENT param_retrans_timer (#PCDATA)>
<!ELEMENT param_mtu (#PCDATA)>
<!ELEMENT params_volatile (#PCDATA)>

<!ELEMENT prefixes (prefix*)>
<!ELEMENT prefix (address, mask, param_flags_reserved?, param_valid_time?, \
param_preferred_time?)>
<!ELEMENT mask (#PCDATA)>
<!ELEMENT param_valid_time (#PCDATA)>
<!ELEMENT param_preferred_time (#PCDATA)>

<!ELEMENT addresses (address*)>
<!ELEMENT address (#PCDATA)>

<!ELEMENT countermeasures (kill_illegitimate_router?, kill_wrong_prefix?, \
propagate_router_params?, indicate_ndpmon_presence?)>
<!ELEMENT kill_illegitimate_router (#PCDATA)>
<!ELEMENT kill_wrong_prefix (#PCDATA)>
<!ELEMENT propagate_router_params (#PCDATA)>
<!ELEMENT indicate_ndpmon_presence (#PCDATA)>
"""

# NDPMon 1.4's cache DTD (REFERENCE §2.5); the fork's adds a leading vlan_id to neighbor.
V14_CACHE_DTD = """\
<!ELEMENT config_neighbor_list (neighbor_list)>
<!ELEMENT neighbor_list (neighbor*)>

<!ELEMENT neighbor (VLAN mac, lla, time,addresses, old_mac?)>
VLANDECL
<!ELEMENT mac (#PCDATA)>
<!ATTLIST mac vendor CDATA #IMPLIED>
<!ELEMENT lla (#PCDATA)>
<!ELEMENT time (#PCDATA)>
<!ATTLIST time timestr CDATA #IMPLIED>

<!ELEMENT addresses (address*)>
<!ELEMENT address (#PCDATA)>
<!ATTLIST address firstseen CDATA #IMPLIED>
<!ATTLIST address firstseenstr CDATA #IMPLIED>
<!ATTLIST address lastseen CDATA #IMPLIED>
<!ATTLIST address lastseenstr CDATA #IMPLIED>

<!ELEMENT old_mac (mac*)>
"""


def dtd(template: str, dot1q: bool) -> str:
    """The 1.4 DTD, or the fork's with its ``vlan_id``."""
    vlan = "vlan_id, " if dot1q else ""
    decl = "<!ELEMENT vlan_id (#PCDATA)>\n" if dot1q else ""
    return template.replace("VLAN ", vlan).replace("VLANDECL\n", decl)


def mac(n: int) -> str:
    """A documentation MAC (RFC 7042), as ether_ntoa writes it."""
    return f"0:0:5e:0:53:{n:x}"


def lla(n: int) -> str:
    """The link-local address of ``mac(n)``, in 1.4's long form (ipv6_ntoa)."""
    return f"fe80:0:0:0:200:5eff:fe00:53{n:02x}"


def router_14(n: int, vlan: int | None, body: str) -> str:
    """A 1.4 ``<router>`` (tab-indented as the shipped sample), optionally on a VLAN."""
    first = f"\t\t<vlan_id>{vlan}</vlan_id>\n" if vlan is not None else ""
    return (f"\t<router>\n{first}\t\t<mac>{mac(n)}</mac>\n\t\t<lla>{lla(n)}</lla>\n"
            f"{body}\t</router>\n")


def prefixes_14(*prefixes: str) -> str:
    items = "".join(
        f"\t\t\t<prefix>\n\t\t\t\t<address>{p}</address>\n\t\t\t\t<mask>64</mask>\n"
        "\t\t\t\t<param_flags_reserved>192</param_flags_reserved>\n"
        "\t\t\t\t<param_valid_time>2592000</param_valid_time>\n"
        "\t\t\t\t<param_preferred_time>604800</param_preferred_time>\n\t\t\t</prefix>\n"
        for p in prefixes)
    return f"\t\t<prefixes>\n{items}\t\t</prefixes>\n"


PARAMS_14 = (
    "\t\t<param_curhoplimit>64</param_curhoplimit>\n"
    "\t\t<param_flags_reserved>0</param_flags_reserved>\n"
    "\t\t<param_router_lifetime>1800</param_router_lifetime>\n"
    "\t\t<param_reachable_timer>0</param_reachable_timer>\n"
    "\t\t<param_retrans_timer>0</param_retrans_timer>\n"
    "\t\t<param_mtu>0</param_mtu>\n"
    "\t\t<params_volatile>0</params_volatile>\n"
)


def config_14(routers: str, dtd_name: str) -> str:
    """A 1.4 config as the shipped sample lays it out, with ``routers`` and guards."""
    return f"""\
<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE config_ndpmon SYSTEM "{dtd_name}">
<?xml-stylesheet type="text/xsl" href="config.xsl" ?>
<config_ndpmon>
\t<!-- NDPMon 1.4 on the office LAN -->
\t<ignor_autoconf>1</ignor_autoconf>
\t<syslog_facility>LOG_LOCAL3</syslog_facility>
\t<admin_mail>netadmin@example.net</admin_mail>
        <actions_low_pri>
            <sendmail>0</sendmail>
            <syslog>1</syslog>
            <exec_pipe_program></exec_pipe_program>
        </actions_low_pri>
        <actions_high_pri>
            <sendmail>1</sendmail>
            <syslog>1</syslog>
            <exec_pipe_program>/usr/local/ndpmon/create_html_table.py</exec_pipe_program>
        </actions_high_pri>
        <use_reverse_hostlookups>1</use_reverse_hostlookups>
    <routers>
{routers}\t<!-- Example of router definition
\t<router>
   \t\t<mac>00:11:22:33:44:55</mac>
\t\t<lla>fe80:0:0:0:211:22ff:fe33:4455</lla>
\t\t<addresses/>
\t</router>
\t-->
    </routers>
    <!-- Countermeasures: answer rogue routers at once -->
    <countermeasures>
        <kill_illegitimate_router>RESPOND</kill_illegitimate_router>
        <kill_wrong_prefix>LAUNCH AFTER 10</kill_wrong_prefix>
        <propagate_router_params>CEASE AFTER 10</propagate_router_params>
        <indicate_ndpmon_presence>SUPPRESS</indicate_ndpmon_presence>
    </countermeasures>
</config_ndpmon>
"""


def v14_config() -> str:
    first = router_14(1, None, PARAMS_14 + prefixes_14("2001:db8:1:0:0:0:0:0")
                      + "\t\t<addresses>\n\t\t\t<address>2001:db8:1:0:0:0:0:1</address>\n"
                        "\t\t</addresses>\n")
    second = router_14(2, None, prefixes_14("2001:db8:2:0:0:0:0:0") + "\t\t<addresses/>\n")
    return config_14(first + second, "config_ndpmon.dtd")


def dot1q_config() -> str:
    """The fork's config: routers on VLANs 105 and 106, and one untagged (4095).

    The router on VLAN 106 has the same MAC and link-local address as the one on 105: a
    router that serves two VLANs through one port.
    """
    untagged = router_14(3, 4095, prefixes_14("2001:db8:3:0:0:0:0:0") + "\t\t<addresses/>\n")
    v105 = router_14(1, 105, PARAMS_14 + prefixes_14("2001:db8:105:0:0:0:0:0")
                     + "\t\t<addresses/>\n")
    v106 = router_14(1, 106, prefixes_14("2001:db8:106:0:0:0:0:0") + "\t\t<addresses/>\n")
    return config_14(v105 + v106 + untagged, "config_ndpmon.dtd")


def ctime(when: int) -> str:
    """ctime() with its newline, as libxml2's writer puts it in an attribute."""
    return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(when)) + "&#10;"


LAST = ' last="true"'


def neighbor_14(n: int, vlan: int | None, when: int, addresses: list[str],
                old: list[tuple[int, bool]], vendor: str = "") -> str:
    """A 1.4 ``<neighbor>`` as xmlTextWriter (indent 1) wrote it."""
    first = f"  <vlan_id>{vlan}</vlan_id>\n" if vlan is not None else ""
    vend = f' vendor="{vendor}"' if vendor else ""
    addrs = "".join(
        f'   <address lastseen="{when}" lastseenstr="{ctime(when)}" firstseen="{when - 60}" '
        f'firstseenstr="{ctime(when - 60)}">{a}</address>\n' for a in addresses)
    olds = "".join(f"   <mac{LAST if last else ''}>{mac(m)}</mac>\n" for m, last in old)
    return (f" <neighbor>\n{first}  <mac{vend}>{mac(n)}</mac>\n  <lla>{lla(n)}</lla>\n"
            f'  <time timestr="{ctime(when)}">{when}</time>\n'
            + block("addresses", addrs) + block("old_mac", olds) + " </neighbor>\n")


def block(tag: str, body: str) -> str:
    """``<tag>`` around ``body``; empty, ``<tag/>``, as xmlTextWriter closes it."""
    return f"  <{tag}>\n{body}  </{tag}>\n" if body else f"  <{tag}/>\n"


def cache_14(neighbors: str) -> str:
    """The 1.4 writer: declaration, DOCTYPE (the ``-d`` path), stylesheet PI, root."""
    return ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            '<!DOCTYPE neighbor_list SYSTEM "/var/lib/ndpmon/neighbor_list.dtd">\n'
            '<?xml-stylesheet type="text/xsl" href="neighbor.xsl" ?>\n'
            f"<neighbor_list>\n{neighbors}</neighbor_list>\n")


def v14_cache() -> str:
    return cache_14(
        neighbor_14(0x0A, None, T0, ["2001:db8:1:0:0:0:0:a"], [], vendor="ICANN")
        + neighbor_14(0x0B, None, T0 + 10, ["2001:db8:1:0:0:0:0:b", "2001:db8:1:0:0:0:0:bb"],
                      [(0x1B, False), (0x2B, True)])
        + neighbor_14(0x0C, None, T0 + 20, [], []))


def dot1q_cache() -> str:
    """The same host (MAC and link-local address) on VLANs 105 and 106, and one untagged."""
    return cache_14(
        neighbor_14(0x0A, 105, T0, ["2001:db8:105:0:0:0:0:a"], [])
        + neighbor_14(0x0A, 106, T0 + 5, ["2001:db8:106:0:0:0:0:a"], [(0x1A, True)])
        + neighbor_14(0x0C, 4095, T0 + 20, [], []))


def learned_dnssl() -> bytes:
    """What NDPMon 2.1's learning mode wrote (REFERENCE §2.4), raw DNSSL bytes and all."""
    text = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<?xml-stylesheet type="text/xsl" href="config.xsl"?>
<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="1" syslog="1" exec_pipe_program="/usr/local/bin/pipe.sh"/>
    <actions_low_priority sendmail="1" syslog="1" exec_pipe_program="/usr/local/bin/pipe.sh"/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
  </settings>
  <probes>
    <probe name="eth0" type="interface">
      <routers>
        <router>
          <mac>0:0:5e:0:53:1</mac>
          <lla>fe80::200:5eff:fe00:5301</lla>
          <param_curhoplimit>64</param_curhoplimit>
          <param_flags_reserved>0</param_flags_reserved>
          <param_router_lifetime>1800</param_router_lifetime>
          <param_reachable_timer>0</param_reachable_timer>
          <param_retrans_timer>0</param_retrans_timer>
          <param_mtu>1500</param_mtu>
          <params_volatile>1</params_volatile>
          <addresses>
            <address/>
          </addresses>
          <prefixes>
            <prefix>
              <address>2001:db8:1::</address>
              <mask>64</mask>
              <param_flags_reserved>192</param_flags_reserved>
              <param_valid_time>2592000</param_valid_time>
              <param_preferred_time>604800</param_preferred_time>
            </prefix>
          </prefixes>
          <rdnss>
            <nameserver lifetime="900">2001:db8:1::53</nameserver>
          </rdnss>
          <dnssl>
            <domain lifetime="900">\x07example\x03com</domain>
            <domain lifetime="900">\x04corp\x07example\x03net</domain>
          </dnssl>
          <routes>
            <route>
              <address>2001:db8:2::</address>
              <mask>48</mask>
              <param_pref_reserved>0</param_pref_reserved>
              <lifetime>1800</lifetime>
            </route>
          </routes>
        </router>
      </routers>
      <last_dad_address/>
    </probe>
  </probes>
</config_ndpmon>
"""
    return text.encode("iso-8859-1")


OUT_OF_ORDER = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="1" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="1" exec_pipe_program=""/>
    <ignor_autoconf>1</ignor_autoconf>
    <syslog_facility>LOG_LOCAL2</syslog_facility>
    <!-- moved here when the mail alias changed -->
    <admin_mail>noc@example.net</admin_mail>
    <soap report_url="https://central.example.net:10002/ndpmon" report_src="mon-a"
          ssl_enabled="1"/>
  </settings>
  <probes>
    <probe name="eth0" type="interface">
      <routers>
        <router>
          <mac>0:0:5e:0:53:1</mac>
          <lla>fe80::200:5eff:fe00:5301</lla>
          <prefixes>
            <prefix>
              <address>2001:db8:1::</address>
              <mask>64</mask>
            </prefix>
          </prefixes>
          <addresses/>
        </router>
      </routers>
    </probe>
    <probe name="mon-b/eth0" type="remote"/>
  </probes>
</config_ndpmon>
"""


def files() -> dict[str, bytes]:
    """Every fixture, by path under OUT."""
    latin = {
        "v14/config_ndpmon.xml": v14_config(),
        "v14/config_ndpmon.dtd": dtd(V14_CONFIG_DTD, False),
        "v14/neighbor_list.xml": v14_cache(),
        "v14/neighbor_list.dtd": dtd(V14_CACHE_DTD, False),
        "dot1q/config_ndpmon.xml": dot1q_config(),
        "dot1q/config_ndpmon.dtd": dtd(V14_CONFIG_DTD, True),
        "dot1q/neighbor_list.xml": dot1q_cache(),
        "dot1q/neighbor_list.dtd": dtd(V14_CACHE_DTD, True),
        "v21/out_of_order.xml": OUT_OF_ORDER,
    }
    out = {name: text.encode("iso-8859-1") for name, text in latin.items()}
    out["v21/learned_dnssl.xml"] = learned_dnssl()
    return out


def main(outdir: Path = OUT) -> None:
    for name, data in files().items():
        path = outdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
