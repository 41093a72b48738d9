"""Alerts carry what an admin needs to triage them (issue 18, item 8).

* NDPMon's message texts stay where compatibility needs them (syslog, the mail subject,
  alerts.xml), but the JSON message and the web report drop the trailing newline NDPMon
  put on ``new IP``;
* a ``wrong ipv6 router`` alert says what the rogue advertised (router lifetime,
  preference, flags, prefixes, RDNSS, DNSSL, routes, MTU) in its JSON ``fields`` and in
  the mail body; the pipe program's input stays NDPMon's five lines;
* the report's message column writes addresses as its IPv6 column does.
Frames are real (scapy-built) and replayed through ``ndpmon -r``.
"""

from __future__ import annotations

import json
from pathlib import Path

from scapy.utils import wrpcap
from test_live import ROGUE_LLA, ROGUE_MAC, na, ra
from test_learn_no_router import CONFIG as BLANK
from test_report import cache_file, rows, text

from ndpmon.alerts.mail import Mail
from ndpmon.alerts.mailbody import body_for
from ndpmon.alerts.syslog import Syslog
from ndpmon.checks.alert import Alert, Priority
from ndpmon.commands import report
from ndpmon.commands.main import main
from ndpmon.config.model import Delivery, Settings
from ndpmon.formats import alertsread, alertsxml

HOST = "02:00:00:00:00:09"
CONFIG = BLANK.replace("<ignor_autoconf></ignor_autoconf>", "<ignor_autoconf>0</ignor_autoconf>")


def replay(tmp_path: Path, capsys, frames: list[bytes]) -> list[dict]:
    """``ndpmon -r`` of ``frames`` on a probe with no router; the JSON alerts."""
    (tmp_path / "config.xml").write_text(CONFIG.format(probe="eth0"))
    wrpcap(str(tmp_path / "capture.pcap"), frames)
    rc = main(["-f", str(tmp_path / "config.xml"), "-g", str(tmp_path / "cache.xml"), "-q",
               "-r", str(tmp_path / "capture.pcap"), "--json-alerts", "-"])
    assert rc == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_new_ip_has_no_trailing_newline_in_json_but_keeps_it_for_ndpmons_outputs(tmp_path,
                                                                                  capsys):
    """A host's second address raises ``new IP``: its JSON message ends with the address;
    alerts.xml, the syslog line and the alert itself keep NDPMon's newline."""
    alerts = replay(tmp_path, capsys, [na(HOST, "fe80::9"), na(HOST, "2001:db8:1::9")])
    new_ip = [a for a in alerts if a["reason"] == "new IP"]
    assert [a["message"] for a in new_ip] == ["new IP 2:0:0:0:0:9 2001:db8:1::9"]
    assert "<message>new IP 2:0:0:0:0:9 2001:db8:1::9\n</message>" in \
        (tmp_path / "alerts.xml").read_text()
    alert = [a for a in alertsread.read_alerts(str(tmp_path / "alerts.xml"))
             if a.reason == "new IP"][0]
    assert alert.message.endswith("\n") and Syslog.text(alert).endswith("\n ")


def test_rogue_router_alert_says_what_it_advertised(tmp_path, capsys):
    """The rogue RA's router lifetime, preference, flags, hop limit, prefix (flags and
    lifetimes), MTU, RDNSS, DNSSL and route are the ``wrong ipv6 router`` alert's fields."""
    (alert,) = replay(tmp_path, capsys, [ra(ROGUE_MAC, ROGUE_LLA, prefix="2001:db8:bad::")])
    assert alert["reason"] == "wrong ipv6 router"
    fields = alert["fields"]
    assert (fields["router_lifetime"], fields["preference"], fields["ra_flags"],
            fields["hop_limit"], fields["mtu"]) == (1800, "high", [], 64, 1500)  # scapy: prf 1
    assert fields["prefixes"] == [{"prefix": "2001:db8:bad::/64", "flags": ["L", "A"],
                                   "valid": 86400, "preferred": 14400}]
    assert fields["rdnss"] == [{"server": "2001:db8:1::53", "lifetime": 900}]
    assert fields["dnssl"] == [{"domain": "example.net", "lifetime": 900}]
    assert fields["routes"] == [{"route": "2001:db8:2::/48", "preference": "medium",
                                 "lifetime": 1800}]


