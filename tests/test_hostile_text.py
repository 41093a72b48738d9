"""Issue 15, item 7: text from a packet reaches no text output raw.

One Router Advertisement from the configured router carries a DNSSL option whose labels
a LAN station chose: a newline followed by a whole forged syslog record, terminal escape
sequences, BEL, and the C1 controls NEL (U+0085, which ``str.splitlines()`` takes for a
line break) and CSI (U+009B). The capture is replayed through the ``ndpmon`` command with
delivery on, so the text goes the real way: decoder (labels are latin-1), the RA check's
``wrong RA DNSSL option`` message, then every output. Each must show the text visibly
(``\\x0a``, ``\\x1b``, ``\\x85``) and keep it on one line or record: the console on
stderr, ``--json-alerts`` (ASCII only), alerts.xml, the mail's subject (a sendmail
program that keeps the message) and a real rsyslogd on a stream socket (imptcp, framed
as glibc frames: NUL or newline), where the label used to forge a record with the
attacker's facility and program name.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

from floodgen import frame
from lxml import etree

from fuzz.frames import write_pcap
from services import wait_for

REPO = Path(__file__).resolve().parents[1]
ROUTER_MAC = bytes.fromhex("001122334455")
ROUTER_LLA = bytes.fromhex("fe800000000000000000000000000001")
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
FORGED = b"\n<13>Dec  6 12:00:00 host evil: forged"
TERMINAL = b"\x1b]0;owned\x07\x1b[2J\x85\x9b31m"
#: The message as the decoder and the RA check make it (labels are lower-cased).
MESSAGE = ("wrong RA DNSSL option: " + FORGED.decode("latin-1").lower() + "."
           + TERMINAL.decode("latin-1").lower() + ".example 900")
#: ... and as every text output must show it.
VISIBLE = ("wrong RA DNSSL option: \\x0a<13>dec  6 12:00:00 host evil: forged."
           "\\x1b]0;owned\\x07\\x1b[2j\\x85\\x9b31m.example 900")

CONFIG = """\
<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="1" syslog="1" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>1</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <delivery syslog_socket="{sock}" sendmail_program="{sendmail}" dedupe_window="0"/>
  </settings>
  <probes>
    <probe name="lan0" type="interface">
      <routers>
        <router>
          <mac>0:11:22:33:44:55</mac>
          <lla>fe80::1</lla>
          <addresses/>
          <prefixes/>
        </router>
      </routers>
    </probe>
  </probes>
