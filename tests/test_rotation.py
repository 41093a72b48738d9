"""Issue 16 goal 5: alerts.xml never grows without bound.

ndpmon rotates alerts.xml itself before a write would take it over ``<delivery
alerts_xml_size>`` (default 64M): alerts.xml.1, .2, ..., ``alerts_xml_files`` files in
all (default 5), the oldest dropped. Each rotated file is a whole alerts.xml that
``ndpmon query`` and ``report`` read. The renames are made in the checked directory
(ndpmon.files.rotate): no link is followed. SIGHUP opens the output files again, for
logrotate's rotation of the JSON lines (contrib/logrotate/ndpmon).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from needs import need_root, need_tool
from plugkit import config_text, write_config
from services import wait_for
from test_sinks import T0, flood, replay

from ndpmon.alerts.jsonlines import JsonLines
from ndpmon.checks.alert import Alert, Priority
from ndpmon.commands.main import main
from ndpmon.config import loader as configmod, values
from ndpmon.engine.engine import Engine
from ndpmon.errors import ConfigError, WriteError
from ndpmon.files import rotate
from ndpmon.formats.alertsread import read_alerts, read_tree
from ndpmon.formats.alertsxml import MAX_ALERTS_BYTES, AlertsXml, render_alert
from ndpmon.run.options import RunOptions
from ndpmon.run.outputs import build_outputs
from ndpmon.run.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]


def alert(n: int) -> Alert:
    """Alert number ``n`` (its number in the message and the time)."""
    return Alert(T0 + n, "lan0", Priority.LOW, "new station", f"new station number {n}",
                 bytes.fromhex("021800000000")[:2] + n.to_bytes(4, "big"))


def files_of(path: Path) -> list[Path]:
    """alerts.xml and its rotated files, oldest first."""
    rotated = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return rotated + ([path] if path.exists() else [])


def test_rotated_at_its_size_keeping_its_number_of_files(tmp_path):
    """4,000 alerts in batches of 7 into an alerts.xml of 8K, 4 files: alerts.xml and
    .1 to .3, each at most 8K and a whole alerts.xml (closed with </alerts>) that the
    readers of ``report`` and ``query`` parse; oldest first, they hold the newest alerts
    in order, without a gap; the oldest were dropped."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path), size=8192, files=4) as log:
        for first in range(0, 4000, 7):
            log.write([alert(n) for n in range(first, min(first + 7, 4000))])
    files = files_of(path)
    assert [f.name for f in files] == ["alerts.xml.3", "alerts.xml.2", "alerts.xml.1",
                                       "alerts.xml"]
    numbers = []
    for f in files:
        data = f.read_bytes()
        assert len(data) <= 8192 and data.endswith(b"</alerts>\n"), f
        assert read_tree(str(f)).getroot().tag == "alerts"
        numbers += [int(a.message.split()[-1]) for a in read_alerts(str(f))]
    assert numbers == list(range(numbers[0], 4000))
    assert sum(f.stat().st_size for f in files) <= 4 * 8192
    assert len(numbers) >= 3 * 8192 // len(render_alert(alert(3999)))  # the files are full


def test_one_file_starts_again_and_a_big_alert_stands_alone(tmp_path):
    """``alerts_xml_files="1"``: a full alerts.xml is started again (nothing kept); an
    alert larger than the size is written alone in its file rather than lost."""
    path = tmp_path / "alerts.xml"
    with AlertsXml(str(path), size=4096, files=1) as log:
        log.write([alert(n) for n in range(20)])
        assert len(read_alerts(str(path))) < 20
        log.write([alert(20)._replace(message="x" * 5000)])
    assert files_of(path) == [path]
    [big] = read_alerts(str(path))
    assert big.message == "x" * 5000


def test_replay_rotates_with_the_configured_size_and_query_reads_every_file(tmp_path, capsys):
    """``<delivery alerts_xml_size="4K" alerts_xml_files="3" dedupe_window="0">`` and a
    replay of 2,000 new stations: alerts.xml, .1 and .2, none bigger than 4K; ``ndpmon
    query since`` reads a rotated file. (42d14a7 refused the attributes: exit 2.)"""
    frames = flood(2000, T0)
    code = replay(tmp_path, frames, "-q",
                  delivery='dedupe_window="0" alerts_xml_size="4K" alerts_xml_files="3"')
    assert code == 0, capsys.readouterr().err
    files = files_of(tmp_path / "alerts.xml")
    assert [f.name for f in files] == ["alerts.xml.2", "alerts.xml.1", "alerts.xml"]
    assert all(f.stat().st_size <= 4096 for f in files)
    capsys.readouterr()
    assert main(["query", "since", "@0", "--files", "-g", str(tmp_path / "cache.xml"),
                 "--alerts", str(files[0])]) == 0
    out = capsys.readouterr().out
    assert out.count("new station ") == len(read_alerts(str(files[0]))) > 0


