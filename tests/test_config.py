"""Tests of ndpmon.config.loader: loading config_ndpmon.xml into model objects, and its errors.

Every error test asserts the exact one-line message the user sees.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
from conftest import GOLDEN as GOLDEN_DIR
from lxml import etree

from ndpmon.config import loader as config
from ndpmon.errors import ConfigError
from ndpmon.config.model import COUNTERMEASURES, ActionSet, Guard, Limits, MatchClause

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "config_ndpmon.xml"
GOLDEN_FILE = GOLDEN_DIR / "monitor" / "config_ndpmon.xml"

# A small valid config; the numbers on the right are line numbers, which the
# error tests below rely on.
BASE = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="1" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
  </settings>
  <probes>
    <probe name="eth0" type="interface">
      <routers>
        <router>
          <mac>0:11:22:33:44:55</mac>
          <lla>fe80::211:22ff:fe33:4455</lla>
          <addresses/>
          <prefixes/>
          <rdnss><nameserver lifetime="900">2001:db8::53</nameserver></rdnss>
        </router>
      </routers>
    </probe>
  </probes>
</config_ndpmon>
"""
#  1 xml declaration        5 actions_high_priority   13 probe
#  2 DOCTYPE                7 admin_mail              16 mac
#  3 config_ndpmon          8 ignor_autoconf          17 lla
#  4 settings               9 syslog_facility         18 addresses
#                          10 use_reverse_hostlookups 20 rdnss/nameserver


def write(tmp_path: Path, text: str, name: str = "config_ndpmon.xml") -> str:
    """Write ``text`` (dedented) into tmp_path/name and return the path as a str."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="iso-8859-1")
    return str(path)


def with_base(tmp_path: Path, *replacements: tuple[str, str]) -> str:
    """BASE with each (old, new) replaced once, written to a file; returns its path."""
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return write(tmp_path, text)


def load_error(path: str, dtd_path: str | None = None) -> str:
    """The one-line message of the ConfigError loading ``path`` raises."""
    with pytest.raises(ConfigError) as info:
        config.load(path, dtd_path)
    return str(info.value)


def uncomment_examples(text: str) -> str:
    """Replace each comment by the XML example it holds: its lines from the first
    one that starts with '<' (prose-only comments disappear)."""

    def example(match: re.Match[str]) -> str:
        lines = match.group(1).splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("<"):
                return "\n".join(lines[i:])
        return ""

    return re.sub(r"<!--(.*?)-->", example, text, flags=re.S)


# The configuration NDPMon 2.1.0 writes in learning mode (golden run
# golden/monitor/config_ndpmon.xml, verbatim), with <last_dad_address/> (COMPATIBILITY.md §7.14)
# and an empty <addresses/>.
GOLDEN = """\
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
    <probe name="pcap0" type="interface">
      <routers>
        <router>
          <mac>0:11:22:33:44:55</mac>
          <lla>fe80::211:22ff:fe33:4455</lla>
          <param_curhoplimit>64</param_curhoplimit>
          <param_flags_reserved>0</param_flags_reserved>
          <param_router_lifetime>1800</param_router_lifetime>
          <param_reachable_timer>0</param_reachable_timer>
          <param_retrans_timer>0</param_retrans_timer>
          <param_mtu>1500</param_mtu>
          <params_volatile>0</params_volatile>
          <addresses/>
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
            <domain lifetime="900">example.com</domain>
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
"""  # noqa: E101, E501, W291 (verbatim copy of an NDPMon file)

# NDPMon 2.1.0's install/config_ndpmon.xml.in (COMPATIBILITY.md §4.1, verbatim but
# @prefix@ replaced): its examples are broken XML, but inside comments.
SHIPPED = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">
<?xml-stylesheet type="text/xsl" href="config.xsl" ?>
<config_ndpmon>
  <settings>
    <!-- 
    <actions_high_priority sendmail="1" syslog="1" exec_pipe_program="/usr/local/ndpmon/alerts_to_xml.py"/>
    <actions_low_priority sendmail="1" syslog="1" exec_pipe_program="/usr/local/ndpmon/alerts_to_xml.py"/>
    -->
    <actions_high_priority sendmail="0" syslog="1" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="1" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>1</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <!-- Example soap configuration
    <soap report_url="https://localhost:10002/ndpmon"
          report_src="localhost"
          listen_path="/ndpmon"
          listen_port="10002"
          ssl_enabled="1"
          ssl_certfile="/usr/local/etc/ndpmon/sslkey.pem"
          ssl_certpass="pass"
          ssl_cafile="/usr/local/etc/ndpmon/ca/cacert.pem"
          ssl_commonname="test" />
    -->       
  </settings>
  <probes>
  <!-- Example remote probe
  <probe name="somehost/eth0" type="remote" />
  -->
  <probe name="eth0" type="interface">
    <!-- To enable (default, 1) / disable (0) countermeasures for that probe
    <countermeasures_enabled>1<countermeasures_enabled>
    -->
  <routers>
  <!--Example router definition
    <router>
      <mac>0:11:22:33:44:55</mac>
      <lla>fe80::211:22ff:fe33:4455</lla>
      <param_curhoplimit>64</param_curhoplimit>
      <param_flags_reserved>0</param_flags_reserved>
      <param_router_lifetime>10800</param_router_lifetime>
      <param_reachable_timer>0</param_reachable_timer>
      <param_retrans_timer>0</param_retrans_timer>
      <param_mtu>0</param_mtu>
      <params_volatile>1</params_volatile>
      <addresses/>
      <prefixes>
        <prefix>
          <address>2001:db8:1234:5678::</address>
          <mask>64</mask>
          <param_flags_reserved>224</param_flags_reserved>
          <param_valid_time>2592000</param_valid_time>
          <param_preferred_time>604800</param_preferred_time>
        </prefix>
      </prefixes>
      <rdnss>
		<nameserver lifetime="900">2001:db8:1234:5678::53</nameserver>
      </rdnss>
      <dnssl>
		<domain lifetime="900">localhost.localdomain</domain>
      </dnssl>
      <routes>
	<route>
	  <address>2001:db8:abcd:ef01::</address>
          <mask>64</mask>
	  <param_pref_reserved>8</param_flags_reserved>
	  <lifetime>2592000</lifetime>
	</route>
      </routes>
    </router>
  -->
  </routers>
  <!-- Example Rules Configuration 
  <rules>
    <rule description="inet6.source is link local">
      <match field="inet6.source" value="fe80::/10"/>
    </rule>
  </rules>
  -->
  </probe>
  </probes>
  <!-- Example of countermeasures configuration
      (If no configuration is present, all countermeasures will be suppressed.)
  <countermeasures>
      <kill_illegitimate_router>RESPOND</kill_illegitimate_router>
      <kill_wrong_prefix>LAUNCH AFTER 10</kill_wrong_prefix>
      <propagate_router_params>CEASE AFTER 10</propagate_router_params>
      <propagate_router_dns>RESPOND</propagate_router_dns>
      <propagate_router_routes>RESPOND</propagate_router_routes>
      <propagate_neighbor_mac>RESPOND</propagate_neighbor_mac>
      <indicate_ndpmon_presence>SUPPRESS</indicate_ndpmon_presence>
  </countermeasures>
  -->

</config_ndpmon>
"""  # noqa: E101, E501, W291 (verbatim copy of an NDPMon file)

