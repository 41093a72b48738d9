"""Alert delivery against real peers: rsyslogd on its own socket, an SMTP server
(aiosmtpd) and a sendmail program, all driven through the Dispatcher."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import sys
from pathlib import Path

import pytest

from ndpmon.alerts.syslog import start_text
from ndpmon.checks.alert import Alert, Priority
from ndpmon.alerts.dispatch import Dispatcher
from ndpmon.config.model import ActionSet, Delivery, Settings
from services import wait_for

MAC = bytes.fromhex("006666666666")
LLA = bytes.fromhex("fe800000000000000000000000000666")
ROGUE = "wrong ipv6 router fe80::666"
NEW_IP = "new IP 0:66:66:66:66:66 fe80::666\n"


def alert(message: str = ROGUE, priority: Priority = Priority.HIGH,
          reason: str = "wrong ipv6 router") -> Alert:
    """An alert from probe eth0."""
    return Alert(1767225600.0, "eth0", priority, reason, message, MAC, None, LLA)


def hostile(tmp_path: Path) -> tuple[str, Path]:
    """Alert text that a shell would act on, and the file it would create."""
    pwned = tmp_path / "pwned"
    return (f"wrong RA DNSSL option: \"$(touch {pwned})\" `touch {pwned}`; "
            f"touch {pwned} 'x' 900", pwned)


def deliver(settings: Settings, *alerts: Alert) -> Dispatcher:
    """Start a real Dispatcher, send ``alerts``, stop it."""
    dispatcher = Dispatcher(settings)
    dispatcher.start()
    for one in alerts:
        dispatcher.notify(one)
    dispatcher.stop(timeout=30)
    return dispatcher


# -- (a) rsyslogd --------------------------------------------------------------------------

def ndpmon_lines(out: Path, count: int) -> list[str]:
    """The first ``count`` lines rsyslogd wrote for NDPMon (waits for them)."""
    def lines() -> list[str]:
        text = out.read_text() if out.exists() else ""
        return [line for line in text.splitlines() if "|NDPMon[" in line]
    wait_for(lambda: len(lines()) >= count)
    return lines()


def test_rsyslog_receives_ndpmons_lines(rsyslog, tmp_path):
    """Start/stop notices at notice, alerts at info (both priorities), local1, NDPMon[pid].

    rsyslog's %msg% keeps the blank after ``NDPMon[pid]:``, so NDPMon's leading space
    shows as two blanks; the trailing space is kept; a newline inside is written #012.
    """
    sock, out = rsyslog
    text, pwned = hostile(tmp_path)
    on = ActionSet(syslog=True)
    settings = Settings(actions_high=on, actions_low=on, syslog_facility="LOG_LOCAL1",
                        delivery=Delivery(syslog_socket=sock, dedupe_window=0))
    deliver(settings, alert(), alert(NEW_IP, Priority.LOW, "new IP"),
            alert(text, reason="wrong RA DNSSL option"))
    tag = f"NDPMon[{os.getpid()}]:"
    assert ndpmon_lines(out, 5) == [
        f"local1.notice|{tag}| {start_text()}|",
        f"local1.info|{tag}|  {ROGUE} |",
        f"local1.info|{tag}|  new IP 0:66:66:66:66:66 fe80::666#012 |",
        f"local1.info|{tag}|  {text} |",
        f"local1.notice|{tag}| NDPMon stopped.|"]
    assert not pwned.exists()


def test_rsyslog_high_only(rsyslog):
    """Syslog on for high only: a low alert is not written, and the facility is honoured."""
    sock, out = rsyslog
    settings = Settings(actions_high=ActionSet(syslog=True), syslog_facility="LOG_DAEMON",
                        delivery=Delivery(syslog_socket=sock))
    deliver(settings, alert("low one", Priority.LOW), alert("high one"))
    lines = ndpmon_lines(out, 3)
    assert [line.split("|")[0] for line in lines] == ["daemon.notice", "daemon.info",
                                                      "daemon.notice"]
    assert lines[1].endswith("|  high one |")


# -- (b) SMTP ------------------------------------------------------------------------------

class Collector:
    """aiosmtpd handler keeping every envelope."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1; yields (port, collector)."""
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    collector = Collector()
    port = free_port()
    controller = controller_mod.Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, collector
    finally:
        controller.stop()


