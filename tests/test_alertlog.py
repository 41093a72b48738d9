"""Tests for ndpmon.formats.alertsxml: alerts.xml appended to in NDPMon 2.x's format."""

from __future__ import annotations

import contextlib
import resource
import shutil
import signal
from pathlib import Path

import pytest
from conftest import GOLDEN as GOLDEN_DIR
from lxml import etree

from ndpmon.checks.alert import Alert, Priority
from ndpmon.files.text import xml_escape
from ndpmon.formats.alertsxml import HEADER, AlertsXml
from ndpmon.errors import ConfigError, WriteError
from ndpmon.config.values import ipv6 as parse_ipv6, mac as parse_mac

GOLDEN = GOLDEN_DIR / "monitor" / "alerts.xml"
T = 1795348077
ZERO_MAC = "0:0:0:0:0:0"




def golden_blocks() -> list[str]:
    """The ``<alert>`` blocks of the original's alerts.xml, each with its newline."""
    text = GOLDEN.read_text(encoding="utf-8")
    body = text[text.index("  <alert>\n"):text.rindex("</alerts>")]
    return ["  <alert>\n" + block for block in body.split("  <alert>\n")[1:]]


def golden_alerts() -> list[Alert]:
    """The original's alerts, read back from its alerts.xml."""
    alerts = []
    for el in etree.parse(str(GOLDEN)).getroot():
        f = {child.tag: child.text or "" for child in el}
        mac2 = parse_mac(f["ethernet_address2"])
        alerts.append(Alert(
            time=int(f["time"]), probe=f["probe"], priority=Priority(int(f["priority"])),
            reason=f["reason"], message=f["message"],
            mac=parse_mac(f["ethernet_address1"]),
            mac2=None if mac2 == bytes(6) else mac2,
            ipv6=parse_ipv6(f["ipv6_address"]),
        ))
    return alerts


def alert(message: str = "bogon 0:bb:0:0:0:2 2001:db8:99::1", **kw: object) -> Alert:
    fields = dict(time=T, probe="pcap0", priority=Priority.LOW, reason="bogon",
                  message=message, mac=parse_mac("0:bb:0:0:0:2"),
                  ipv6=parse_ipv6("2001:db8:99::1"))
    fields.update(kw)
    return Alert(**fields)


def parsed(path: Path) -> list[dict[str, str]]:
    """The alerts of the file at ``path``, parsed by lxml (fails if not well-formed)."""
    root = etree.parse(str(path)).getroot()
    assert root.tag == "alerts"
    return [{c.tag: c.text or "" for c in el} for el in root]


# -- format --------------------------------------------------------------------------


def test_golden_blocks_byte_for_byte(utc, tmp_path: Path) -> None:
    """Alerts equal to some of the original's are written exactly as it wrote them."""
    wanted = [
        alert("wrong prefix 2001:db8:bad:0 0:11:22:33:44:55 fe80:0:0:0:211:22ff:fe33:4455",
              priority=Priority.HIGH, reason="wrong prefix",
              mac=parse_mac("0:11:22:33:44:55"), ipv6=parse_ipv6("fe80::211:22ff:fe33:4455")),
        alert("RA prefix option valid lifetime 3600 < 2 hours", priority=Priority.HIGH,
              reason="RA prefix option valid lifetime too short",
              mac=parse_mac("0:11:22:33:44:55"), ipv6=parse_ipv6("fe80::211:22ff:fe33:4455")),
        alert("new IP 0:bb:0:0:0:2 2001:db8:1::b\n", reason="new IP",
              ipv6=parse_ipv6("2001:db8:1::b")),
        alert("flip flop between 0:cc:0:0:0:3 and 0:aa:0:0:0:1 for fe80::2aa:ff:fe00:1",
              priority=Priority.HIGH, reason="flip flop", mac=parse_mac("0:aa:0:0:0:1"),
              mac2=parse_mac("0:cc:0:0:0:3"), ipv6=parse_ipv6("fe80::2aa:ff:fe00:1")),
    ]
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path)) as log:
        log.write(wanted)
    blocks = golden_blocks()
    expected = HEADER.replace("</alerts>\n", "".join(blocks[i] for i in (1, 9, 12, 14)))
    assert path.read_text() == expected + "</alerts>\n"