# NDPMon 2.1.0's install/config_ndpmon.dtd (COMPATIBILITY.md §4.1, verbatim).
ORIGINAL_DTD = """\
<!ELEMENT config_ndpmon (settings, probes, countermeasures?)>
<!ELEMENT probes (probe*)>
<!ELEMENT probe (countermeasures_enabled?, routers?, rules?)>
<!ATTLIST probe
    name CDATA #REQUIRED
    type CDATA #REQUIRED
>
<!ELEMENT countermeasures_enabled (#PCDATA)>
<!ELEMENT settings (actions_high_priority, actions_low_priority, admin_mail, ignor_autoconf, syslog_facility, use_reverse_hostlookups, soap?)>
<!ELEMENT soap EMPTY>
<!ATTLIST soap
    report_url CDATA #IMPLIED
    report_src CDATA #IMPLIED
    listen_path CDATA #IMPLIED
    listen_port CDATA #IMPLIED
    ssl_certfile CDATA #IMPLIED
    ssl_certpass CDATA #IMPLIED
    ssl_cafile CDATA #IMPLIED
    ssl_commonname CDATA #IMPLIED
    ssl_enabled CDATA #REQUIRED
>
<!ELEMENT ignor_autoconf (#PCDATA)>
<!ELEMENT syslog_facility (#PCDATA)>
<!ELEMENT admin_mail (#PCDATA)>
<!ELEMENT actions_low_priority EMPTY>
<!ATTLIST actions_low_priority
    sendmail          CDATA #REQUIRED
    syslog            CDATA #REQUIRED
    exec_pipe_program CDATA #REQUIRED
>
<!ELEMENT actions_high_priority EMPTY>
<!ATTLIST actions_high_priority
    sendmail          CDATA #REQUIRED
    syslog            CDATA #REQUIRED
    exec_pipe_program CDATA #REQUIRED
>
<!ELEMENT sendmail (#PCDATA)>
<!ELEMENT syslog (#PCDATA)>
<!ELEMENT exec_pipe_program (#PCDATA)>
<!ELEMENT use_reverse_hostlookups (#PCDATA)>
<!ELEMENT routers (router*)>
<!ELEMENT router (
    mac, lla,
    param_curhoplimit?,
    param_flags_reserved?,
    param_router_lifetime?,
    param_reachable_timer?,
    param_retrans_timer?,
    param_mtu?,
    params_volatile?,
    addresses,
    prefixes,
    rdnss?,
    dnssl?,
    routes?
)>
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
<!ELEMENT prefix (address, mask, param_flags_reserved?, param_valid_time?, param_preferred_time?)>
<!ELEMENT mask (#PCDATA)>
<!ELEMENT param_valid_time (#PCDATA)>
<!ELEMENT param_preferred_time (#PCDATA)>
<!ELEMENT addresses (address*)>
<!ELEMENT address (#PCDATA)>
<!ELEMENT rdnss (nameserver+)>
<!ELEMENT nameserver (#PCDATA)>
<!ATTLIST nameserver lifetime CDATA #REQUIRED>
<!ELEMENT dnssl (domain+)>
<!ELEMENT domain (#PCDATA)>
<!ATTLIST domain lifetime CDATA #REQUIRED>
<!ELEMENT routes (route*)>
<!ELEMENT route (address, mask, param_pref_reserved, lifetime)>
<!ELEMENT param_pref_reserved (#PCDATA)>
<!ELEMENT lifetime (#PCDATA)>
<!ELEMENT countermeasures (kill_illegitimate_router?, kill_wrong_prefix?, propagate_router_params?, propagate_router_dns?, propagate_router_routes?, propagate_neighbor_mac?, indicate_ndpmon_presence?)>
<!ELEMENT kill_illegitimate_router (#PCDATA)>
<!ELEMENT kill_wrong_prefix (#PCDATA)>
<!ELEMENT propagate_router_params (#PCDATA)>
<!ELEMENT propagate_router_dns (#PCDATA)>
<!ELEMENT propagate_router_routes (#PCDATA)>
<!ELEMENT propagate_neighbor_mac (#PCDATA)>
<!ELEMENT indicate_ndpmon_presence (#PCDATA)>
<!ELEMENT rules (rule*)>
<!ELEMENT rule (no-match*, match*)>
<!ATTLIST rule
    description CDATA #REQUIRED
>
<!ELEMENT no-match EMPTY>
<!ATTLIST no-match
    field CDATA #REQUIRED
    value CDATA #IMPLIED
>
<!ELEMENT match EMPTY>
<!ATTLIST match
    field CDATA #REQUIRED
    value CDATA #IMPLIED
>
"""  # noqa: E101, E501, W291 (verbatim copy of an NDPMon file)


