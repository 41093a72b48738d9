"""The rules plugin and ndpmon.config.rulefields: every field of NDPMon's rule language,
``<no-match>`` (which NDPMon ignored, COMPATIBILITY.md §7.12), and one-line errors for bad rules."""

from __future__ import annotations

import pytest

from ndpmon.config import rulefields
from ndpmon.config.loader import load as load_file
from ndpmon.codec.decode import decode
from ndpmon.errors import ConfigError
from plugkit import (ROGUE_LLA, ROGUE_MAC, ROUTER_LLA, ROUTER_MAC, config_text, engine_for,
                     load, na, ns, ra, write_config)

A, B = "00:aa:00:00:00:01", "00:bb:00:00:00:02"


def redirect() -> bytes:
    from scapy.layers.inet6 import ICMPv6ND_Redirect, IPv6
    from scapy.layers.l2 import Ether

    return bytes(Ether(src=ROUTER_MAC, dst="00:aa:00:00:00:01")
                 / IPv6(src=ROUTER_LLA, dst="fe80::a", hlim=255)
                 / ICMPv6ND_Redirect(tgt="fe80::77", dst="2001:db8:9::1"))


RA_FRAME = ra(mtu=1480)          # chlim 64, lifetime 1800, SLLA, MTU, PIO 2001:db8:1::/64 LA
NS_FRAME = ns(A, "fe80::a", "2001:db8:1::5")
NA_FRAME = na(B, "fe80::b", "fe80::b", flags="RSO")
RD_FRAME = redirect()

# (field, value, frame, expected result of rulefields.test)
CASES = [
    ("ethernet.source", A, NS_FRAME, True),
    ("ethernet.source", B, NS_FRAME, False),
    ("ethernet.destination", "33:33:ff:00:00:05", NS_FRAME, True),
    ("inet6.source", "fe80::/10", NS_FRAME, True),
    ("inet6.source", "fe80::b", NS_FRAME, False),
    ("inet6.destination", "ff02::1:ff00:5", NS_FRAME, True),
    ("inet6.payload", "32", NS_FRAME, True),
    ("inet6.nextheader", "58", NS_FRAME, True),
    ("inet6.hoplimit", "255", NS_FRAME, True),
    ("icmp6.type", "135", NS_FRAME, True),
    ("icmp6.code", "0", NS_FRAME, True),
    ("nd.rs", None, NS_FRAME, False),
    ("nd.ra", None, RA_FRAME, True),
    ("nd.ns", "", NS_FRAME, True),
    ("nd.na", "1", NA_FRAME, True),
    ("nd.rd", None, RD_FRAME, True),
    ("nd.ra.curhoplimit", "64", RA_FRAME, True),
    ("nd.ra.curhoplimit", "64", NS_FRAME, None),   # an RA field on an NS: not applicable
    ("nd.ra.flag.managed", None, RA_FRAME, False),
    ("nd.ra.flag.other", None, RA_FRAME, False),
    ("nd.ra.flag.homeagent", None, RA_FRAME, False),
    ("nd.ra.lifetime", "1800", RA_FRAME, True),
    ("nd.ra.reachabletimer", "0", RA_FRAME, True),
    ("nd.ra.retranstimer", "1", RA_FRAME, False),
    ("nd.ns.targetaddress", "2001:db8:1::/64", NS_FRAME, True),
    ("nd.na.flag.router", None, NA_FRAME, True),
    ("nd.na.flag.solicited", None, NA_FRAME, True),
    ("nd.na.flag.override", None, NA_FRAME, True),
    ("nd.na.targetaddress", "fe80::b", NA_FRAME, True),
    ("nd.rd.targetaddress", "fe80::77", RD_FRAME, True),
    ("nd.rd.destinationaddress", "2001:db8:9::/48", RD_FRAME, True),
    ("nd.opt.sourcelinklayer", None, NS_FRAME, True),
    ("nd.opt.targetlinklayer", None, NS_FRAME, False),
    ("nd.opt.prefixinfo", None, RA_FRAME, True),
    ("nd.opt.mtu", None, NS_FRAME, False),
    ("nd.opt.sourcelinklayer.address", ROUTER_MAC, RA_FRAME, True),
    ("nd.opt.targetlinklayer.address", B, NA_FRAME, True),
    ("nd.opt.targetlinklayer.address", B, NS_FRAME, False),   # option missing: false
    ("nd.opt.prefixinfo.flag.onlink", None, RA_FRAME, True),
    ("nd.opt.prefixinfo.flag.autoconf", None, RA_FRAME, True),
    ("nd.opt.prefixinfo.validlifetime", "86400", RA_FRAME, True),
    ("nd.opt.prefixinfo.preferredlifetime", "14400", RA_FRAME, True),
    ("nd.opt.prefixinfo.prefix", "2001:db8:1::/64", RA_FRAME, True),
    ("nd.opt.prefixinfo.prefix", "2001:db8:2::/64", RA_FRAME, False),
    ("nd.opt.mtu.mtu", "1480", RA_FRAME, True),
]


