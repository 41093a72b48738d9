"""The short fuzz run of CI, and the regression samples the fuzzing found.

fuzz/ mutates the test captures' frames (structure-aware: options, lengths, extension
headers, fragments, VLAN tags, addresses; the checksum is recomputed so the frames reach
the checks) and runs them through the whole per-frame path: Engine.handle, then every
output an alert becomes (fuzz/harness.py). Here a fixed seed and a fixed number of frames
make the run the same every time, about 20 s. An exception or a broken state invariant
fails the test; slow frames are written to fuzz/findings/ci-slow.txt (and .pcap) with
one warning for all of them (no timing asserts: the long run, fuzz/run_long.sh,
re-measures and reports those). See SECURITY.md.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import frames, harness  # noqa: E402
from ndpmon.codec.message import MAX_NAMED_HEADERS  # noqa: E402
from ndpmon.config.model import Limits  # noqa: E402

SAMPLES = Path(__file__).resolve().parent / "data" / "fuzz"


@pytest.fixture(scope="module")
def pool() -> frames.Pool:
    return frames.Pool.from_seeds(frames.seed_frames())


#: Where the slow frames of a CI run go (with run_long's findings; not in git).
FINDINGS = Path(os.environ.get("NDPMON_FUZZ_FINDINGS") or
                Path(__file__).resolve().parent.parent / "fuzz" / "findings")
#: The slow frames of this module's tests so far (reported once, at the end).
SLOW: list[harness.Finding] = []


@pytest.fixture(scope="module", autouse=True)
def slow_frames_reported_once():
    """After the module's tests, one warning for all their slow frames (issue 18, item 9)."""
    SLOW.clear()
    yield
    if SLOW:
        report_slow(list(SLOW), FINDINGS)
        SLOW.clear()


def _failures(findings: list[harness.Finding]) -> list[str]:
    """Exceptions and broken invariants fail; slow frames (timing only: a loaded machine
    makes many) are kept for ``report_slow``."""
    SLOW.extend(f for f in findings if f.kind.startswith("slow"))
    return [f"{f.kind}: {f.detail}: {f.frame.hex()}" for f in findings
            if not f.kind.startswith("slow")]


def report_slow(slow: list[harness.Finding], folder: Path) -> None:
    """Write the slow frames to ``<folder>/ci-slow.txt`` (detail and hex) and ``.pcap``
    (for ``fuzz/run_long.py --recheck``), then warn once with their count and the path:
    one warning of 2 KB of hex per frame buried the test summary."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "ci-slow.txt"
    text.write_text("".join(f"{f.kind}: {f.detail}\n{f.frame.hex()}\n" for f in slow))
    frames.write_pcap(folder / "ci-slow.pcap", [(0.0, f.frame) for f in slow])
    warnings.warn(f"fuzz: {len(slow)} slow frame{'s' * (len(slow) != 1)} (timing only, "
                  f"not a failure) written to {text}; re-measure them on an idle machine: "
                  f"python fuzz/run_long.py --recheck {folder}", stacklevel=2)


def test_slow_frames_go_to_a_file_with_one_warning(tmp_path):
    """35 slow frames (about 2 KB of hex each) made 35 warnings that buried the pytest summary:
    now they are kept, written to a file, and given one warning naming the count and the path
    (issue 18, item 9); failures are still returned."""
    frame = bytes(range(256)) * 4
    findings = [harness.Finding("slow", f"{n}.00 ms per frame", frame) for n in range(35)]
    findings.append(harness.Finding("exception", "ValueError: x", b"\x01"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _failures(findings) == ["exception: ValueError: x: 01"]
        assert caught == [] and len(SLOW) == 35
        report_slow(SLOW, tmp_path)
        SLOW.clear()
    assert [str(w.message) for w in caught] == [
        f"fuzz: 35 slow frames (timing only, not a failure) written to {tmp_path}/"
        f"ci-slow.txt; re-measure them on an idle machine: python fuzz/run_long.py "
        f"--recheck {tmp_path}"]
    lines = (tmp_path / "ci-slow.txt").read_text().splitlines()
    assert len(lines) == 70 and lines[0] == "slow: 0.00 ms per frame"
    assert lines[1] == frame.hex()
    assert [f for _, f in frames.read_pcap(tmp_path / "ci-slow.pcap")] == [frame] * 35


def test_a_run_with_many_slow_frames_gives_one_warning(tmp_path):
    """This module run by pytest on a machine where every frame is slow (the threshold set to
    1 us): one warning in pytest's summary, with the count and the file (there were 400)."""
    plugin = tmp_path / "all_slow.py"
    plugin.write_text(f"import sys\nsys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
                      "from fuzz import harness\nharness.SLOW_NS = 1000\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NDPMON_FUZZ_FINDINGS=str(tmp_path))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "all_slow", "-p",
                          "no:cacheprovider", "-k", "icmpv6_payload", __file__],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout
    assert run.stdout.count("slow frame") == 1, run.stdout[-3000:]
    assert re.search(rf"fuzz: \d+ slow frames \(timing only, not a failure\) written to "
                     rf"{re.escape(str(tmp_path))}/ci-slow.txt", run.stdout)
    assert "1 passed" in run.stdout and "1 warning" in run.stdout


def test_seed_frames_rebuild_byte_for_byte(pool):
    """Splitting a seed frame and building it again changes nothing (so every change
    in a mutated frame comes from a mutation)."""
    parsed = [f for f in pool.frames if frames.parse(f) is not None]
    assert len(parsed) > 150
    assert [frames.build(frames.parse(f)) for f in parsed] == parsed


