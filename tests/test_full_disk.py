"""Issue 15, item 1: a full disk or a ``kill -9`` neither stops the monitor nor keeps it down.

A write the disk cannot take is undone (alerts.xml and the JSON lines stay whole), the
output is logged once, counted, reported by one ``output failure`` alert and tried again
after a back-off; a file that a ``kill -9`` or a crash cut is repaired at the next open.
The disk is made full two ways, both real kernel failures: RLIMIT_FSIZE (EFBIG past a
size, for unprivileged unit tests) and, in tests/test_full_disk_live.py, a small tmpfs.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from lxml import etree
from plugkit import config_text, engine_for, load
from test_alertlog import file_size_limit

from ndpmon.alerts.action import Action
from ndpmon.alerts.guard import LOG_EVERY, RETRY_FIRST, RETRY_MAX, Guarded
from ndpmon.alerts.jsonlines import JsonLines
from ndpmon.alerts.xmlfile import AlertsXmlAction
from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.errors import ConfigError, WriteError
from ndpmon.formats.alertsxml import HEADER, AlertsXml, read_alerts
from ndpmon.run.pipeline import Pipeline

T = 1_790_000_000.0


def alert(n: int = 0, message: str = "") -> Alert:
    """A low alert numbered ``n`` (its message names it)."""
    return Alert(T + n, "lan0", Priority.LOW, reasons.NEW_STATION,
                 message or f"new station 0:0:5e:0:53:{n:x} fe80::{n:x}")


def messages(path: Path) -> list[str]:
    """The messages of an alerts.xml, parsed by lxml (fails if it is not well-formed)."""
    return [el.findtext("message") for el in etree.parse(str(path)).getroot()]


def json_messages(path: Path) -> list[str]:
    """The messages of a JSON lines file (fails on a line that is not whole)."""
    text = path.read_text()
    assert not text or text.endswith("\n")
    return [json.loads(line)["message"] for line in text.splitlines()]


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- the guard's policy ------------------------------------------------------------------


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Disk(Action):
    """An output whose batches fail while ``full``; keeps what it wrote, counts tries."""

    def __init__(self) -> None:
        self.full = False
        self.written: list[Alert] = []
        self.batch: list[Alert] = []
        self.tries = 0

    def notify(self, alert: Alert) -> None:
        self.batch.append(alert)

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        self.tries += 1
        if self.full:
            raise OSError(28, "No space left on device")
        self.written += batch


def feed(guarded: Guarded, first: int, count: int) -> None:
    """``count`` alerts from number ``first``, then the batch's flush."""
    for n in range(first, first + count):
        guarded.notify(alert(n))
    guarded.flush()