def test_the_mail_body_says_what_the_rogue_advertised_the_pipe_input_does_not(tmp_path,
                                                                              capsys):
    """The mail (through a sendmail program that keeps its input) has NDPMon's five lines, then
    ``Advertised:`` with the prefix, RDNSS and route; the pipe program's input is NDPMon's."""
    replay(tmp_path, capsys, [ra(ROGUE_MAC, ROGUE_LLA, prefix="2001:db8:bad::")])
    alert = Alert(**engine_alert(tmp_path))
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f"#!/bin/sh\ncat > {tmp_path / 'mail.txt'}\n")
    sendmail.chmod(0o755)
    Mail(Settings(delivery=Delivery(sendmail_program=str(sendmail)))).notify(alert)
    mail = (tmp_path / "mail.txt").read_text()
    body = mail.split("\n\n", 1)[1]
    assert body.startswith("Reason:  wrong ipv6 router\nMAC:     0:66:66:66:66:66\n")
    assert ("\nAdvertised:\n  router lifetime 1800 s, preference high, flags none, hop "
            "limit 64\n  prefix 2001:db8:bad::/64 (flags L A, valid 86400 s, preferred "
            "14400 s)\n  RDNSS 2001:db8:1::53 (lifetime 900 s)\n  DNSSL example.net "
            "(lifetime 900 s)\n  route 2001:db8:2::/48 (preference medium, lifetime 1800 s)"
            "\n  MTU 1500\n") in body
    assert "Advertised" not in body_for(alert, None)  # the pipe program's stdin


def engine_alert(tmp_path: Path) -> dict:
    """The replayed rogue alert, rebuilt as an Alert with its fields (from the engine)."""
    from ndpmon.capture.replay import read_batches
    from ndpmon.config import loader
    from ndpmon.engine.engine import Engine

    engine = Engine(loader.load(str(tmp_path / "config.xml")))
    for batch in read_batches(str(tmp_path / "capture.pcap")):
        for when, frame in batch:
            for alert in engine.handle("eth0", when, frame):
                return alert._asdict()
    raise AssertionError("no alert")


def test_report_message_column_writes_addresses_as_the_ipv6_column(tmp_path):
    """``fe80:0:0:0:0:0:0:666`` in a message is shown ``fe80::666`` (the IPv6 column's form), and
    ``new IP``'s newline is gone; alerts.xml keeps NDPMon's text."""
    log = alertsxml.AlertsXml(str(tmp_path / "alerts.xml"))
    log.write([
        Alert(1.0, "eth0", Priority.HIGH, "wrong ipv6 router",
              "wrong ipv6 router 0:66:66:66:66:66 fe80:0:0:0:0:0:0:666",
              bytes.fromhex("006666666666"), None, bytes.fromhex("fe80" + "0" * 24 + "0666")),
        Alert(2.0, "eth0", Priority.LOW, "new IP", "new IP 2:0:0:0:0:9 2001:db8:1:0:0:0:0:9\n",
              bytes.fromhex("020000000009"), None,
              bytes.fromhex("20010db8000100000000000000000009"))])
    log.close()
    (tmp_path / "config.xml").write_text(CONFIG.format(probe="eth0"))
    out = tmp_path / "web"
    report.render(str(tmp_path / "config.xml"), cache_file(tmp_path),
                  str(tmp_path / "alerts.xml"), str(out))
    cells = [(r.xpath("td")[4], text(r.xpath("td")[7])) for r in rows(out, "alerts.html")]
    assert [(c.text_content(), ip) for c, ip in cells] == [
        ("new IP 2:0:0:0:0:9 2001:db8:1::9", "2001:db8:1::9"),
        ("wrong ipv6 router 0:66:66:66:66:66 fe80::666", "fe80::666")]
    assert "fe80:0:0:0:0:0:0:666" in (tmp_path / "alerts.xml").read_text()