# -- the DTD -------------------------------------------------------------------------


def _content(decl) -> object:
    """A comparable form of a DTD content model."""
    if decl is None:
        return None
    return (decl.type, decl.name, decl.occur, _content(decl.left), _content(decl.right))


def _declarations(dtd: etree.DTD) -> dict[str, object]:
    """Every element of a DTD with its content model and attributes."""
    return {
        el.name: (
            el.type,
            _content(el.content),
            sorted(
                (a.name, a.type, a.default, a.default_value)
                for a in el.iterattributes()
            ),
        )
        for el in dtd.iterelements()
    }


def test_dtd_symlink_points_at_packaged_dtd():
    """The top-level config_ndpmon.dtd is a symlink to the packaged DTD."""
    top = REPO / "config_ndpmon.dtd"
    assert top.is_symlink()
    assert top.resolve() == config.PACKAGED_DTD.resolve()


def test_dtd_extends_original_only_with_optional_elements(tmp_path):
    """Our DTD declares every original element identically, except that <settings>
    gets optional <limits>, <delivery>, <store> and <metrics> and may leave out
    <ignor_autoconf>, <probe> an optional <proxies> and <last_dad_address> and the root
    an optional <plugins>."""
    original = _declarations(etree.DTD(write(tmp_path, ORIGINAL_DTD, "orig.dtd")))
    ours = _declarations(etree.DTD(str(config.PACKAGED_DTD)))
    changed = {name for name in original if original[name] != ours[name]}
    assert changed == {"settings", "probe", "config_ndpmon"}
    assert set(ours) - set(original) == {"limits", "last_dad_address", "delivery",
                                         "plugins", "plugin", "param", "store",
                                         "proxies", "proxy", "metrics"}
    assert ours["limits"][2] == [
        (name, "cdata", "implied", None) for name in sorted(
            ("max_addresses", "max_neighbors", "ra_rate", "rs_rate", "ns_rate", "na_rate",
             "redirect_rate", "rate_window", "max_learned_routers", "max_learned_prefixes",
             "max_learned_routes", "max_learned_rdnss", "max_learned_dnssl",
             "max_learned_addresses"))
    ]


def test_dtd_accepts_what_the_original_accepts(tmp_path):
    """Documents valid for the original DTD (full router, soap, rules, all
    countermeasures) are valid for ours."""
    original = etree.DTD(write(tmp_path, ORIGINAL_DTD, "orig.dtd"))
    ours = etree.DTD(str(config.PACKAGED_DTD))
    full = uncomment_examples(SAMPLE.read_text(encoding="iso-8859-1"))
    for extension in ('<limits max_neighbors="100000" max_addresses="16"/>',
                      '<metrics listen="127.0.0.1:9464"/>'):  # <soap> goes after them
        full = full.replace(extension, "")
    full = full.replace("</settings>", '<soap ssl_enabled="0"/></settings>')
    with_plugins = etree.fromstring(full.encode("iso-8859-1")).getroottree()
    assert ours.validate(with_plugins), ours.error_log  # our extension, example uncommented
    full = re.sub(r"<plugins>.*</plugins>", "", full, flags=re.S)
    for text in (full, GOLDEN.replace("<last_dad_address/>", ""), SHIPPED):
        tree = etree.fromstring(text.encode("iso-8859-1")).getroottree()
        assert original.validate(tree), original.error_log
        assert ours.validate(tree), ours.error_log


