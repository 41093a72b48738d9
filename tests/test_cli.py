"""The command line: exit codes, one-line errors, and the replay outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.utils import wrpcap

from ndpmon.commands.main import main

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config_ndpmon.xml")
DEMO = str(ROOT / "samples" / "demo.pcap")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``ndpmon argv`` in-process; return (exit code, stdout, stderr)."""
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_check_config_ok(capsys):
    """--check-config on the shipped sample config exits 0 and says so."""
    rc, out, _ = run(capsys, "--check-config", "-f", CONFIG, "-g", "/nonexistent/cache.xml")
    assert rc == 0
    assert out == f"{CONFIG}: OK (1 probes, 1 routers)\n"


def test_check_config_error_is_one_line(tmp_path, capsys):
    """A bad MAC gives one line naming file and line, and exit code 2."""
    bad = tmp_path / "config_ndpmon.xml"
    bad.write_text(Path(CONFIG).read_text(encoding="latin-1")
                   .replace("<mac>0:0:5e:0:53:1</mac>", "<mac>zz</mac>"), encoding="latin-1")
    line = next(i for i, text in enumerate(bad.read_text(encoding="latin-1").splitlines(), 1)
                if "<mac>zz</mac>" in text)
    rc, _, err = run(capsys, "--check-config", "-f", str(bad))
    assert rc == 2
    assert err == f"ndpmon: {bad}:{line}: <mac>: not a MAC address: 'zz'\n"


def test_ndpmon_learned_dnssl_hint(tmp_path, capsys):
    """A config with NDPMon's raw DNSSL bytes (COMPATIBILITY.md §7.4) gets an error that names
    the command that fixes it."""
    bad = tmp_path / "config_ndpmon.xml"
    text = Path(CONFIG).read_text(encoding="latin-1")
    bad.write_text(text.replace(">example.com<", ">\x07example\x03com<"), encoding="latin-1")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if ">example.com<" in t)
    rc, _, err = run(capsys, "--check-config", "-f", str(bad))
    assert rc == 2
    assert err == (f"ndpmon: {bad}:{line}: not well-formed XML: PCDATA invalid Char value 7"
                   " (a control character; NDPMon 2.1 wrote DNSSL domains that way in "
                   f"learning mode: `ndpmon upgrade {bad} --in-place` writes them as names)\n")


def test_missing_config(tmp_path, capsys):
    """A missing config file is a one-line error, exit 2."""
    rc, _, err = run(capsys, "-f", str(tmp_path / "nope.xml"), "-r", DEMO)
    assert rc == 2
    assert err == f"ndpmon: {tmp_path / 'nope.xml'}: cannot read: No such file or directory\n"


def test_missing_capture(tmp_path, capsys):
    """A missing capture file is a one-line error, exit 2."""
    rc, _, err = run(capsys, "-f", CONFIG, "-g", str(tmp_path / "c.xml"), "-r",
                     str(tmp_path / "none.pcap"))
    assert rc == 2
    assert err == f"ndpmon: {tmp_path / 'none.pcap'}: cannot read: No such file or directory\n"


def test_not_a_capture(tmp_path, capsys):
    """A file that is no pcap is named in a one-line error."""
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture file at all")
    rc, _, err = run(capsys, "-f", CONFIG, "-g", str(tmp_path / "c.xml"), "-r", str(junk))
    assert rc == 2
    assert err.startswith(f"ndpmon: {junk}: not a pcap or pcapng file")
    assert err.count("\n") == 1


def test_non_ethernet_capture(tmp_path, capsys):
    """A raw-IP capture (link type 101) is refused: ND checks need MAC addresses."""
    raw = tmp_path / "raw.pcap"
    wrpcap(str(raw), [IP(dst="192.0.2.1") / UDP()], linktype=101)
    rc, _, err = run(capsys, "-f", CONFIG, "-g", str(tmp_path / "c.xml"), "-r", str(raw))
    assert rc == 2
    assert err == f"ndpmon: {raw}: link type 101 is not Ethernet (1)\n"


def test_cache_directory_missing(tmp_path, capsys):
    """A cache that could not be saved is refused before any frame is read."""
    cache = tmp_path / "no" / "neighbor_list.xml"
    rc, _, err = run(capsys, "-q", "-f", CONFIG, "-g", str(cache), "-r", DEMO,
                     "--no-alerts-xml", "--json-alerts", str(tmp_path / "a.jsonl"))
    assert rc == 2
    assert err == f"ndpmon: {cache}: cannot write: no directory {tmp_path / 'no'}\n"
    assert not (tmp_path / "a.jsonl").exists()


def test_unknown_probe(tmp_path, capsys):
    """-i with a probe the config does not have lists the ones it has."""
    rc, _, err = run(capsys, "-f", CONFIG, "-g", str(tmp_path / "c.xml"), "-r", DEMO,
                     "-i", "wlan9")
    assert rc == 2
    assert err == f"ndpmon: -i wlan9: no such probe in {CONFIG} (probes: eth0)\n"