def test_whole_golden_file_reproduced(utc, tmp_path: Path) -> None:
    """Writing the original's 35 alerts to a new file gives its alerts.xml byte for byte."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path)) as log:
        log.write(golden_alerts())
    assert path.read_bytes() == GOLDEN.read_bytes()


def test_absent_fields_are_zero(tmp_path: Path) -> None:
    """An alert without MACs or address has all-zero MACs and ``::``, as the original wrote."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path)) as log:
        log.write([alert(mac=None, ipv6=None)])
    [a] = parsed(path)
    assert (a["ethernet_address1"], a["ethernet_address2"], a["ipv6_address"]) == (
        ZERO_MAC, ZERO_MAC, "::")


def test_control_characters_are_visible(tmp_path: Path) -> None:
    """A message with bytes XML forbids is kept readable as ``\\x07`` escapes, not dropped."""
    path = tmp_path / "alerts.xml"
    message = "wrong RA DNSSL option: bad\x07dom\x00ain\udcff"
    with AlertsXml(str(path)) as log:
        log.write([alert(message)])
    assert "<message>wrong RA DNSSL option: bad\\x07dom\\x00ain\\udcff</message>" in (
        path.read_text())
    assert parsed(path)[0]["message"] == "wrong RA DNSSL option: bad\\x07dom\\x00ain\\udcff"


def test_markup_round_trips(tmp_path: Path) -> None:
    """``< & >``, non-ASCII text and a final newline in a message read back unchanged;
    ``\\r`` and ``\\t`` come back as visible escapes (they were kept before issue 14:
    no control character of a packet may break or shape a line of alerts.xml)."""
    path = tmp_path / "alerts.xml"
    message = "a<b & c>d\r\te ünï €\n"
    with AlertsXml(str(path)) as log:
        log.write([alert(message)])
    assert parsed(path)[0]["message"] == "a<b & c>d\\x0d\\x09e ünï €\n"


def test_every_control_character_is_visible_but_a_final_newline(tmp_path: Path) -> None:
    """Issue 14: C0 and C1 controls, DEL and U+2028/U+2029 in a message, probe or reason
    are ``\\x85``-style escapes, so packet text never starts a line; a final newline
    (NDPMon's ``new IP``) stays, byte-compatible with the original."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path)) as log:
        log.write([alert("a\nb\x85c\x7fd\u2028e\x1cf\n", probe="p\nq", reason="r\rs")])
    text = path.read_text()
    assert "<message>a\\x0ab\\x85c\\x7fd\\u2028e\\x1cf\n</message>" in text
    assert "<probe>p\\x0aq</probe>" in text and "<reason>r\\x0ds</reason>" in text
    assert all(line.lstrip().startswith("<") for line in text.splitlines())


def test_xml_escape_attribute() -> None:
    """In an attribute, quotes and whitespace controls become character references."""
    assert xml_escape('a"b\n\tc&', attribute=True) == "a&quot;b&#10;&#9;c&amp;"


# -- appending ---------------------------------------------------------------------


def test_new_file_gets_header(tmp_path: Path) -> None:
    """Opening a file that does not exist creates NDPMon's empty template."""
    path = tmp_path / "alerts.xml"
    AlertsXml(str(path)).close()
    assert path.read_text() == HEADER


@pytest.mark.parametrize("text", ["", "\n \n"])
def test_empty_file_gets_header(tmp_path: Path, text: str) -> None:
    """Opening an empty or blank file writes NDPMon's empty template into it."""
    path = tmp_path / "alerts.xml"
    path.write_text(text)
    AlertsXml(str(path)).close()
    assert path.read_text() == HEADER


def test_parseable_after_each_append(tmp_path: Path) -> None:
    """After every batch the file is well-formed and holds every alert so far."""
    path = tmp_path / "alerts.xml"
    log = AlertsXml(str(path))
    for n in range(1, 6):
        log.write([alert(f"bogon {n}.{i}") for i in range(n)])
        assert len(parsed(path)) == n * (n + 1) // 2
    log.close()
    assert [a["message"] for a in parsed(path)][:4] == [
        "bogon 1.0", "bogon 2.0", "bogon 2.1", "bogon 3.0"]