# -- valid configurations ------------------------------------------------------------


def test_sample_config_loads():
    """The shipped sample loads with the values its comments describe."""
    cfg = config.load(str(SAMPLE))
    s = cfg.settings
    assert s.actions_high == ActionSet(
        sendmail=False, syslog=True, exec_pipe_program=None
    )
    assert s.actions_low == ActionSet(
        sendmail=False, syslog=True, exec_pipe_program=None
    )
    assert (s.admin_mail, s.ignor_autoconf, s.syslog_facility) == (
        "root@localhost",
        None,  # blank: the kernel settings are left alone (issue 18, item 1)
        "LOG_LOCAL1",
    )
    assert s.use_reverse_hostlookups is False
    assert s.limits == Limits()
    [probe] = cfg.probes
    assert (probe.name, probe.type, probe.countermeasures_enabled) == (
        "eth0",
        "interface",
        False,
    )
    [router] = probe.routers
    assert router.mac == bytes.fromhex("00005e005301")
    assert router.lla == bytes.fromhex(
        "fe80000000000000 0200 5eff fe00 5301".replace(" ", "")
    )
    assert router.params_volatile is True
    assert router.curhoplimit is None and router.mtu is None
    [prefix] = router.prefixes
    assert prefix.address == bytes.fromhex("20010db8000100000000000000000000")
    assert (prefix.length, prefix.flags, prefix.valid, prefix.preferred) == (
        64,
        192,
        2592000,
        604800,
    )
    assert router.rdnss == ((bytes.fromhex("20010db8000100000000000000000053"), 900),)
    assert router.dnssl == (("example.com", 900),)
    [route] = router.routes
    assert route.address == bytes.fromhex("20010db8000200000000000000000000")
    assert (route.length, route.pref, route.lifetime) == (48, 0, 1800)
    assert probe.rules == ()
    assert cfg.countermeasures == {name: Guard() for name in COUNTERMEASURES}


def test_sample_config_is_valid_for_the_original_dtd(tmp_path):
    """The sample also validates against NDPMon 2.1's own DTD."""
    path = write(tmp_path, SAMPLE.read_text(encoding="iso-8859-1"))
    dtd = write(tmp_path, ORIGINAL_DTD, "orig.dtd")
    assert config.load(path, dtd).probes[0].name == "eth0"


def test_sample_config_examples_are_valid(tmp_path):
    """Every commented example of the sample, uncommented, gives a valid config."""
    path = write(tmp_path, uncomment_examples(SAMPLE.read_text(encoding="iso-8859-1")))
    cfg = config.load(path)
    assert cfg.settings.limits == Limits(max_neighbors=100000, max_addresses=16)
    remote, eth0 = cfg.probes
    assert (remote.name, remote.type) == ("somehost/eth0", "remote")
    assert eth0.countermeasures_enabled is True
    router = eth0.routers[0]
    assert (router.curhoplimit, router.flags, router.router_lifetime) == (64, 0, 1800)
    assert (router.reachable_timer, router.retrans_timer, router.mtu) == (0, 0, 1500)
    [rule] = eth0.rules
    assert rule.clauses == (
        MatchClause("inet6.source", "fe80::/10", negate=True),
        MatchClause("nd.ra", None, negate=False),
    )
    assert cfg.countermeasures["kill_illegitimate_router"] == Guard("RESPOND")
    assert cfg.countermeasures["kill_wrong_prefix"] == Guard("LAUNCH AFTER", 10)
    assert cfg.countermeasures["propagate_router_params"] == Guard("CEASE AFTER", 10)
    assert cfg.countermeasures["indicate_ndpmon_presence"] == Guard("SUPPRESS")


def test_golden_config_loads(tmp_path):
    """The config NDPMon 2.1 wrote in learning mode loads, despite its
    <last_dad_address/> (COMPATIBILITY.md §7.14) and empty <addresses/>."""
    cfg = config.load(write(tmp_path, GOLDEN))
    s = cfg.settings
    assert s.actions_high == ActionSet(True, True, "/usr/local/bin/pipe.sh")
    assert s.actions_low == ActionSet(True, True, "/usr/local/bin/pipe.sh")
    assert s.ignor_autoconf == 0
    [probe] = cfg.probes
    assert (probe.name, probe.type) == ("pcap0", "interface")
    [router] = probe.routers
    assert router.mac == bytes.fromhex("001122334455")
    assert router.lla == bytes.fromhex(
        "fe800000000000000211 22ff fe33 4455".replace(" ", "")
    )
    assert (router.curhoplimit, router.flags, router.router_lifetime) == (64, 0, 1800)
    assert (router.reachable_timer, router.retrans_timer, router.mtu) == (0, 0, 1500)
    assert router.params_volatile is False
    assert router.addresses == ()
    [prefix] = router.prefixes
    assert prefix.address == bytes.fromhex("20010db8000100000000000000000000")
    assert (prefix.length, prefix.flags, prefix.valid, prefix.preferred) == (
        64,
        192,
        2592000,
        604800,
    )
    assert router.rdnss == ((bytes.fromhex("20010db8000100000000000000000053"), 900),)
    assert router.dnssl == (("example.com", 900),)
    [route] = router.routes
    assert route.address == bytes.fromhex("20010db8000200000000000000000000")
    assert (route.length, route.pref, route.lifetime) == (48, 0, 1800)


