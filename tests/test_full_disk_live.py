"""Issue 15, item 1, end to end: the ``ndpmon`` command on a full disk and under kill -9.

* A live monitor (a veth pair in network namespaces) writes alerts.xml, the JSON lines
  and the neighbour cache on a 256 KiB tmpfs that a flood of new stations fills. It must
  keep monitoring, log each output once, raise one ``output failure`` alert per output
  (seen by the pipe program, whose file is elsewhere), keep both files whole, write them
  again by itself once space is freed, stop with exit 0 and start again on those files.
* A replay writing alerts.xml and JSON lines is killed with SIGKILL at random moments,
  60 times in a row: every next start must succeed (a kill inside a write used to leave
  alerts.xml cut, and every later start ended with exit 2), and at the end both files
  must parse whole.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from floodgen import random_flood
from lxml import etree
from needs import missing, need_root, need_tool
from netns import MONITOR, PEER, VethPair
from services import wait_for

from fuzz.frames import write_pcap

REPO = Path(__file__).resolve().parents[1]
T = 1_790_000_000.0
NDPMON = [sys.executable, "-m", "ndpmon"]
ENV = dict(os.environ, PYTHONPATH=str(REPO))
CONFIG = """\
<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program="{pipe}"/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    <delivery dedupe_window="0"/>
  </settings>
  <probes><probe name="{probe}" type="interface"><routers/></probe></probes>
</config_ndpmon>
"""
PIPE = """\
import os
with open({out!r}, "a") as f:
    f.write(os.environ["NDPMON_REASON"] + "|" + os.environ["NDPMON_MESSAGE"] + "\\n")