def test_mutated_frames_through_the_whole_path(pool):
    """50000 mutated frames: no exception, no broken invariant, and the frames reach
    deep: most alert reasons are raised (a broken mutator would only make malformed
    ND messages)."""
    rng = random.Random(20240611)
    target = harness.Target()
    findings = []
    for _ in range(50_000):
        finding = target.feed(frames.mutate(rng, rng.choice(pool.frames), pool))
        if finding is not None:
            findings.append(finding)
    assert _failures(findings) == []
    reasons = target.engine.reasons
    assert len(reasons) >= 30, reasons
    assert reasons["malformed ND message"] < sum(reasons.values()) / 3


def test_sequences_with_tiny_limits(pool, tmp_path):
    """Frame sequences among a few MACs and addresses, with max_neighbors=4 and
    max_addresses=2: the caches stay within their caps and indices after every frame,
    and the cache written from packet data reads back the same."""
    rng = random.Random(7)
    findings, evicted = [], Counter()
    for _ in range(60):
        target = harness.Target(Limits(max_neighbors=4, max_addresses=2))
        for step, frame in frames.sequence(rng, frames.small_pool(pool, rng), 400):
            finding = target.feed(frame, step)
            if finding is not None:
                findings.append(finding)
        harness.roundtrip(target.engine, tmp_path)
        ev = target.engine.probes[harness.PROBE].neighbors.evictions
        evicted.update(neighbors=ev.neighbors, addresses=ev.addresses)
        evicted.update(target.engine.reasons)
    assert _failures(findings) == []
    assert evicted["neighbors"] and evicted["addresses"], evicted  # the caps were hit
    for reason in ("neighbor cache limit reached", "dad dos", "changed ethernet address"):
        assert evicted[reason], f"no {reason!r} in the sequences: {evicted}"


HEADER = bytes.fromhex("333300000001" "00005e005301" "86dd" "6000000000403aff"
                       "fe800000000000000200" "5efffe005301" "ff02" + "00" * 13 + "01")


@settings(derandomize=True, max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.booleans())
def test_any_icmpv6_payload(payload, fix):
    """Behind a valid Ethernet and IPv6 header (checksum fixed or not), any ICMPv6
    bytes pass the whole path without an exception."""
    fr = frames.parse(HEADER[:18] + (len(payload)).to_bytes(2, "big") + HEADER[20:] + payload)
    assert fr is not None
    fr.fix_checksum = fix
    target = harness.Target()
    assert _failures([f for f in [target.feed(frames.build(fr))] if f]) == []


def _sample(name: str) -> bytes:
    lines = (SAMPLES / name).read_text().splitlines()
    return bytes.fromhex("".join(line for line in lines if not line.startswith("#")))


def test_long_extension_chain_names_few_headers():
    """Regression (fuzz): an RA behind 142 extension headers made a 1.6 kB alert that
    named each of them; now the first MAX_NAMED_HEADERS and ``+N more``."""
    target = harness.Target()
    alerts = target.engine.handle(harness.PROBE, 1.0, _sample("ext_chain_142.hex"))
    [alert] = [a for a in alerts if a.reason == "ND message behind extension headers"]
    assert alert.message.endswith(f",+{142 - MAX_NAMED_HEADERS} more")
    assert alert.message.count(",") == MAX_NAMED_HEADERS
    assert len(alert.message) < 250
    assert alert.extra["headers"] == alert.message.partition("headers=")[2]


def _fragment_with_headers(count: int) -> bytes:
    """A first fragment (offset 0, more fragments) whose header chain is cut: a fragment
    header, then ``count - 1`` destination-options headers, the last one announcing yet
    another header that the payload does not hold (RFC 7112 §5)."""
    chain = bytes([60, 0, 0, 1]) + b"\x00\x00\x12\x34"  # next: destination, offset 0, M
    chain += b"".join(bytes([60, 0, 1, 4, 0, 0, 0, 0]) for _ in range(count - 1))
    ipv6 = (bytes.fromhex("60000000") + len(chain).to_bytes(2, "big") + bytes([44, 255])
            + HEADER[22:54])
    return HEADER[:14] + ipv6 + chain


def test_fragment_with_150_headers_names_few_headers():
    """Regression (issue 13): the cap on the headers an alert names applies to the
    ``incomplete header chain`` alert of a fragment too (it had its own list, without
    the cap: 150 headers made an alert of over 1,700 characters)."""
    target = harness.Target()
    alerts = target.engine.handle(harness.PROBE, 1.0, _fragment_with_headers(150))
    [alert] = [a for a in alerts if a.reason == "incomplete header chain"]
    assert alert.message.endswith(f",+{150 - MAX_NAMED_HEADERS} more")
    assert "headers=fragment,destination," in alert.message
    assert len(alert.message) < 300


def test_many_alerts_from_one_frame_pass_every_output():
    """Regression sample (fuzz): a full-size RA that raised 52 alerts, once reported as
    slow when the machine was loaded. Each reason of an RA is now raised once (issue 16),
    so it raises 13, each through every output."""
    target = harness.Target()
    alerts = target.engine.handle(harness.PROBE, 1.0, _sample("ra_52_alerts.hex"))
    assert len(alerts) == 13 <= harness.MAX_ALERTS
    for alert in alerts:
        harness.format_alert(alert)
        harness.check_delivery(alert, whole_mail=True)