@pytest.mark.skipif(
    not GOLDEN_FILE.exists(), reason="reference tree not available"
)
def test_golden_reference_file_loads():
    """The golden file itself (not only our copy of it) loads the same way."""
    assert GOLDEN_FILE.read_text(encoding="iso-8859-1") == GOLDEN
    cfg = config.load(str(GOLDEN_FILE))
    assert cfg.probes[0].routers[0].mac == bytes.fromhex("001122334455")


def test_original_shipped_config_loads(tmp_path):
    """NDPMon 2.1's default config loads: one probe, no router, no guard."""
    cfg = config.load(write(tmp_path, SHIPPED))
    assert cfg.settings.ignor_autoconf == 1
    assert cfg.settings.actions_high == ActionSet(False, True, None)
    [probe] = cfg.probes
    assert (probe.name, probe.type, probe.routers, probe.rules) == (
        "eth0",
        "interface",
        (),
        (),
    )
    assert cfg.countermeasures == {name: Guard() for name in COUNTERMEASURES}


def test_config_without_doctype_is_validated_with_packaged_dtd(tmp_path):
    """A DOCTYPE-less config is fine, and still validated."""
    path = with_base(
        tmp_path, ('<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">\n', "\n")
    )
    assert config.load(path).probes[0].name == "eth0"
    path = with_base(
        tmp_path,
        ('<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">\n', "\n"),
        ("  </settings>", "    <soap/>\n  </settings>"),
    )
    assert (
        load_error(path)
        == f"{path}:11: Element soap does not carry attribute ssl_enabled"
    )


def test_whitespace_around_values_is_stripped(tmp_path):
    """Values written on their own lines, with blanks around, are accepted."""
    path = with_base(
        tmp_path,
        ("<mac>0:11:22:33:44:55</mac>", "<mac>\n   0:11:22:33:44:55\n</mac>"),
        ('syslog="1"', 'syslog=" 1 "'),
        ("LOG_LOCAL1", "\n LOG_LOCAL1 \n"),
    )
    cfg = config.load(path)
    assert cfg.probes[0].routers[0].mac == bytes.fromhex("001122334455")
    assert cfg.settings.actions_high.syslog is True


def test_empty_router_address_is_skipped(tmp_path):
    """Empty <address/> entries (which NDPMon writes, COMPATIBILITY.md §7.8) are skipped, others
    kept."""
    path = with_base(
        tmp_path,
        (
            "<addresses/>",
            "<addresses><address/><address>2001:db8::1</address></addresses>",
        ),
    )
    router = config.load(path).probes[0].routers[0]
    assert router.addresses == (bytes.fromhex("20010db8" + "0" * 22 + "01"),)


def test_settings_values(tmp_path):
    """Action attributes, ignor_autoconf, facility and reverse lookups convert."""
    path = with_base(
        tmp_path,
        (
            'sendmail="0" syslog="1" exec_pipe_program=""',
            'sendmail="1" syslog="" exec_pipe_program=" /usr/bin/x "',
        ),
        ("<ignor_autoconf>0<", "<ignor_autoconf>1<"),
        ("LOG_LOCAL1", "LOG_DAEMON"),
        ("<use_reverse_hostlookups>0<", "<use_reverse_hostlookups>1<"),
        ("  </settings>", '    <limits max_neighbors="10"/>\n  </settings>'),
    )
    s = config.load(path).settings
    assert s.actions_high == ActionSet(
        sendmail=True, syslog=False, exec_pipe_program="/usr/bin/x"
    )
    assert s.actions_low == ActionSet()
    assert (s.ignor_autoconf, s.syslog_facility, s.use_reverse_hostlookups) == (
        1,
        "LOG_DAEMON",
        True,
    )
    assert s.limits == Limits(max_neighbors=10, max_addresses=Limits().max_addresses)


