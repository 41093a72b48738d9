"""The always-on outputs: alerts on the console and as JSON lines."""

from __future__ import annotations

import io
import json
from types import MappingProxyType

from ndpmon.alerts.console import Console
from ndpmon.alerts.jsonlines import JsonLines
from ndpmon.checks.alert import Alert, Priority

MAC = bytes.fromhex("00005e005366")
SRC = bytes.fromhex("fe800000000000000000000000000666")
DNSSL = "wrong RA DNSSL option: \x1b[2Jevil\x07.example 900"


def alert(message: str = DNSSL) -> Alert:
    """A high-priority alert at 2026-01-01T00:00:00Z."""
    extra = MappingProxyType({"type": "RA", "dst": bytes.fromhex("ff02" + "0" * 26 + "01")})
    return Alert(1767225600.0, "eth0", Priority.HIGH, "wrong RA DNSSL option", message,
                 MAC, None, SRC, extra)


def test_console_line_makes_control_characters_visible():
    """A hostile DNSSL name cannot clear the admin's screen or forge lines."""
    out = io.StringIO()
    console = Console(out)
    console.notify(alert())
    console.flush()
    assert out.getvalue() == ("2026-01-01T00:00:00Z eth0 high: wrong RA DNSSL option: "
                              "\\x1b[2Jevil\\x07.example 900\n")


def test_console_drops_the_trailing_newline_of_new_ip():
    """NDPMon's ``new IP`` message ends with a newline: one line all the same."""
    out = io.StringIO()
    console = Console(out)
    console.notify(alert("new IP 0:0:5e:0:53:66 2001:db8:1::66\n"))
    console.stop()
    assert out.getvalue().count("\n") == 1


def test_json_lines(tmp_path):
    """One JSON object per alert, addresses as text, appended to the file."""
    path = tmp_path / "alerts.jsonl"
    for _ in range(2):
        action = JsonLines(str(path))
        action.start()
        action.notify(alert())
        action.stop()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 2
    assert rows[0] == {
        "time": "2026-01-01T00:00:00Z", "probe": "eth0", "priority": "high",
        "reason": "wrong RA DNSSL option", "message": DNSSL, "mac": "0:0:5e:0:53:66",
        "mac2": None, "ipv6": "fe80::666", "fields": {"type": "RA", "dst": "ff02::1"}}