def test_append_to_original_file_keeps_old_alerts(tmp_path: Path) -> None:
    """Appending to an alerts.xml the original wrote keeps its alerts byte for byte."""
    path = tmp_path / "alerts.xml"
    shutil.copy(GOLDEN, path)
    with AlertsXml(str(path)) as log:
        log.write([alert("first")])
        log.write([alert("second")])
    old = GOLDEN.read_bytes()
    assert path.read_bytes().startswith(old[: -len(b"</alerts>\n")])
    messages = [a["message"] for a in parsed(path)]
    assert len(messages) == 37 and messages[-2:] == ["first", "second"]


def test_trailing_whitespace_after_closing_tag(tmp_path: Path) -> None:
    """Blank lines after ``</alerts>`` are accepted and replaced by one newline."""
    path = tmp_path / "alerts.xml"
    path.write_text(HEADER + "\n\n  \n")
    with AlertsXml(str(path)) as log:
        log.write([alert()])
    assert path.read_text().endswith("  </alert>\n</alerts>\n")
    assert len(parsed(path)) == 1


def test_empty_batch_changes_nothing(tmp_path: Path) -> None:
    """Writing no alerts leaves an existing file exactly as it was."""
    path = tmp_path / "alerts.xml"
    path.write_text(HEADER + "\n")
    with AlertsXml(str(path)) as log:
        log.write([])
    assert path.read_text() == HEADER + "\n"


def test_file_truncated_behind_our_back(tmp_path: Path) -> None:
    """If the file is emptied while open (copytruncate rotation), the next write starts it anew."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path)) as log:
        log.write([alert("one")])
        path.write_bytes(b"")
        log.write([alert("two")])
    assert path.read_text().startswith(HEADER[:-len("</alerts>\n")])
    assert [a["message"] for a in parsed(path)] == ["two"]


def test_reopen_after_rename(tmp_path: Path) -> None:
    """``reopen`` after the file was moved away starts a new file at the old path."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path)) as log:
        log.write([alert("one")])
        path.rename(tmp_path / "alerts.xml.1")
        log.reopen()
        log.write([alert("two")])
    assert [a["message"] for a in parsed(path)] == ["two"]
    assert [a["message"] for a in parsed(tmp_path / "alerts.xml.1")] == ["one"]


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [HEADER + "junk\n", "<alerts/>\n", "hello\n",
                                  "<html>\n  </alert>\n  <alert>\n"])
def test_not_an_alerts_file(tmp_path: Path, text: str) -> None:
    """A file that does not end with ``</alerts>`` and is no alerts file cut by a crash
    (text after its ``</alerts>``, no ``<alerts>`` at its top) is refused and left
    untouched (a cut one is repaired: tests/test_full_disk.py)."""
    path = tmp_path / "alerts.xml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        AlertsXml(str(path))
    assert str(info.value) == f"{path}: not an alerts file: does not end with </alerts>"
    assert path.read_text() == text


def test_cannot_open(tmp_path: Path) -> None:
    """A path in a missing directory gives WriteError ``path: cannot open: ...``."""
    path = tmp_path / "none" / "alerts.xml"
    with pytest.raises(WriteError) as info:
        AlertsXml(str(path))
    assert str(info.value) == f"{path}: cannot open: No such file or directory"


def test_write_after_close(tmp_path: Path) -> None:
    """Writing to a closed log is an error, not a silent loss."""
    path = tmp_path / "alerts.xml"
    log = AlertsXml(str(path))
    log.close()
    with pytest.raises(WriteError) as info:
        log.write([alert()])
    assert str(info.value) == f"{path}: cannot write: file is closed"


@contextlib.contextmanager
def file_size_limit(size: int):
    """Writes of this process beyond ``size`` bytes fail with EFBIG, as on a full disk
    (RLIMIT_FSIZE, SIGXFSZ ignored); the old limit is back afterwards."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_failed_write_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """A batch the disk takes only in part is undone: the file is byte for byte what it
    was, well-formed, and the next batch goes in once there is room (before: buffered
    writes left the batch cut, the next open refused the file)."""
    path = tmp_path / "alerts.xml"
    log = AlertsXml(str(path))
    log.write([alert("one")])
    before = path.read_bytes()
    with file_size_limit(len(before) + 600):  # room for one alert, not for five
        with pytest.raises(WriteError) as info:
            log.write([alert(f"two {i}") for i in range(5)])
    assert str(info.value) == f"{path}: cannot write: File too large"
    assert path.read_bytes() == before
    log.write([alert("three")])
    log.close()
    assert [a["message"] for a in parsed(path)] == ["one", "three"]