def test_rules_keep_document_order_and_countermeasures_partial(tmp_path):
    """Rule clauses keep their order; guards not listed are SUPPRESS."""
    path = with_base(
        tmp_path,
        (
            "      </routers>\n",
            """\
      </routers>
      <rules>
        <rule description=" NS not from A ">
          <no-match field="inet6.source" value="2001:db8::a"/>
          <match field="nd.ns"/>
          <match field="icmp6.code" value=" 0 "/>
        </rule>
        <rule description="empty"/>
      </rules>
""",
        ),
        (
            "</probes>\n",
            """\
</probes>
  <countermeasures>
    <propagate_router_dns>CEASE AFTER 3</propagate_router_dns>
  </countermeasures>
""",
        ),
    )
    cfg = config.load(path)
    first, second = cfg.probes[0].rules
    assert first.description == "NS not from A"
    assert first.clauses == (
        MatchClause("inet6.source", "2001:db8::a", True),
        MatchClause("nd.ns", None, False),
        MatchClause("icmp6.code", "0", False),
    )
    assert (second.description, second.clauses) == ("empty", ())
    expected = {name: Guard() for name in COUNTERMEASURES}
    expected["propagate_router_dns"] = Guard("CEASE AFTER", 3)
    assert cfg.countermeasures == expected


def test_doctype_naming_missing_dtd_falls_back_to_packaged(tmp_path):
    """A DOCTYPE naming a DTD that does not exist uses the packaged one."""
    path = with_base(tmp_path, ('SYSTEM "config_ndpmon.dtd"', 'SYSTEM "no/such.dtd"'))
    assert config.load(path).probes[0].name == "eth0"


def test_doctype_url_is_never_fetched(tmp_path):
    """A DOCTYPE naming a URL is not fetched: the packaged DTD is used."""
    path = with_base(
        tmp_path, ('SYSTEM "config_ndpmon.dtd"', 'SYSTEM "http://192.0.2.1/x.dtd"')
    )
    assert config.load(path).probes[0].name == "eth0"


def test_doctype_dtd_next_to_config_is_used(tmp_path):
    """The DTD the DOCTYPE names, relative to the config's directory, is used (inside the
    root's content: a root whose content is not ndpmon's is refused whatever the DTD)."""
    (tmp_path / "sub").mkdir()
    loose = config.PACKAGED_DTD.read_text().replace(
        "soap?, limits?, delivery?, store?, metrics?)>",
        "soap?, limits?, delivery?, store?, metrics?, extra?)><!ELEMENT extra (#PCDATA)>")
    write(tmp_path, loose, "sub/loose.dtd")
    path = with_base(tmp_path, ('SYSTEM "config_ndpmon.dtd"', 'SYSTEM "sub/loose.dtd"'),
                     ("</settings>", "<extra/></settings>"))
    assert config.load(path).probes[0].name == "eth0"
    assert "extra" in load_error(path, str(config.PACKAGED_DTD))


def test_old_dtd_next_to_config_falls_back_to_ours(tmp_path):
    """A DOCTYPE DTD that rejects what ours accepts (NDPMon's own, COMPATIBILITY.md §7.14) is not
    fatal."""
    write(tmp_path, "<!ELEMENT config_ndpmon EMPTY>\n", "config_ndpmon.dtd")
    path = with_base(tmp_path)
    assert config.load(path).probes[0].name == "eth0"


def test_both_dtds_reject(tmp_path):
    """When our DTD rejects the file too, its error is the one reported."""
    write(tmp_path, "<!ELEMENT config_ndpmon EMPTY>\n", "config_ndpmon.dtd")
    path = with_base(tmp_path, ("<settings>", "<settings><bogus/>"))
    assert "bogus" in load_error(path)


# -- errors ------------------------------------------------------------------------


def test_missing_file(tmp_path, monkeypatch):
    """A missing file is named as given, with the OS reason."""
    monkeypatch.chdir(tmp_path)
    assert load_error("config_ndpmon.xml") == (
        "config_ndpmon.xml: cannot read: No such file or directory"
    )


def test_directory_instead_of_file(tmp_path):
    """A directory is reported with the OS reason too."""
    assert load_error(str(tmp_path)) == f"{tmp_path}: cannot read: Is a directory"


def test_unreadable_file(tmp_path, monkeypatch):
    """A file we may not read gives the OS reason (faked: the tests may run as root)."""

    def refuse(path: str) -> int:
        raise PermissionError(13, "Permission denied", path)

    path = with_base(tmp_path)
    monkeypatch.setattr(config.xmlsafe, "_open_fd", refuse)
    assert load_error(path) == f"{path}: cannot read: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_for_real(tmp_path):
    """A file without read permission gives the OS reason."""
    path = with_base(tmp_path)
    os.chmod(path, 0)
    assert load_error(path) == f"{path}: cannot read: Permission denied"


def test_malformed_xml(tmp_path):
    """Broken XML gives the line and libxml2's message."""
    path = with_base(
        tmp_path, ("<mac>0:11:22:33:44:55</mac>", "<mac>0:11:22:33:44:55</lla>")
    )
    assert load_error(path) == (
        f"{path}:16: not well-formed XML: "
        "Opening and ending tag mismatch: mac line 16 and lla"
    )


def test_empty_file(tmp_path):
    """An empty file is not well-formed XML (NDPMon segfaulted on it)."""
    path = write(tmp_path, "")
    assert load_error(path) == f"{path}:1: not well-formed XML: Document is empty"