def parse(raw: bytes) -> email.message.EmailMessage:
    """A received mail as a message object."""
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_mail_through_a_relay(smtp, tmp_path):
    """High alerts are mailed with low sendmail off (COMPATIBILITY.md §7.6); headers and body as
    NDPMon."""
    port, collector = smtp
    text, pwned = hostile(tmp_path)
    settings = Settings(actions_high=ActionSet(sendmail=True), admin_mail="admin@example.com",
                        delivery=Delivery(mail_relay=("127.0.0.1", port),
                                          mail_from="ndpmon@probe.example"))
    dispatcher = deliver(settings, alert(), alert("low", Priority.LOW),
                         alert(NEW_IP, reason="new IP"),
                         alert(text, reason="wrong RA DNSSL option"))
    assert dispatcher.by_action() == {"mail": (3, 0)}  # sent, failed
    assert [e.rcpt_tos for e in collector.envelopes] == [["admin@example.com"]] * 3
    assert collector.envelopes[0].mail_from == "ndpmon@probe.example"
    first, second, third = (parse(e.original_content) for e in collector.envelopes)
    assert (first["From"], first["To"]) == ("ndpmon@probe.example", "admin@example.com")
    assert first["Subject"] == f"NDPMon_Security_Alert: {ROGUE}"
    assert first.get_content().splitlines() == [
        "Reason:  wrong ipv6 router", "MAC:     0:66:66:66:66:66", "MAC2:    n/a",
        "IPv6:    fe80::666", "DNS:     n/a", ""]
    assert second["Subject"] == "NDPMon_Security_Alert: new IP 0:66:66:66:66:66 fe80::666"
    assert third["Subject"] == f"NDPMon_Security_Alert: {text}"
    assert third.get_content_type() == "text/plain"
    assert third.get_content().splitlines()[0] == "Reason:  wrong RA DNSSL option"
    assert not pwned.exists()


def test_mail_relay_down_is_logged(caplog):
    """A refused relay is a counted failure; the dispatcher carries on."""
    settings = Settings(actions_high=ActionSet(sendmail=True),
                        delivery=Delivery(mail_relay=("127.0.0.1", free_port()),
                                          exec_timeout=5))
    dispatcher = deliver(settings, alert(), alert("second"))
    assert dispatcher.failures == 2 and dispatcher.by_action() == {"mail": (0, 2)}
    assert sum("Connection refused" in r.getMessage() for r in caplog.records) == 2


# -- (c) sendmail --------------------------------------------------------------------------

FAKE_SENDMAIL = """\
import json, sys
from pathlib import Path
out = Path(sys.argv[0]).with_name("sent")
out.mkdir(exist_ok=True)
n = len(list(out.iterdir())) // 2
(out / f"{n}.argv").write_text(json.dumps(sys.argv[1:]))
(out / f"{n}.eml").write_bytes(sys.stdin.buffer.read())
"""


def test_sendmail_program(tmp_path):
    """The local sendmail gets ``-i -t`` only, and the whole message on stdin."""
    program = tmp_path / "sendmail"
    program.write_text(f"#!{sys.executable}\n" + FAKE_SENDMAIL)
    program.chmod(0o755)
    text, pwned = hostile(tmp_path)
    both = ActionSet(sendmail=True)
    settings = Settings(actions_high=both, actions_low=both, admin_mail="-oQ@evil root",
                        delivery=Delivery(sendmail_program=str(program)))
    dispatcher = deliver(settings, alert(text, Priority.LOW, "wrong RA DNSSL option"))
    assert dispatcher.failures == 0
    sent = tmp_path / "sent"
    assert sorted(p.name for p in sent.iterdir()) == ["0.argv", "0.eml"]
    assert (sent / "0.argv").read_text() == '["-i", "-t"]'
    msg = parse((sent / "0.eml").read_bytes())
    assert msg["To"] == "-oQ@evil, root"
    assert msg["From"] == f"ndpmon@{socket.gethostname()}"
    assert msg["Subject"] == f"NDPMon_Security_Alert: {text}"
    assert msg.get_content().splitlines()[0] == "Reason:  wrong RA DNSSL option"
    assert not pwned.exists()


def test_sendmail_failure_is_logged(tmp_path, caplog):
    """A sendmail exiting nonzero is one warning line with its error."""
    program = tmp_path / "sendmail"
    program.write_text("#!/bin/sh\ncat >/dev/null\necho 'queue full' >&2\nexit 75\n")
    program.chmod(0o755)
    settings = Settings(actions_high=ActionSet(sendmail=True),
                        delivery=Delivery(sendmail_program=str(program)))
    dispatcher = deliver(settings, alert())
    assert dispatcher.failures == 1
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"mail alert to root@localhost not sent: {program}: exit status 75: queue full"]