def test_sizes_are_checked_in_the_config(tmp_path):
    """A size below 4K or above 1G (what ``report`` reads), or a file count of 0, is one
    error naming the line; 1G is the readers' cap."""
    assert values.size("64M") == 64 * 2**20 and values.size("1G") == MAX_ALERTS_BYTES
    for attrs in ('alerts_xml_size="1000"', 'alerts_xml_size="2G"',
                  'alerts_xml_size="64MB"', 'alerts_xml_files="0"'):
        text = config_text().replace("</settings>", f"  <delivery {attrs}/>\n  </settings>")
        with pytest.raises(ConfigError, match=r"config_ndpmon.xml:\d+: .*alerts_xml_"):
            configmod.load(write_config(tmp_path, text))


def test_the_defaults_are_64m_and_five_files(tmp_path):
    """Without the attributes alerts.xml is rotated at 64 MiB, 5 files kept."""
    delivery = configmod.load(write_config(tmp_path, config_text())).settings.delivery
    assert (delivery.alerts_xml_size, delivery.alerts_xml_files) == (64 * 2**20, 5)


def test_sighup_takes_new_rotation_settings(tmp_path):
    """A reload (SIGHUP) with ``alerts_xml_size="4K" alerts_xml_files="2"`` rotates the
    running alerts.xml at the new size from the next batch on."""
    config = configmod.load(write_config(tmp_path, config_text()))
    path = tmp_path / "alerts.xml"
    options = RunOptions(cache=str(tmp_path / "cache.xml"), quiet=True, alerts_xml=str(path))
    pipeline = Pipeline(Engine(config), build_outputs(options, config))
    pipeline.start()
    try:
        pipeline.feed("lan0", flood(30, T0))
        assert files_of(path) == [path] and path.stat().st_size > 4096
        small = config_text().replace("</settings>", '  <delivery alerts_xml_size="4K" '
                                      'alerts_xml_files="2"/>\n  </settings>')
        pipeline.reload(configmod.load(write_config(tmp_path, small)))
        pipeline.feed("lan0", flood(30, T0 + 1, seed=2))
    finally:
        pipeline.stop()
    assert [f.name for f in files_of(path)] == ["alerts.xml.1", "alerts.xml"]
    assert path.stat().st_size <= 4096


# -- safety ---------------------------------------------------------------------------