def test_dtd_violation(tmp_path):
    """A DTD violation gives the line of the element and libxml2's message."""
    path = with_base(tmp_path, ("<lla>fe80::211:22ff:fe33:4455</lla>\n", ""))
    assert load_error(path) == (
        f"{path}:15: Element router content does not follow the DTD, expecting "
        "(mac , lla , param_curhoplimit? , param_flags_reserved? , "
        "param_router_lifetime? , param_reachable_timer? , param_retrans_timer? , "
        "param_mtu? , params_volatile? , addresses , prefixes , rdnss? , dnssl? , "
        "routes?), got (mac addresses prefixes rdnss)"
    )


def test_dtd_missing_attribute(tmp_path):
    """A missing required attribute is a DTD violation."""
    path = with_base(tmp_path, (' type="interface"', ""))
    assert load_error(path) == (
        f"{path}:13: Element probe does not carry attribute type"
    )


def test_wrong_root_element(tmp_path):
    """A document that is not a <config_ndpmon> is refused, whatever the DTD says."""
    path = write(tmp_path, '<?xml version="1.0"?>\n<probes/>\n')
    assert (
        load_error(path)
        == f"{path}:2: the root element is <probes>, not <config_ndpmon>"
    )


def test_bad_mac(tmp_path):
    """A bad MAC names the line and the element."""
    path = with_base(tmp_path, ("<mac>0:11:22:33:44:55</mac>", "<mac> zz </mac>"))
    assert load_error(path) == f"{path}:16: <mac>: not a MAC address: 'zz'"


def test_bad_ipv6(tmp_path):
    """A bad IPv6 address names the line and the element."""
    path = with_base(tmp_path, ("fe80::211:22ff:fe33:4455", "fe80::g"))
    assert load_error(path) == f"{path}:17: <lla>: not an IPv6 address: 'fe80::g'"


def test_bad_number_in_attribute(tmp_path):
    """A bad number in an attribute names the element and the attribute."""
    path = with_base(tmp_path, ('lifetime="900"', 'lifetime="x"'))
    assert load_error(path) == (
        f"{path}:20: <nameserver lifetime>: not a number from 0 to 4294967295: 'x'"
    )


def test_bad_number_in_element(tmp_path):
    """A number out of range for its field is refused."""
    path = with_base(
        tmp_path,
        (
            "<lla>fe80::211:22ff:fe33:4455</lla>",
            "<lla>fe80::1</lla><param_curhoplimit>256</param_curhoplimit>",
        ),
    )
    assert load_error(path) == (
        f"{path}:17: <param_curhoplimit>: not a number from 0 to 255: '256'"
    )


def test_bad_limits(tmp_path):
    """A limit must be a positive number."""
    path = with_base(
        tmp_path, ("  </settings>", '    <limits max_addresses="0"/>\n  </settings>')
    )
    assert load_error(path) == (
        f"{path}:11: <limits max_addresses>: not a number from 1 to 4294967295: '0'"
    )


@pytest.mark.parametrize("attrs, error", [
    ('ra_rate="-1"', "<limits ra_rate>: not a number from 0 to 4294967295: '-1'"),
    ('rate_window="0"',
     "<limits rate_window>: not a number of seconds from 0 to 86400 (0 excluded): '0'"),
])
def test_bad_rates(tmp_path, attrs, error):
    """Rates are counts (0 = off); the window must be longer than 0 s."""
    path = with_base(tmp_path, ("  </settings>", f"    <limits {attrs}/>\n  </settings>"))
    assert load_error(path) == f"{path}:11: {error}"


def test_rates_are_read(tmp_path):
    """``<limits ns_rate ra_rate rate_window>`` reach the model, 0 (off) and fractions included."""
    path = with_base(tmp_path, ("  </settings>", '    <limits ns_rate="0" ra_rate="3" '
                                'rate_window="2.5"/>\n  </settings>'))
    limits = config.load(str(path)).settings.limits
    assert (limits.ns_rate, limits.ra_rate, limits.rate_window) == (0, 3, 2.5)


def test_bad_facility(tmp_path):
    """An unknown syslog facility is refused (NDPMon exited without a line)."""
    path = with_base(tmp_path, ("LOG_LOCAL1", "LOG_LOCAL9"))
    assert (
        load_error(path)
        == f"{path}:9: <syslog_facility>: not a syslog facility: 'LOG_LOCAL9'"
    )


def test_bad_switch_in_action_attribute(tmp_path):
    """An action switch other than 0, 1 or empty is refused, not read as off."""
    path = with_base(tmp_path, ('sendmail="0"', 'sendmail="yes"'))
    assert (
        load_error(path)
        == f"{path}:5: <actions_high_priority sendmail>: not 0 or 1: 'yes'"
    )


def test_bad_switch_in_element(tmp_path):
    """ignor_autoconf accepts only 0 or 1."""
    path = with_base(tmp_path, ("<ignor_autoconf>0<", "<ignor_autoconf>2<"))
    assert load_error(path) == f"{path}:8: <ignor_autoconf>: not 0 or 1: '2'"


