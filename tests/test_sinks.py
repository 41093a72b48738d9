"""Issue 16 goal 4: every sink summarises a flood, and writes each batch at once.

The console, alerts.xml and ``--json-alerts`` sit behind one summariser
(ndpmon.alerts.summary) with the rule mail, syslog and the pipe follow: per probe,
reason and window the first alert of each new source (up to ``NEW_SOURCES``), ``burst``
more, then one summary with the count and the first and last alert held back. The
windows run on capture time, so a replay summarises as the live run does. The neighbour
cache still records every station; ``--json-alerts-all`` gives the JSON lines every
alert. Each output writes a batch of frames' alerts with one system call.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from floodgen import ra, random_flood
from plugkit import config_text, write_config

from ndpmon.alerts.budget import NEW_SOURCES
from ndpmon.alerts.summary import Summarised
from ndpmon.checks.alert import Alert, Priority
from ndpmon.commands.main import main
from ndpmon.config import loader as configmod
from ndpmon.engine.engine import Engine
from ndpmon.formats.alertsread import read_alerts
from ndpmon.run.options import RunOptions
from ndpmon.run.outputs import build_outputs
from ndpmon.run.pipeline import Pipeline

ROGUE_MAC = bytes.fromhex("006666666666")
ROGUE_LLA = bytes.fromhex("fe80" + "00" * 12 + "0666")
T0 = 1_790_000_000
BURST = 20  # the default <delivery burst>
#: a console line: time, probe, priority, message
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ lan0 (low|high): (.*)$")


def write_pcap(path: Path, frames: list[tuple[float, bytes]]) -> None:
    """``(time, frame)`` pairs as a pcap file."""
    from scapy.utils import RawPcapWriter

    with RawPcapWriter(str(path), linktype=1) as writer:
        writer.write_header(None)
        for when, data in frames:
            sec, usec = divmod(round(when * 1_000_000), 1_000_000)
            writer.write_packet(data, sec=sec, usec=usec)


def flood(count: int, start: float, rate: float = 10_000.0, seed: int = 1
          ) -> list[tuple[float, bytes]]:
    """``count`` NAs, each from a new random station, at ``rate`` frames/s from ``start``."""
    return [(start + i / rate, frame) for i, frame in enumerate(random_flood("na", count, seed))]


def rogue(when: float) -> tuple[float, bytes]:
    """An RA from a router the config does not know: ``wrong ipv6 router``."""
    return when, ra(ROGUE_MAC, ROGUE_LLA)


def replay(tmp_path: Path, frames: list[tuple[float, bytes]], *extra: str,
           delivery: str = "") -> int:
    """``ndpmon -r`` of ``frames`` with stderr, JSON lines and alerts.xml; exit code."""
    text = config_text()
    if delivery:
        text = text.replace("</settings>", f"  <delivery {delivery}/>\n  </settings>")
    config = write_config(tmp_path, text)
    write_pcap(tmp_path / "flood.pcap", frames)
    return main(["-f", config, "-g", str(tmp_path / "cache.xml"), "-r",
                 str(tmp_path / "flood.pcap"), "--json-alerts", str(tmp_path / "alerts.jsonl"),
                 "--alerts-xml", str(tmp_path / "alerts.xml"), *extra])


def console(err: str) -> list[tuple[str, str]]:
    """The (priority, message) of each alert line on stderr."""
    return [m.groups() for m in map(LINE.match, err.splitlines()) if m]  # type: ignore


def outputs(tmp_path: Path, err: str) -> dict[str, list[str]]:
    """The alert messages of each output: stderr, JSON lines, alerts.xml."""
    return {
        "console": [message for _, message in console(err)],
        "json": [json.loads(line)["message"]
                 for line in (tmp_path / "alerts.jsonl").read_text().splitlines()],
        "xml": [alert.message for alert in read_alerts(str(tmp_path / "alerts.xml"))],
    }


def test_a_flood_is_summarised_on_every_sink_and_the_rogue_still_shows(tmp_path, capsys):
    """10,000 NAs from random stations (10,000 ``new station`` alerts), then a rogue RA: the
    console, JSON lines and alerts.xml each get the first alert of ``NEW_SOURCES`` sources,
    ``burst`` more and one summary with the count and the first and last alert held back;
    the rogue's alert is in all three; the neighbour cache still holds all 10,000 stations.
    (42d14a7 wrote all 10,000 alerts to each output.)"""
    frames = flood(10_000, T0) + [rogue(T0 + 1.5)]
    assert replay(tmp_path, frames) == 0
    err = capsys.readouterr().err
    held = 10_000 - NEW_SOURCES - BURST
    for name, messages in outputs(tmp_path, err).items():
        stations = [m for m in messages if m.startswith("new station ")]
        [summary] = [m for m in messages if m.startswith("new station: ")]
        assert len(stations) == NEW_SOURCES + BURST, name
        assert summary.startswith(f"new station: {held} more alerts held back in 60 s; "
                                  "by source: "), name
        assert re.search(r"\(the first: new station [0-9a-f:]+ [0-9a-f:]+; the last: "
                         r"new station [0-9a-f:]+ [0-9a-f:]+\)$", summary), summary
        assert "wrong ipv6 router 0:66:66:66:66:66 fe80:0:0:0:0:0:0:666" in messages, name
    assert (tmp_path / "cache.xml").read_text().count("<neighbor>") == 10_000
    assert f"{held} alerts held back, in 1 summaries" in err


def test_windows_run_on_capture_time_so_a_replay_summarises_as_live(tmp_path, capsys):
    """Two floods of 300 stations 100 s apart in capture time (replayed in well under a
    second): two windows, each with its ``NEW_SOURCES + burst`` alerts and its summary,
    the first written when the second flood's frames moved the time past its end."""
    frames = flood(300, T0) + flood(300, T0 + 100, seed=2)
    assert replay(tmp_path, frames, "-q") == 0
    rows = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    kinds = ["summary" if row["message"].startswith("new station: ")
             else "first" if row["time"] < "2026-09-21T14:14" else "second"
             for row in rows if row["reason"] == "new station"]
    assert rows[0]["time"].startswith("2026-09-21T14:13:20")  # T0
    assert kinds == ["first"] * (NEW_SOURCES + BURST) + ["summary"] \
        + ["second"] * (NEW_SOURCES + BURST) + ["summary"]
    summaries = [row for row in rows if row["message"].startswith("new station: ")]
    assert [row["fields"]["held_back"] for row in summaries] == [180, 180]