def test_a_full_output_is_logged_once_reported_once_and_retried_with_back_off(caplog):
    """The first failure: one log line, one ``output failure`` alert (high, the failing
    alert's time and probe). While down: no attempt before the back-off (1 s, doubling
    to 60 s), alerts counted as lost, at most one line per LOG_EVERY s. Room again: one
    line with the loss, and the next outage is reported again (before: every failure
    was an attempt, logged every 1000th, and no alert said so)."""
    clock, disk = Clock(), Disk()
    guarded = Guarded(disk, "test output", clock=clock)
    feed(guarded, 0, 3)
    disk.full = True
    feed(guarded, 3, 2)
    [report] = guarded.take_reports()
    assert (report.reason, report.priority, report.time, report.probe) == (
        reasons.OUTPUT_FAILURE, Priority.HIGH, T + 4, "lan0")
    assert report.message == ("output failure: test output: OSError: No space left on "
                              "device; its alerts are dropped until it works again")
    tries = disk.tries
    feed(guarded, 5, 10)  # within the back-off: not tried
    assert disk.tries == tries and guarded.outage.lost == 12
    delays = []
    for _ in range(12):  # tried again after each back-off, which doubles up to the cap
        before = clock.now
        while disk.tries == tries:
            clock.now += 0.5
            feed(guarded, 0, 1)
        tries = disk.tries
        delays.append(clock.now - before)
    assert delays[:3] == [RETRY_FIRST, 2 * RETRY_FIRST, 4 * RETRY_FIRST]
    assert delays[-1] == RETRY_MAX
    assert guarded.take_reports() == []
    lines = warnings(caplog)
    assert lines[0] == ("output test output: OSError: No space left on device; its alerts "
                        "are dropped until it works again")
    assert len(lines) == 1 + int((clock.now - 1000.0) // LOG_EVERY)
    disk.full = False
    clock.now += RETRY_MAX
    feed(guarded, 100, 1)
    assert disk.written[-1].message == alert(100).message
    assert warnings(caplog)[-1].startswith("output test output: works again after ")
    disk.full = True
    feed(guarded, 101, 1)
    assert [r.reason for r in guarded.take_reports()] == [reasons.OUTPUT_FAILURE]


class Keep(Action):
    """An output that keeps every alert."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)


def test_the_pipeline_raises_the_report_to_the_other_outputs(tmp_path):
    """The ``output failure`` alert goes to every output once per outage, after the
    batch whose write failed (the failing one is down and counts it as lost)."""
    engine = engine_for(load(tmp_path, config_text()))
    disk, keep = Disk(), Keep()
    disk.full = True
    pipeline = Pipeline(engine, [Guarded(disk, "disk", clock=Clock()), keep])
    for n in range(3):
        pipeline.raise_alerts([alert(n)])
    raised = pipeline.flush()
    assert [a.reason for a in raised] == [reasons.OUTPUT_FAILURE]
    assert [a.reason for a in keep.alerts] == [reasons.NEW_STATION] * 3 + [
        reasons.OUTPUT_FAILURE]
    pipeline.raise_alerts([alert(4)])
    assert pipeline.flush() == []


# -- alerts.xml ----------------------------------------------------------------------------


def written(path: Path, count: int) -> bytes:
    """An alerts.xml of ``count`` alerts, as the writer leaves it; its bytes."""
    with AlertsXml(str(path)) as log:
        log.write([alert(n) for n in range(count)])
    return path.read_bytes()


def cuts(whole: bytes) -> list[int]:
    """Where a crash can cut the file: everywhere inside the last alert and its closing
    tag, and at the page boundaries before (a ``kill -9`` stops a write at one)."""
    last = whole.rindex(b"  <alert>\n")
    return sorted(set(range(last, len(whole) - 1)) | set(range(4096, last, 4096)))


def test_alerts_xml_cut_anywhere_is_repaired_at_open(tmp_path, caplog):
    """A file cut at any byte of its last alert (or at a page boundary, or followed by
    the zeros a crash leaves) opens: cut back to its last complete alert, closed, one
    line naming the file and the bytes dropped; it parses and the next alert follows
    (before: ``not an alerts file: does not end with </alerts>``, exit 2)."""
    path = tmp_path / "alerts.xml"
    whole = written(path, 30)
    caplog.set_level(logging.WARNING, "ndpmon")
    for cut in cuts(whole):
        for tail in (b"", b"\0" * 3000):
            path.write_bytes(whole[:cut] + tail)
            caplog.clear()
            with AlertsXml(str(path)) as log:
                log.write([alert(99)])
            found = messages(path)
            assert found[-1] == alert(99).message and len(found) <= 31
            assert found[:-1] == [alert(n).message for n in range(len(found) - 1)]
            [line] = warnings(caplog)
            assert line.startswith(f"{path}: ended inside an <alert>")


def test_alerts_xml_repair_names_the_bytes_dropped(tmp_path, caplog):
    """The repair's line, exactly: the file, what happened, how many bytes went."""
    path = tmp_path / "alerts.xml"
    whole = written(path, 2)
    cut = whole[:-100]
    path.write_bytes(cut)
    caplog.set_level(logging.WARNING, "ndpmon")
    AlertsXml(str(path)).close()
    kept = cut.rindex(b"</alert>") + len(b"</alert>")
    assert warnings(caplog) == [
        f"{path}: ended inside an <alert> (kill -9, a crash or a full disk): cut back to "
        f"its last complete alert, {len(cut) - kept} bytes dropped, and closed with "
        "</alerts>"]
    assert path.read_bytes() == whole[:kept] + b"\n</alerts>\n"


@pytest.mark.parametrize("cut", [1, 20, len(HEADER) - 2])
def test_alerts_xml_cut_in_its_header_is_started_again(tmp_path, cut):
    """A new file killed while its header was written gets the header again."""
    path = tmp_path / "alerts.xml"
    path.write_text(HEADER[:cut])
    with AlertsXml(str(path)) as log:
        log.write([alert(1)])
    assert messages(path) == [alert(1).message]


def test_readers_read_a_cut_file(tmp_path):
    """``ndpmon query`` and the report read a cut alerts.xml as the monitor will
    repair it (before: ``not well-formed XML``, exit 2)."""
    path = tmp_path / "alerts.xml"
    whole = written(path, 5)
    path.write_bytes(whole[:-150])
    assert [a.message for a in read_alerts(str(path))] == [alert(n).message for n in range(4)]


def test_new_alerts_xml_on_a_full_disk_does_not_stop_the_start(tmp_path, caplog):
    """A new alerts.xml whose header the disk cannot take: the start goes on (an outage,
    logged once), and the file is written once there is room (before: exit 2 at every
    start while the disk was full)."""
    path = tmp_path / "alerts.xml"
    clock = Clock()
    guarded = Guarded(AlertsXmlAction(str(path)), "alerts.xml", clock=clock)
    with file_size_limit(10):
        guarded.start()
        feed(guarded, 0, 1)
    assert warnings(caplog) == [f"output alerts.xml: {path}: cannot write: File too large; "
                                "its alerts are dropped until it works again"]
    assert [r.reason for r in guarded.take_reports()] == [reasons.OUTPUT_FAILURE]
    clock.now += RETRY_FIRST
    feed(guarded, 1, 1)
    guarded.stop()
    assert messages(path) == [alert(1).message]


def test_full_disk_on_an_existing_alerts_xml_undoes_the_batch(tmp_path):
    """Batches the disk cannot take leave the file exactly as it was, every time; the
    writer goes on where it was once there is room."""
    path = tmp_path / "alerts.xml"
    whole = written(path, 3)
    with AlertsXml(str(path)) as log:
        for size in (len(whole) + 1, len(whole) + 500, len(whole) + 5000):
            with file_size_limit(size), pytest.raises(WriteError):
                log.write([alert(n) for n in range(10, 30)])
            assert path.read_bytes() == whole
        log.write([alert(40)])
    assert messages(path)[-2:] == [alert(2).message, alert(40).message]


def test_foreign_file_is_still_refused(tmp_path):
    """Text after ``</alerts>`` is not a cut: refused, untouched (issue 14's rule)."""
    path = tmp_path / "alerts.xml"
    path.write_text(HEADER + "  <alert>\n")
    with pytest.raises(ConfigError):
        AlertsXml(str(path))
    assert path.read_text() == HEADER + "  <alert>\n"


# -- JSON lines ------------------------------------------------------------------------------


def test_json_batch_on_a_full_disk_leaves_no_partial_line(tmp_path):
    """A batch the disk takes only in part is undone; the next batch starts a whole line
    (before: the line was cut where the disk filled, and the next record continued it)."""
    path = tmp_path / "alerts.jsonl"
    out = JsonLines(str(path))
    out.start()
    out.notify(alert(0))
    out.flush()
    before = path.read_bytes()
    for n in range(1, 4):
        out.notify(alert(n))
    with file_size_limit(len(before) + 300), pytest.raises(WriteError):
        out.flush()
    assert path.read_bytes() == before
    out.notify(alert(9))
    out.stop()
    assert json_messages(path) == [alert(0).message, alert(9).message]


def test_json_cut_last_line_is_dropped_at_open(tmp_path, caplog):
    """A last line without its newline (a ``kill -9``) is dropped when the file is opened
    again, in one line naming the file and the bytes; the next record starts a line of
    its own (before: it continued the cut line, and neither parsed)."""
    path = tmp_path / "alerts.jsonl"
    out = JsonLines(str(path))
    out.start()
    out.notify(alert(0))
    out.notify(alert(1))
    out.stop()
    whole = path.read_bytes()
    path.write_bytes(whole[:-40])
    caplog.set_level(logging.WARNING, "ndpmon")
    out = JsonLines(str(path))
    out.start()
    out.notify(alert(2))
    out.stop()
    assert json_messages(path) == [alert(0).message, alert(2).message]
    cut = len(whole) - 40 - whole.index(b"\n") - 1
    assert warnings(caplog) == [f"{path}: its last line was cut (kill -9, a crash or a full "
                                f"disk): {cut} bytes dropped"]


def test_json_is_ascii_and_one_line_per_alert(tmp_path):
    """``ensure_ascii``: U+0085, U+2028 and C0 controls arrive as ``\\u`` escapes, so
    ``str.splitlines()`` sees one line per alert (before: U+0085 was written raw and
    split the line)."""
    path = tmp_path / "alerts.jsonl"
    text = "wrong RA DNSSL option: a\x85b\u2028c\x1bd\u00e9 900"
    out = JsonLines(str(path))
    out.start()
    out.notify(alert(0, text))
    out.stop()
    raw = path.read_bytes()
    assert raw.isascii() and len(raw.decode().splitlines()) == 1
    assert json_messages(path) == [text]
    assert os.path.getsize(path) == len(raw)