"""


def config(tmp_path: Path, probe: str = MONITOR) -> tuple[Path, Path]:
    """The config (high alerts to a pipe program) and the pipe program's output."""
    out = tmp_path / "pipe.out"
    program = tmp_path / "pipe.py"
    program.write_text(PIPE.format(out=str(out)))
    path = tmp_path / "config.xml"
    path.write_text(CONFIG.format(pipe=f"{sys.executable} {program}", probe=probe))
    return path, out


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs at ``tmp_path/disk``, unmounted afterwards."""
    need_root()
    need_tool("mount", "umount")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs",
                           str(disk)], capture_output=True, text=True)
    if done.returncode:
        missing(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def xml_messages(path: Path) -> list[str]:
    """The messages of an alerts.xml, parsed by lxml (fails if it is not well-formed)."""
    return [el.findtext("message") for el in etree.parse(str(path)).getroot()]


def json_messages(path: Path) -> list[str]:
    """The messages of a JSON lines file (fails on a line that is not whole)."""
    text = path.read_text()
    assert not text or text.endswith("\n")
    return [json.loads(line)["message"] for line in text.splitlines()]


def reported(pipe_out: Path) -> list[str]:
    """The messages of the ``output failure`` alerts the pipe program got."""
    lines = pipe_out.read_text().splitlines() if pipe_out.exists() else []
    return [line.partition("|")[2] for line in lines if line.startswith("output failure|")]


class Live:
    """``ndpmon`` capturing on mon0, quiet, its outputs and cache on ``disk``."""

    def __init__(self, pair: VethPair, cfg: Path, disk: Path, log: Path) -> None:
        self.log, self.pair = log, pair
        cmd = ["ip", "netns", "exec", pair.ns["a"], *NDPMON, "-f", str(cfg), "-i", MONITOR,
               "-q", "-g", str(disk / "cache.xml"), "--json-alerts", str(disk / "alerts.jsonl")]
        with log.open("w") as err:  # the child keeps its own copy
            self.proc = subprocess.Popen(cmd, stderr=err, env=ENV)
        # "monitoring on mon0 (pid N)" comes once signals are handled (SIGUSR1 is sent)
        wait_for(lambda: "(pid " in self.text() or self.proc.poll() is not None, 60)
        assert self.proc.poll() is None, self.text()

    def text(self) -> str:
        return self.log.read_text()

    def lines(self, part: str) -> list[str]:
        return [line for line in self.text().splitlines() if part in line]

    def flood(self, seed: int, count: int = 10) -> None:
        """``count`` NAs, each from a new station (a ``new station`` alert each)."""
        self.pair.send("b", PEER, random_flood("na", count, seed=seed))

    def until(self, done, seed: int, timeout: float = 120.0) -> int:
        """Flood (a round every 0.3 s) until ``done()``; return the last seed."""
        end = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < end, f"not reached in time:\n{self.text()}"
            assert self.proc.poll() is None, self.text()
            seed += 1
            self.flood(seed)
            time.sleep(0.3)
        return seed

    def outages(self, name: str) -> tuple[int, int]:
        """How often output ``name`` failed on the full disk, and came back."""
        lines = self.lines(f"output {name}: ")
        return (sum("No space left on device" in line for line in lines),
                sum(": works again after" in line for line in lines))

    def down(self, name: str) -> bool:
        failed, back = self.outages(name)
        return failed > back

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def test_full_disk_live_keeps_monitoring_reports_and_recovers(small_disk, tmp_path):
    """Fill the disk with a flood: the monitor keeps going (SIGUSR1 answered, frames
    still counted), each output is logged once (a few times at most, if a small batch
    still fitted before the disk was filled to the brim) and reported by one ``output
    failure`` alert per outage, the files stay whole; free the space: each output logs
    ``works again`` and gets new alerts; SIGTERM ends with 0 and the next start
    succeeds (before: no alert, alerts.xml left cut and never written again, the next
    start exit 2)."""
    need_tool("ip")
    cfg, pipe_out = config(tmp_path)
    fillers = [small_disk / "filler", small_disk / "filler2"]
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    fillers[0].write_bytes(bytes(free - 16 * 1024))  # room for about one round of alerts
    outputs = ("alerts.xml", "JSON alerts")
    with VethPair() as pair:
        pair.ip("a", "link", "set", "lo", "up")
        mon = Live(pair, cfg, small_disk, tmp_path / "ndpmon.log")
        seed = mon.until(lambda: all(mon.down(name) for name in outputs), 0)
        fill(fillers[1])  # no room left at all: no small batch fits meanwhile
        wait_for(lambda: len(reported(pipe_out)) >= 2, 30)  # alerts.xml, JSON alerts
        mon.proc.send_signal(signal.SIGUSR1)  # a cache save on the full disk
        wait_for(lambda: mon.down("neighbour cache"), 30)
        for _ in range(10):  # more alerts while down: no more lines, no attempt each
            seed += 1
            mon.flood(seed)
            time.sleep(0.1)
        names = (*outputs, "neighbour cache")
        failed = {name: mon.outages(name)[0] for name in names}
        for name in names:  # once, or a few times if a small batch fitted before the top-up
            assert mon.down(name) and 1 <= failed[name] <= 3, mon.text()
        wait_for(lambda: len(reported(pipe_out)) >= sum(failed.values()), 30)
        assert sorted(line.split(": ")[1] for line in reported(pipe_out)) == sorted(
            name for name in names for _ in range(failed[name]))
        down_xml, down_json = xml_messages(small_disk / "alerts.xml"), \
            json_messages(small_disk / "alerts.jsonl")
        for filler in fillers:
            filler.unlink()
        seed = mon.until(lambda: not any(mon.down(name) for name in outputs), seed)
        mon.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: not mon.down("neighbour cache"), 30)
        assert len(xml_messages(small_disk / "alerts.xml")) > len(down_xml)
        assert len(json_messages(small_disk / "alerts.jsonl")) > len(down_json)
        assert mon.stop() == 0, mon.text()
        again = Live(pair, cfg, small_disk, tmp_path / "again.log")
        assert again.stop() == 0, again.text()
        assert "Traceback" not in mon.text() + again.text()


def fill(path: Path) -> None:
    """Write ``path`` until the disk is full."""
    with path.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(bytes(4096))
        except OSError:
            pass


KILLS = 50


def replay(tmp_path: Path, cfg: Path, pcap: Path) -> subprocess.Popen:
    """``ndpmon -r pcap`` (a fresh cache: every run raises its alerts) writing
    ``tmp_path``'s alerts.xml and alerts.jsonl."""
    (tmp_path / "cache.xml").unlink(missing_ok=True)
    return subprocess.Popen(
        [*NDPMON, "-f", str(cfg), "-r", str(pcap), "-g", str(tmp_path / "cache.xml"),
         "--alerts-xml", str(tmp_path / "alerts.xml"), "--json-alerts",
         str(tmp_path / "alerts.jsonl"), "-q"],
        stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO)


def flood_pcap(path: Path, count: int, seed: int = 3) -> Path:
    """A capture of ``count`` NAs, each from a new station."""
    frames = random_flood("na", count, seed=seed)
    write_pcap(path, [(1_790_000_000 + i / 1000, f) for i, f in enumerate(frames)])
    return path