def test_json_alerts_all_gives_every_alert_and_the_others_stay_summarised(tmp_path, capsys):
    """``--json-alerts-all``: the JSON lines get all 10,000 ``new station`` alerts and no
    summary (a SIEM counts for itself); the console and alerts.xml are still summarised."""
    frames = flood(10_000, T0) + [rogue(T0 + 1.5)]
    assert replay(tmp_path, frames, "--json-alerts-all") == 0
    got = outputs(tmp_path, capsys.readouterr().err)
    assert sum(m.startswith("new station ") for m in got["json"]) == 10_000
    assert not any(m.startswith("new station: ") for m in got["json"])
    for name in ("console", "xml"):
        assert sum(m.startswith("new station ") for m in got[name]) == NEW_SOURCES + BURST


def test_json_alerts_all_needs_json_alerts(tmp_path, capsys):
    """``--json-alerts-all`` alone is one line and exit code 2."""
    assert main(["-r", "x.pcap", "--json-alerts-all"]) == 2
    assert capsys.readouterr().err == "ndpmon: --json-alerts-all needs --json-alerts FILE\n"


# -- the summariser on its own -------------------------------------------------------


class Recording:
    """A sink that keeps what it is given, and counts its flushes."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.flushes = 0

    def start(self) -> None:
        pass

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def flush(self) -> None:
        self.flushes += 1

    def stop(self) -> None:
        pass


def station_alert(when: float, n: int) -> Alert:
    """``new station`` from station ``n``."""
    mac = bytes.fromhex("0218") + n.to_bytes(4, "big")
    return Alert(when, "lan0", Priority.LOW, "new station", f"new station {n}", mac)


def test_summariser_closes_a_window_when_time_moves_on_without_alerts():
    """Live, a window's summary is written when the wall clock passes its end (the loop
    calls ``expire``), not only when the next alert comes; both sinks get the same
    alerts and the same summary."""
    sinks = [Recording(), Recording()]
    summariser = Summarised(sinks, window=60, burst=2)
    for n in range(10):
        summariser.notify(station_alert(1000 + n, n % 2))  # two sources
    assert len(sinks[0].alerts) == 4  # each source's first, then the burst of 2
    assert summariser.expire(1059.9) is False
    assert summariser.expire(1060.0) is True
    assert sinks[0].alerts == sinks[1].alerts
    summary = sinks[0].alerts[-1]
    assert summary.message.startswith("new station: 6 more alerts held back in 60 s")
    assert "(the first: new station 0; the last: new station 1)" in summary.message
    summariser.notify(station_alert(1061, 0))  # a new window: the source's first again
    assert sinks[0].alerts[-1].message == "new station 0"


def test_summariser_starts_again_when_the_clock_goes_back():
    """A clock set back by more than a window (or a pcap's time stamps) closes the open
    windows at once instead of holding them until the old time comes again."""
    sink = Recording()
    summariser = Summarised([sink], window=60, burst=0)
    for _ in range(5):
        summariser.notify(station_alert(5000, 1))
    assert len(sink.alerts) == 1
    assert summariser.expire(1000) is True  # an hour back
    assert sink.alerts[-1].message.startswith("new station: 4 more alerts held back")
    summariser.notify(station_alert(1001, 1))
    assert sink.alerts[-1].message == "new station 1"


def test_window_zero_sends_every_alert():
    """``<delivery dedupe_window="0">`` turns summarising off for these outputs too."""
    sink = Recording()
    summariser = Summarised([sink], window=0, burst=1)
    for n in range(500):
        summariser.notify(station_alert(1000, n % 3))
    summariser.stop()
    assert len(sink.alerts) == 500


def test_pipeline_expire_writes_the_summary_without_a_new_frame(tmp_path):
    """The live loop's ``pipeline.expire(wall clock)`` writes a summary that is due into
    the files at once (42d14a7 had no windows on these outputs)."""
    config = configmod.load(write_config(tmp_path, config_text()))
    options = RunOptions(cache=str(tmp_path / "cache.xml"), quiet=True,
                         json_alerts=str(tmp_path / "alerts.jsonl"))
    pipeline = Pipeline(Engine(config), build_outputs(options, config))
    pipeline.start()
    try:
        pipeline.feed("lan0", flood(200, T0))
        jsonl = tmp_path / "alerts.jsonl"
        assert len(jsonl.read_text().splitlines()) == NEW_SOURCES + BURST
        pipeline.expire(T0 + 61)
        last = json.loads(jsonl.read_text().splitlines()[-1])
        assert last["message"].startswith("new station: 80 more alerts held back in 60 s")
    finally:
        pipeline.stop()


# -- one system call per batch ----------------------------------------------------------


class CountingFile(io.FileIO):
    """stderr's raw file, counting its write(2) calls."""

    writes = 0

    def write(self, data) -> int:  # type: ignore[override]
        CountingFile.writes += 1
        return super().write(data)


def count_writes(tmp_path: Path, monkeypatch) -> dict[str, int]:
    """Count the system calls that write: stderr's (a line-buffered stream over a
    CountingFile, as the real stderr is), and os.write/os.pwrite per file name. (Called
    in the test itself: pytest puts its own sys.stderr back after the fixtures.)"""
    CountingFile.writes = 0
    raw = CountingFile(str(tmp_path / "stderr.txt"), "w")
    monkeypatch.setattr("sys.stderr", io.TextIOWrapper(io.BufferedWriter(raw),
                                                       line_buffering=True))
    calls: dict[str, int] = {}

    def counting(real):
        def call(fd: int, data, *args):
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            calls[name] = calls.get(name, 0) + 1
            return real(fd, data, *args)
        return call

    monkeypatch.setattr(os, "pwrite", counting(os.pwrite))
    monkeypatch.setattr(os, "write", counting(os.write))
    return calls


@pytest.mark.parametrize("every", [False, True], ids=["summarised", "json-alerts-all"])
def test_each_output_writes_a_batch_with_one_system_call(tmp_path, monkeypatch, every):
    """300 ``new station`` alerts in one batch of frames (summarising off: every alert
    is written): stderr, the JSON lines and alerts.xml each take one write(2) for the
    batch (42d14a7: stderr took one per alert), with ``--json-alerts-all`` too."""
    text = config_text().replace("</settings>", '  <delivery dedupe_window="0"/>\n'
                                                "  </settings>")
    config = configmod.load(write_config(tmp_path, text))
    every_alert = {"json_alerts_all": True} if every else {}
    options = RunOptions(cache=str(tmp_path / "cache.xml"), **every_alert,
                         json_alerts=str(tmp_path / "alerts.jsonl"),
                         alerts_xml=str(tmp_path / "alerts.xml"))
    pipeline = Pipeline(Engine(config), build_outputs(options, config))
    pipeline.start()
    try:
        calls = count_writes(tmp_path, monkeypatch)
        alerts = pipeline.feed("lan0", flood(300, T0, rate=1000))
        assert sum(a.reason == "new station" for a in alerts) == 300
        assert CountingFile.writes == 1
        assert calls == {"alerts.jsonl": 1, "alerts.xml": 1}
    finally:
        pipeline.stop()
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == len(alerts)
    assert len(read_alerts(str(tmp_path / "alerts.xml"))) == len(alerts)


def test_live_loop_writes_a_summary_when_its_window_ends_without_new_frames():
    """Live (fake capture and clocks): five rogue RAs from one router at once, then
    silence; the loop's wall-clock ``expire`` writes the summary within a second after
    the window's 60 s, not at the next alert or at stop."""
    from conftest import make_engine
    from test_monitor import FakeClock, ScriptedCapture, gen, rogue_ra

    from ndpmon.run.live import Monitor

    clock, ref, sink = FakeClock(), [], Recording()
    seen: dict[float, int] = {}  # clock time -> alerts the sink had then

    def quiet() -> list:
        seen[clock.now] = len(sink.alerts)
        return []

    capture = ScriptedCapture([[("lan0", [(clock.now, rogue_ra())] * 5)], *[quiet] * 70],
                              clock, ref)
    engine = make_engine({"routers": [gen.ROUTER1]})
    monitor = Monitor(Pipeline(engine, [Summarised([sink], window=60, burst=1)]), capture,
                      save_cache=lambda: None, clock=clock, wallclock=clock)
    ref.append(monitor)
    monitor.run()
    # the first alert and the burst of 1 until the window ends at 1060, then the summary
    assert {n for when, n in seen.items() if when <= 1060} == {2}
    assert {n for when, n in seen.items() if when >= 1062} == {3}
    assert sink.alerts[-1].message.startswith("wrong ipv6 router: 3 more alerts held back")