</config_ndpmon>
"""
SENDMAIL = """\
import sys
from pathlib import Path
Path(sys.argv[0]).with_name("mail.eml").write_bytes(sys.stdin.buffer.read())
"""


def dnssl_ra() -> bytes:
    """The router's RA with a source link-layer option and the hostile DNSSL option."""
    labels = b"".join(bytes((len(label),)) + label for label in (FORGED, TERMINAL, b"example"))
    name = labels + b"\0"
    name += bytes(-(8 + len(name)) % 8)  # pad the option to 8-byte units
    dnssl = struct.pack("!BBHI", 31, (8 + len(name)) // 8, 0, 900) + name
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BB", 1, 1) + ROUTER_MAC + dnssl
    return frame(ROUTER_MAC, b"\x33\x33\x00\x00\x00\x01", ROUTER_LLA, ALL_NODES, body)


def replay(tmp_path: Path, sock: str) -> subprocess.CompletedProcess:
    """``ndpmon -r`` of the hostile RA with delivery on; outputs in ``tmp_path``."""
    pcap = tmp_path / "dnssl.pcap"
    write_pcap(pcap, [(1_790_000_000.0, dnssl_ra())])
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f"#!{sys.executable}\n" + SENDMAIL)
    sendmail.chmod(0o755)
    config = tmp_path / "config.xml"
    config.write_text(CONFIG.format(sock=sock, sendmail=sendmail))
    return subprocess.run(
        [sys.executable, "-m", "ndpmon", "-f", str(config), "-r", str(pcap), "--deliver",
         "-g", str(tmp_path / "cache.xml"), "--json-alerts", str(tmp_path / "alerts.jsonl")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_a_dnssl_label_forges_no_syslog_record(rsyslog_stream, tmp_path):
    """rsyslogd on a stream socket gets exactly one record for the alert, at NDPMon's
    facility and ident, with the label's newline and escapes visible (before: a second
    record ``user.notice|evil:| forged...``, the attacker's facility and program)."""
    sock, out = rsyslog_stream
    done = replay(tmp_path, sock)
    assert done.returncode == 0, done.stderr

    def records() -> list[str]:
        return out.read_text().splitlines() if out.exists() else []
    wait_for(lambda: any("NDPMon stopped." in line for line in records()))
    pid = records()[0].split("[")[1].split("]")[0]
    tag = f"NDPMon[{pid}]:"
    assert records() == [f"local1.notice|{tag}| NDPMon started by user {os.getuid()}|",
                         f"local1.info|{tag}|  {VISIBLE} |",
                         f"local1.notice|{tag}| NDPMon stopped.|"]


def test_console_json_alerts_xml_and_mail_show_the_text_visibly(rsyslog_stream, tmp_path):
    """The console line, the JSON line (ASCII: U+0085 no longer splits it for
    ``str.splitlines()``), alerts.xml's ``<message>`` and the mail subject each hold the
    message on one line, its controls visible (before: the console let C1 controls
    through, JSON wrote U+0085 raw, the subject turned them into blanks)."""
    sock, _out = rsyslog_stream
    done = replay(tmp_path, sock)
    assert done.returncode == 0, done.stderr
    console = [line for line in done.stderr.splitlines() if "DNSSL" in line]
    assert console == [f"2026-09-21T14:13:20Z lan0 high: {VISIBLE}"]
    raw = (tmp_path / "alerts.jsonl").read_bytes()
    assert raw.isascii()
    [row] = [json.loads(line) for line in raw.decode().splitlines()]
    assert row["message"] == MESSAGE
    xml = (tmp_path / "alerts.xml").read_text()
    escaped = VISIBLE.replace("<", "&lt;").replace(">", "&gt;")
    assert f"    <message>{escaped}</message>\n" in xml
    assert [el.text for el in etree.fromstring(xml.encode()).iter("message")] == [VISIBLE]
    mail = message_from_bytes((tmp_path / "mail.eml").read_bytes(), policy=policy.default)
    assert mail["Subject"] == f"NDPMon_Security_Alert: {VISIBLE}"


def test_log_lines_are_printable(capsys):
    """A log line quoting packet text (a plugin's error about a DNSSL name) stays one
    line on stderr, its controls visible; a traceback keeps its lines (before: the
    newline and ESC reached the terminal, or syslog after ``-D``)."""
    import logging

    from ndpmon.run.daemon import setup_logging

    logger = logging.getLogger("ndpmon")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        setup_logging(False)
        logger.error("plugin x: %s", MESSAGE)
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("with a traceback")
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"ndpmon: plugin x: {VISIBLE}"
    assert lines[1] == "ndpmon: with a traceback"
    assert lines[2] == "Traceback (most recent call last):"


def test_query_prints_alerts_printable():
    """``ndpmon query`` prints alerts from the store, whose text is the packet's, one line
    each with the controls visible (before: ESC and C1 reached the terminal)."""
    from ndpmon.checks.alert import Alert, Priority
    from ndpmon.commands.query import Findings, format_findings

    alert = Alert(1_790_000_000.0, "lan0", Priority.HIGH, "wrong RA DNSSL option", MESSAGE)
    [line, _count] = format_findings(Findings([], [alert]), 10)
    assert line.endswith(f" lan0 high wrong RA DNSSL option: {VISIBLE}")