def test_every_cut_a_kill_can_leave_lets_the_next_start_succeed(tmp_path):
    """A ``kill -9`` stops a write anywhere (at a page boundary, for a large one): for
    cuts at the page boundaries and at random bytes of the last batch of alerts.xml
    and of the JSON lines, the next ``ndpmon`` start repairs both (one line each,
    naming the file), ends with 0, and both files parse whole (before: ``not an
    alerts file: does not end with </alerts>``, exit 2, at every start)."""
    cfg, _ = config(tmp_path, probe="eth0")
    big, small = flood_pcap(tmp_path / "big.pcap", 1100), flood_pcap(tmp_path / "small.pcap",
                                                                       5, seed=9)
    assert replay(tmp_path, cfg, big).wait(120) == 0
    xml, jsonl = tmp_path / "alerts.xml", tmp_path / "alerts.jsonl"
    whole_xml, whole_json, before = xml.read_bytes(), jsonl.read_bytes(), xml_messages(xml)
    rng = random.Random(5)
    start = len(whole_xml) * 9 // 10  # inside the last batch (76 of 1100 alerts)
    pages = list(range(start // 4096 * 4096 + 4096, len(whole_xml) - 11, 4096))
    cuts = pages[:4] + [rng.randrange(start, len(whole_xml) - 11) for _ in range(4)]
    for cut in cuts:
        xml.write_bytes(whole_xml[:cut])
        jsonl.write_bytes(whole_json[:len(whole_json) * cut // len(whole_xml)])
        done = replay(tmp_path, cfg, small)
        _, err = done.communicate(timeout=60)
        assert done.returncode == 0, err
        assert err.count(f"{xml}: ended inside an <alert>") == 1, err
        assert err.count(f"{jsonl}: its last line was cut") <= 1, err
        kept, found = whole_xml[:cut].count(b"</alert>"), xml_messages(xml)
        assert found[:kept] == before[:kept] and len(found) > kept
        json_messages(jsonl)


def test_kill_9_in_a_loop_never_keeps_ndpmon_down(tmp_path):
    """50 replays killed with SIGKILL at random moments while they append alerts.xml and
    JSON lines: each next start succeeds (it was still running when killed), and a
    last replay ends with exit 0 and leaves two files that parse whole (before: once a
    kill had landed inside a write, every later start ended with exit 2)."""
    cfg, _ = config(tmp_path, probe="eth0")
    pcap = flood_pcap(tmp_path / "flood.pcap", 20_000)
    rng, logs = random.Random(15), []
    for n in range(KILLS):
        proc = replay(tmp_path, cfg, pcap)
        time.sleep(rng.uniform(0.3, 0.9))
        proc.kill()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"start {n} ended by itself:\n{err}"
        logs.append(err)
    proc = replay(tmp_path, cfg, pcap)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    text = "".join(logs) + err
    assert "Traceback" not in text and "not an alerts file" not in text
    # the runs together may pass alerts.xml's rotation size (64 MiB): count every file
    xml = sorted(tmp_path.glob("alerts.xml*"))
    assert sum(len(xml_messages(path)) for path in xml) >= 20_000
    assert len(json_messages(tmp_path / "alerts.jsonl")) >= 20_000


def test_outputs_removed_to_make_room_are_opened_again(small_disk, caplog):
    """On a full disk the admin removes alerts.xml and the JSON lines to make room: the
    next try opens them again, so the space is freed and new files get the new alerts
    (without it, ndpmon would keep the removed files open: their space stays taken, and
    alerts go nowhere anyone can see)."""
    from ndpmon.alerts.guard import RETRY_MAX, Guarded
    from ndpmon.alerts.jsonlines import JsonLines
    from ndpmon.alerts.xmlfile import AlertsXmlAction
    from ndpmon.checks.alert import Alert, Priority

    now = [0.0]
    xml, jsonl = small_disk / "alerts.xml", small_disk / "alerts.jsonl"
    outputs = [Guarded(AlertsXmlAction(str(xml)), "alerts.xml", clock=lambda: now[0]),
               Guarded(JsonLines(str(jsonl)), "JSON alerts", clock=lambda: now[0])]
    for output in outputs:
        output.start()
    n = 0
    while not all(output.outage.down for output in outputs):
        assert n < 10_000, "the disk never filled"
        for output in outputs:
            for i in range(n, n + 50):
                output.notify(Alert(T + i, "lan0", Priority.LOW, "new station", f"alert {i}"))
            output.flush()
        n += 50
    xml.unlink()
    jsonl.unlink()
    now[0] += RETRY_MAX
    for output in outputs:
        output.notify(Alert(T + n, "lan0", Priority.LOW, "new station", "after"))
        output.flush()
        assert not output.outage.down
        output.stop()
    assert xml_messages(xml) == ["after"] and json_messages(jsonl) == ["after"]
    assert os.statvfs(small_disk).f_bfree * os.statvfs(small_disk).f_frsize > 200 * 1024