def test_bad_guard(tmp_path):
    """A misspelt guard is an error (NDPMon silently used SUPPRESS)."""
    path = with_base(
        tmp_path,
        (
            "</probes>\n",
            "</probes>\n  <countermeasures>\n"
            "    <kill_wrong_prefix>LAUNCH AFTER ten</kill_wrong_prefix>\n"
            "  </countermeasures>\n",
        ),
    )
    assert load_error(path) == (
        f"{path}:26: <kill_wrong_prefix>: "
        "not a countermeasure guard: 'LAUNCH AFTER ten'"
    )


def test_bad_domain(tmp_path):
    """A DNSSL domain with an empty label is refused."""
    path = with_base(
        tmp_path,
        ("</rdnss>", '</rdnss><dnssl><domain lifetime="60">a..b</domain></dnssl>'),
    )
    assert load_error(path) == f"{path}:20: <domain>: not a domain name: 'a..b'"


def test_empty_value(tmp_path):
    """An empty element where a value is needed is an error (NDPMon segfaulted)."""
    path = with_base(tmp_path, ("<mac>0:11:22:33:44:55</mac>", "<mac/>"))
    assert load_error(path) == f"{path}:16: <mac>: empty value"


def test_empty_probe_name(tmp_path):
    """A probe needs a name."""
    path = with_base(tmp_path, ('name="eth0"', 'name=" "'))
    assert load_error(path) == f"{path}:13: <probe name>: empty value"


def test_multiline_admin_mail(tmp_path):
    """A mail address spread over lines could inject mail headers: refused."""
    path = with_base(tmp_path, ("root@localhost", "root@localhost\nBcc: x@example.com"))
    assert load_error(path) == (
        f"{path}:7: <admin_mail>: "
        "not a single line of text: 'root@localhost\\nBcc: x@example.com'"
    )


def test_unknown_probe_type(tmp_path):
    """A probe type other than interface or remote is refused."""
    path = with_base(tmp_path, ('type="interface"', 'type="pcap"'))
    assert load_error(path) == (
        f"{path}:13: <probe type>: not 'interface' or 'remote': 'pcap'"
    )


def test_duplicate_probe(tmp_path):
    """Two probes with the same name are refused, naming both lines."""
    path = with_base(
        tmp_path, ("  </probes>", '    <probe name="eth0" type="remote"/>\n  </probes>')
    )
    assert load_error(path) == (
        f"{path}:24: <probe name>: probe 'eth0' is already defined on line 13"
    )


def test_entity_declaration_is_refused(tmp_path):
    """An XXE attempt is refused and the file's content appears nowhere."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    path = with_base(
        tmp_path,
        (
            '<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">',
            f'<!DOCTYPE config_ndpmon [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        ),
        ("root@localhost", "&xxe;"),
    )
    message = load_error(path)
    assert message == f"{path}: entity declarations in the DOCTYPE are not allowed"
    assert "TOPSECRET" not in message


def test_entity_reference_is_refused(tmp_path):
    """An undeclared entity reference (left unexpanded by the parser) is refused."""
    path = with_base(tmp_path, ("root@localhost", "&xxe;"))
    assert load_error(path) == f"{path}:7: entity reference '&xxe;' is not allowed"


def test_internal_entity_in_attribute_is_refused(tmp_path):
    """Internal entities, which libxml2 expands in attributes, are refused too."""
    path = with_base(
        tmp_path,
        (
            '<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">',
            '<!DOCTYPE config_ndpmon [<!ENTITY e "eth1">]>',
        ),
        ('name="eth0"', 'name="&e;"'),
    )
    assert (
        load_error(path)
        == f"{path}: entity declarations in the DOCTYPE are not allowed"
    )


def test_dtd_option_rejecting_the_file(tmp_path):
    """With -e, the given DTD is used: NDPMon's own DTD rejects <last_dad_address>."""
    path = write(tmp_path, GOLDEN)
    dtd = write(tmp_path, ORIGINAL_DTD, "orig.dtd")
    assert load_error(path, dtd) == (
        f"{path}:14: Element probe content does not follow the DTD, expecting "
        "(countermeasures_enabled? , routers? , rules?), got (routers last_dad_address)"
    )


def test_dtd_option_missing_file(tmp_path):
    """A -e file that does not exist is named with the OS reason."""
    path = with_base(tmp_path)
    dtd = str(tmp_path / "dtd.dtd")
    assert load_error(path, dtd) == f"{dtd}: cannot read DTD: No such file or directory"


def test_dtd_option_malformed_dtd(tmp_path):
    """A -e file that is not a DTD gives its line and libxml2's message."""
    path = with_base(tmp_path)
    dtd = write(tmp_path, "<!ELEMENT config_ndpmon (settings>\n", "dtd.dtd")
    assert load_error(path, dtd) == (
        f"{dtd}:1: cannot read DTD: ContentDecl : ',' '|' or ')' expected"
    )


def test_check_is_load():
    """check() (for --check-config) is the same as load()."""
    assert config.check is config.load