def test_replay_demo_outputs(tmp_path, capsys):
    """Replaying the demo writes JSON alerts, alerts.xml and the cache, exit 0."""
    cache = tmp_path / "neighbor_list.xml"
    rc, out, err = run(capsys, "-f", CONFIG, "-g", str(cache), "-r", DEMO,
                       "--json-alerts", "-")
    assert rc == 0
    alerts = [json.loads(line) for line in out.splitlines()]
    reasons = [a["reason"] for a in alerts]
    assert reasons.count("wrong ipv6 router") == 2
    assert "ND message behind extension headers" in reasons
    assert reasons[-1] == "malformed ND message"
    first = alerts[0]
    assert first["time"] == "2026-01-01T00:00:00Z"
    assert (first["probe"], first["priority"], first["mac"]) == ("eth0", "low", "0:0:5e:0:53:1")
    assert cache.exists() and (tmp_path / "alerts.xml").exists()
    assert "high: wrong ipv6 router 0:0:5e:0:53:66" in err
    assert err.splitlines()[-1].startswith(f"ndpmon: {DEMO}: 10 frames (9 ND messages)")


def test_replay_twice_uses_the_saved_cache(tmp_path, capsys):
    """A second replay starts from the saved cache: no new station is new any more."""
    args = ("-q", "-f", CONFIG, "-g", str(tmp_path / "c.xml"), "-r", DEMO, "--json-alerts", "-")
    run(capsys, *args)
    rc, out, _ = run(capsys, *args)
    assert rc == 0
    assert "new station" not in [json.loads(line)["reason"] for line in out.splitlines()]


@pytest.mark.parametrize("argv", [["--version"], ["-h"]])
def test_console_script_entry(argv):
    """``python -m ndpmon`` runs the same main (help and version exit 0)."""
    done = subprocess.run([sys.executable, "-m", "ndpmon", *argv], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert done.returncode == 0
    assert "ndpmon" in done.stdout


def test_replay_learning_writes_routers_then_monitors_with_them(tmp_path, capsys):
    """-L on a replay: no alerts; the config gets the routers, its comments stay; the
    next replay of the same capture raises no router alert for the learned routers."""
    config = tmp_path / "config_ndpmon.xml"
    original = Path(CONFIG).read_text(encoding="latin-1")
    config.write_text(original.replace("<routers>", "<routers><!-- keep me -->", 1),
                      encoding="latin-1")
    cache = str(tmp_path / "c.xml")
    rc, out, err = run(capsys, "-L", "-f", str(config), "-g", cache, "-r", DEMO,
                       "--json-alerts", "-")
    assert (rc, out) == (0, "")
    assert f"learning: wrote 2 routers to {config}" in err
    text = config.read_text(encoding="latin-1")
    assert "<!-- keep me -->" in text and text.count("<router>") == 2
    assert text.split("<probes>")[0] == original.replace(
        "<routers>", "<routers><!-- keep me -->", 1).split("<probes>")[0]
    rc, out, _ = run(capsys, "--check-config", "-f", str(config), "-g", cache)
    assert rc == 0 and "(1 probes, 2 routers)" in out
    rc, out, _ = run(capsys, "-q", "-f", str(config), "-g", cache, "-r", DEMO,
                     "--json-alerts", "-")
    reasons = [json.loads(line)["reason"] for line in out.splitlines()]
    assert "wrong ipv6 router" not in reasons


@pytest.mark.parametrize("argv, message", [
    (["-r", DEMO, "-D"], "ndpmon: -D and -r do not go together: a replay ends by itself\n"),
    (["-r", DEMO, "-i", "eth0", "-i", "eth1"],
     "ndpmon: -r takes one -i PROBE: the probe the capture was taken on\n"),
    (["-i", "nosuch0", "-i", "nosuch1"],
     "ndpmon: nosuch0: no such interface; nosuch1: no such interface\n"),
])
def test_live_and_replay_option_errors(tmp_path, capsys, argv, message):
    """Option combinations that cannot work (``-D`` with ``-r``, two ``-i`` with ``-r``, unknown
    interfaces) are one line on stderr and exit code 2."""
    rc, _, err = run(capsys, "-f", CONFIG, "-g", str(tmp_path / "c.xml"), *argv)
    assert (rc, err) == (2, message)


@pytest.mark.parametrize("text", ["soon", "-5m", "0"])
def test_learn_for_needs_a_duration(capsys, text):
    """``--learn-for`` refuses a text that is not a positive duration with an argparse error (exit
    2) that quotes it."""
    with pytest.raises(SystemExit) as exc:
        main([f"--learn-for={text}"])
    assert exc.value.code == 2
    assert f"not a duration: {text!r}" in capsys.readouterr().err


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("1.5m", 90),
                                           ("12h", 43200), ("7d", 604800)])
def test_learn_for_units(text, seconds):
    """``--learn-for`` reads plain seconds and the s, m, h and d suffixes, fractions included."""
    from ndpmon.commands.main import _duration

    assert _duration(text) == seconds