def test_rotation_never_writes_through_a_link(tmp_path):
    """Links at alerts.xml.1 and .2 pointing at a file of root's elsewhere: the rotation
    moves or replaces the links themselves; the file they point at is untouched."""
    secret = tmp_path / "elsewhere" / "secret"
    secret.parent.mkdir()
    secret.write_bytes(b"root's own file\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "alerts.xml.1").symlink_to(secret)
    (logs / "alerts.xml.2").symlink_to(secret)
    with AlertsXml(str(logs / "alerts.xml"), size=4096, files=3) as log:
        for n in range(40):
            log.write([alert(n)])
    assert secret.read_bytes() == b"root's own file\n"
    for f in files_of(logs / "alerts.xml"):
        assert not f.is_symlink(), f
        assert read_tree(str(f)) is not None


def test_rotation_refuses_a_directory_others_may_write(tmp_path):
    """A directory that became writable by others before a rotation: nothing is renamed,
    the write fails with one line (the guard makes it an outage)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "alerts.xml"
    with AlertsXml(str(path), size=4096, files=3) as log:
        log.write([alert(n) for n in range(5)])
        logs.chmod(0o777)
        with pytest.raises(WriteError, match="writable by other users"):
            log.write([alert(n) for n in range(5, 12)])
    assert files_of(path) == [path]


def test_shift_leaves_a_file_moved_away_alone(tmp_path):
    """If alerts.xml is no longer the file ndpmon has open (moved or replaced meanwhile),
    nothing is rotated: the one there is not ours to move."""
    path = tmp_path / "alerts.xml"
    path.write_text("mine")
    fd = os.open(path, os.O_RDONLY)
    try:
        os.rename(path, tmp_path / "moved")
        path.write_text("someone else's")
        assert rotate.shift(str(path), 3, fd) is False
    finally:
        os.close(fd)
    assert path.read_text() == "someone else's" and not (tmp_path / "alerts.xml.1").exists()


# -- SIGHUP and logrotate ---------------------------------------------------------------


def test_sighup_reopens_the_json_lines_logrotate_moved_away(tmp_path):
    """logrotate renames alerts.jsonl to alerts.jsonl.1 and sends SIGHUP: the next lines
    go into a new alerts.jsonl, none into the rotated one."""
    config = configmod.load(write_config(tmp_path, config_text()))
    jsonl = tmp_path / "alerts.jsonl"
    options = RunOptions(cache=str(tmp_path / "cache.xml"), quiet=True, no_alerts_xml=True,
                         json_alerts=str(jsonl), json_alerts_all=True)
    pipeline = Pipeline(Engine(config), build_outputs(options, config))
    pipeline.start()
    try:
        pipeline.feed("lan0", flood(3, T0))
        os.rename(jsonl, tmp_path / "alerts.jsonl.1")
        pipeline.reopen()  # what the live loop does on SIGHUP
        pipeline.feed("lan0", flood(2, T0 + 1, seed=2))
    finally:
        pipeline.stop()
    assert len((tmp_path / "alerts.jsonl.1").read_text().splitlines()) == 3
    assert len(jsonl.read_text().splitlines()) == 2


def test_reopen_that_fails_is_tried_again_at_the_next_write(tmp_path):
    """A JSON file that cannot be opened again on SIGHUP (its directory gone for a moment)
    does not stop the run: the next batch opens it again."""
    folder = tmp_path / "out"
    folder.mkdir()
    lines = JsonLines(str(folder / "alerts.jsonl"))
    lines.start()
    shutil.rmtree(folder)
    with pytest.raises(WriteError):
        lines.reopen()
    folder.mkdir()
    lines.notify(alert(1))
    lines.stop()
    assert len((folder / "alerts.jsonl").read_text().splitlines()) == 1


def test_the_logrotate_snippet_rotates_the_json_lines_and_leaves_alerts_xml_alone(tmp_path):
    """contrib/logrotate/ndpmon: no copytruncate (ndpmon writes alerts.xml at an offset),
    a SIGHUP after the rotation, and no entry for alerts.xml (ndpmon rotates it); run by
    logrotate itself when it is installed."""
    snippet = (REPO / "contrib" / "logrotate" / "ndpmon").read_text()
    rules = "\n".join(line for line in snippet.splitlines() if not line.lstrip()
                      .startswith("#"))
    assert "copytruncate" not in rules and "alerts.xml" not in rules
    assert "postrotate" in rules and "HUP" in rules
    if shutil.which("logrotate") is None:
        pytest.skip("no logrotate here")
    need_root()
    conf = tmp_path / "logrotate.conf"
    conf.write_text(rules.replace("/var/log/ndpmon/", f"{tmp_path}/"))
    (tmp_path / "alerts.jsonl").write_text("{}\n")
    run = subprocess.run(["logrotate", "-d", "-s", str(tmp_path / "state"), str(conf)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "error" not in run.stderr.lower(), run.stderr


def test_logrotate_then_sighup_live(tmp_path):
    """Live on a veth pair with ``--json-alerts-all``: logrotate (the contrib snippet,
    its postrotate signalling this ndpmon) renames alerts.jsonl; after the SIGHUP the next
    alert goes into a new alerts.jsonl, and the rotated file keeps the first one, whole."""
    from netns import MONITOR, PEER, VethPair
    from test_live import Ndpmon, na

    need_root()
    need_tool("ip")
    if shutil.which("logrotate") is None:
        pytest.skip("no logrotate here")
    (tmp_path / "config.xml").write_text(config_text(probe=MONITOR))
    rules = (REPO / "contrib" / "logrotate" / "ndpmon").read_text()
    with VethPair() as pair:
        mon = Ndpmon(pair, tmp_path, "--json-alerts-all", "--no-alerts-xml")
        try:
            pair.send("b", PEER, [na("00:aa:00:00:00:01", "fe80::a1")])
            wait_for(lambda: len(mon.alerts()) == 1)
            conf = tmp_path / "logrotate.conf"
            conf.write_text(rules.replace("/var/log/ndpmon/", f"{tmp_path}/").replace(
                "systemctl kill --signal=HUP ndpmon.service", f"kill -HUP {mon.proc.pid}"))
            subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)],
                           check=True, timeout=30)
            wait_for(lambda: "SIGHUP: reloaded" in mon.stderr())
            pair.send("b", PEER, [na("00:aa:00:00:00:02", "fe80::a2")])
            wait_for(lambda: len(mon.alerts()) == 1 and "0:aa:0:0:0:2" in str(mon.alerts()))
        finally:
            assert mon.stop() == 0, mon.stderr()
    rotated = (tmp_path / "alerts.jsonl.1").read_text().splitlines()
    assert len(rotated) == 1 and "0:aa:0:0:0:1" in rotated[0]
    assert [a["mac"] for a in mon.alerts()] == ["0:aa:0:0:0:2"]