@pytest.mark.parametrize("field, value, frame, expected", CASES)
def test_field(field, value, frame, expected):
    """Each field reads what NDPMon's rules.c read (fixed where noted in rulefields)."""
    assert rulefields.test(field, rulefields.parse(field, value), decode(frame)) is expected


def test_every_field_has_a_case():
    """Every field of the rule language is tested above."""
    assert {case[0] for case in CASES} == set(rulefields.FIELDS)


def rules_config(rules: str, plugin: bool = True) -> str:
    return config_text('    <plugin name="rules"/>' if plugin else "",
                       rules=f"      <rules>\n{rules}\n      </rules>")


def test_no_match_works(tmp_path):
    """"NS not from A": A's own NS does not match (it did in NDPMon, COMPATIBILITY.md §7.12), B's
    does."""
    engine = engine_for(load(tmp_path, rules_config(
        f'        <rule description="NS not from A">\n'
        f'          <no-match field="ethernet.source" value="{A}"/>\n'
        f'          <match field="nd.ns"/>\n        </rule>')))
    assert [a.reason for a in engine.handle("lan0", 1.0, ns(A, "fe80::a", "fe80::1"))] == [
        "new station"]
    alerts = engine.handle("lan0", 2.0, ns(B, "fe80::b", "fe80::1"))
    assert [(a.reason, a.message, a.priority.label) for a in alerts] == [
        ("new station", "new station 0:bb:0:0:0:2 fe80::b", "low"),
        ("user defined rule matched", "NS not from A", "low")]


def test_every_matching_rule_alerts(tmp_path):
    """Two rules matching the same packet give two alerts, in config order; a rule
    with a clause that does not apply matches nothing."""
    engine = engine_for(load(tmp_path, rules_config(
        '        <rule description="link-local source">'
        '<match field="inet6.source" value="fe80::/10"/></rule>\n'
        '        <rule description="RA hop limit 64">'
        '<match field="nd.ra.curhoplimit" value="64"/></rule>\n'
        '        <rule description="any NS"><match field="nd.ns"/></rule>')))
    alerts = engine.handle("lan0", 1.0, ra())
    assert [a.message for a in alerts if a.reason == "user defined rule matched"] == [
        "link-local source", "RA hop limit 64"]


def test_rules_run_only_if_nothing_stopped(tmp_path):
    """A rogue RA stops at ``wrong ipv6 router``: the rules do not run (COMPATIBILITY.md §3.1)."""
    engine = engine_for(load(tmp_path, rules_config(
        '        <rule description="an RA"><match field="nd.ra"/></rule>')))
    assert [a.reason for a in engine.handle("lan0", 1.0, ra(ROGUE_MAC, ROGUE_LLA))] == [
        "wrong ipv6 router"]


def test_rules_without_the_plugin_raise_nothing(tmp_path):
    """``<rules>`` alone (an NDPMon config) is accepted, but nothing matches until the
    plugin is switched on."""
    engine = engine_for(load(tmp_path, rules_config(
        '        <rule description="an NS"><match field="nd.ns"/></rule>', plugin=False)))
    assert [a.reason for a in engine.handle("lan0", 1.0, ns(A, "fe80::a", "fe80::1"))] == [
        "new station"]


@pytest.mark.parametrize("clause, message", [
    ('<match field="inet6.src" value="fe80::/10"/>',
     "<match field>: unknown field 'inet6.src'"),
    ('<no-match field="ethernet.source" value="zz"/>',
     "<no-match value>: not a MAC address: 'zz'"),
    ('<match field="inet6.hoplimit"/>', "<match value>: field inet6.hoplimit needs a value"),
    ('<match field="inet6.hoplimit" value="256"/>', "<match value>: "),
    ('<match field="nd.ra" value="yes"/>', "<match value>: takes no value (got 'yes')"),
    ('<match field="inet6.source" value="fe80::/129"/>', "<match value>: "),
])
def test_bad_clause_is_one_line_with_its_line(tmp_path, clause, message):
    """A rule the plugin could not evaluate is refused when the config is loaded."""
    text = rules_config(f'        <rule description="bad">\n          {clause}\n        </rule>')
    path = write_config(tmp_path, text)
    line = text.splitlines().index(f"          {clause}") + 1
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}:{line}: {message}")
