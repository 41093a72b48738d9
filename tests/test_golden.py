"""Regression against what NDPMon 2.1.0 itself wrote for golden/monitor.pcap.

The capture is replayed through the command line exactly as an admin would run it, with
the original's config and its learned cache. The alerts must be the original's, in order,
apart from the bug fixes listed in FIXES (each names its section of COMPATIBILITY.md §7).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import GOLDEN
from lxml import etree

from ndpmon.commands.main import main


pytestmark = pytest.mark.skipif(not GOLDEN.is_dir(), reason=f"no golden outputs at {GOLDEN}")

DNSSL_RAW = "wrong RA DNSSL option: \x07example\x03com 900"

#: original message -> what we print instead (None: we print nothing for it)
FIXES = {
    # The original compared DNSSL label bytes with the configured name (COMPATIBILITY.md §7.4).
    DNSSL_RAW: None,
    # The original printed (valid, preferred) into "preferred ... valid ..."
    # (COMPATIBILITY.md §7.11).
    "RA preferred lifetime 3600 longer than valid lifetime 7200":
        "RA preferred lifetime 7200 longer than valid lifetime 3600",
}
#: alerts we add, with the message they follow: frame 29 sends "example.com" as a plain
#: string, which is no valid RFC 8106 label encoding (COMPATIBILITY.md §7.4, the other side of the
#: fix).
ADDED = [("new station 0:12:34:56:78:9a fe80::1:2:3:4",
          "wrong RA DNSSL option: undecodable domain name (label length 101 > 63)"),
         # frame 17, an NS from B's MAC and LLA whose SLLA is another MAC, binds B's LLA to
         # that MAC at its target: ndpmon's neighbor cache poisoning (COMPATIBILITY.md §2.8).
         ("ethernet mismatch 0:bb:bb:bb:bb:bb 0:bb:0:0:0:2 fe80:0:0:0:2bb:ff:fe00:2",
          "neighbor cache poisoning: NS from 0:bb:0:0:0:2 binds fe80::2bb:ff:fe00:2 to "
          "0:bb:bb:bb:bb:bb, not to its owner 0:bb:0:0:0:2")]


def golden_syslog() -> list[str]:
    """The alert messages of golden/monitor/syslog.log (LOG_INFO lines), in order."""
    text = (GOLDEN / "monitor" / "syslog.log").read_text(encoding="latin-1")
    found = re.findall(r"priority=6 msg=\[ (.*?) \]\n(?=ident=|\Z)", text, re.S)
    assert len(found) == 35, "golden syslog parsed wrongly"
    return found


def expected_messages() -> list[str]:
    """The golden messages with our documented fixes applied."""
    out = []
    for message in golden_syslog():
        fixed = FIXES.get(message, message)
        if fixed is not None:
            out.append(fixed)
        out.extend(added for after, added in ADDED if after == message)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Replay golden/monitor.pcap with the golden config and learned cache."""
    tmp = tmp_path_factory.mktemp("golden")
    shutil.copy(GOLDEN / "learn" / "neighbor_list.xml", tmp / "neighbor_list.xml")
    rc = main(["-q", "-f", str(GOLDEN / "monitor" / "config_ndpmon.xml"),
               "-g", str(tmp / "neighbor_list.xml"), "-r", str(GOLDEN / "monitor.pcap"),
               "--json-alerts", str(tmp / "alerts.jsonl"),
               "--alerts-xml", str(tmp / "alerts.xml")])
    assert rc == 0
    alerts = [json.loads(line) for line in (tmp / "alerts.jsonl").read_text().splitlines()]
    return tmp, alerts


def test_messages_match_the_original(run):
    """Every alert message is the original's, in the original's order, fixes aside: exactly in
    alerts.xml (as syslog and mail get it); in JSON without NDPMon's final newline of ``new
    IP`` (issue 18 item 8)."""
    from ndpmon.formats.alertsread import read_alerts

    tmp, alerts = run
    expected = expected_messages()
    assert [a.message for a in read_alerts(str(tmp / "alerts.xml"))] == expected
    assert [a["message"] for a in alerts] == [m.removesuffix("\n") for m in expected]


def _golden_alert_fields() -> list[tuple]:
    tree = etree.parse(str(GOLDEN / "monitor" / "alerts.xml"))
    rows = []
    for el in tree.iterfind("alert"):
        mac2 = el.findtext("ethernet_address2")
        rows.append((el.findtext("reason"), int(el.findtext("priority")),
                     el.findtext("ethernet_address1"),
                     None if mac2 == "0:0:0:0:0:0" else mac2, el.findtext("ipv6_address")))
    return rows


def test_reasons_priorities_and_addresses_match(run):
    """Reason, priority, both MACs and the IPv6 field match golden alerts.xml."""
    _, alerts = run
    ours = [(a["reason"], 2 if a["priority"] == "high" else 1, a["mac"], a["mac2"], a["ipv6"])
            for a in alerts if a["message"] not in {added for _, added in ADDED}]
    golden = [row for row, msg in zip(_golden_alert_fields(), golden_syslog(), strict=True)
              if msg != DNSSL_RAW]
    assert ours == golden


def _neighbors(path: Path) -> list[tuple]:
    """The cache content that does not depend on the clock."""
    rows = []
    for nb in etree.parse(str(path)).iterfind("probe/neighbor"):
        old = tuple((m.text, m.get("last")) for m in nb.iterfind("old_macs/mac"))
        addrs = tuple(sorted(a.text for a in nb.iterfind("addresses/address")))
        rows.append((nb.findtext("mac"), nb.findtext("first_mac_seen"), nb.findtext("lla"),
                     addrs, old))
    return rows


def test_final_cache_matches_the_original(run):
    """The saved neighbour cache holds what the original's did (times aside)."""
    tmp, _ = run
    assert _neighbors(tmp / "neighbor_list.xml") == _neighbors(
        GOLDEN / "monitor" / "neighbor_list.xml")


def test_alerts_xml_has_every_alert(run):
    """alerts.xml is well-formed and lists every alert of the run."""
    tmp, alerts = run
    tree = etree.parse(str(tmp / "alerts.xml"))
    assert [el.findtext("reason") for el in tree.iterfind("alert")] == [
        a["reason"] for a in alerts]
