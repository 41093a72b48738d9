"""Sample captures replayed through the engine, with a coverage rule (STYLE point 12).

Every pcap in ``tests/data/pcaps`` is replayed frame by frame through a fresh Engine,
each frame's capture time being ``now``, and the alerts are compared with the sidecar
JSON exactly and in order. The meta-tests fail when a reason some check declares (or
an engine-level reason: cache limit, unmonitored VLAN) has no triggering sample or no
clean sample, and when the committed fixtures drift from ``tests/data/make_pcaps.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PCAPS, generator, make_engine
from scapy.utils import RawPcapReader

from ndpmon.checks import registry, fragments

ENGINE_REASONS = ("neighbor cache limit reached", "unmonitored VLAN", *fragments.REASONS)
SIDECARS = sorted(p for p in PCAPS.glob("*.json") if p.name != "configs.json")
CONFIGS = json.loads((PCAPS / "configs.json").read_text())


def load(path: Path) -> dict:
    """The sidecar of one sample."""
    return json.loads(path.read_text())


def frames(pcap: Path) -> list[tuple[float, bytes]]:
    """(time, frame bytes) of every packet of ``pcap``."""
    return [(meta.sec + meta.usec / 1e6, data) for data, meta in RawPcapReader(str(pcap))]


def replay(sample: dict, pcap: Path) -> list[tuple[list, dict]]:
    """Every alert of the sample as ([index, priority, reason, message], extra), the
    extra with the alert's probe under ``probe`` (a trunk's frames feed its VLANs')."""
    engine = make_engine(CONFIGS[sample["config"]], sample.get("cache"), sample["probe"])
    got = []
    for index, (now, data) in enumerate(frames(pcap)):
        for alert in engine.handle(sample["probe"], now, data):
            got.append(([index, alert.priority.label, alert.reason, alert.message],
                        {"probe": alert.probe, **alert.extra}))
    return got


def _param(path: Path):
    sample = load(path)
    marks = ()
    if sample.get("xfail"):
        marks = (pytest.mark.xfail(reason=sample["xfail"], strict=True),)
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("sidecar", [_param(p) for p in SIDECARS])
def test_sample(sidecar: Path) -> None:
    """Replaying the pcap gives exactly the expected alerts, in order."""
    sample = load(sidecar)
    got = replay(sample, sidecar.with_suffix(".pcap"))
    assert [row for row, _ in got] == [row[:4] for row in sample["expected"]]
    for (row, extra), want in zip(got, sample["expected"], strict=True):
        for key, value in (want[4] if len(want) > 4 else {}).items():
            assert extra.get(key) == value, (row, key)


def declared_reasons() -> dict[str, str]:
    """Every reason a registered check declares, mapped to the check's name."""
    reasons = {}
    for chk, _types in registry():
        for reason in chk.reasons:
            reasons[reason] = chk.name
    for reason in ENGINE_REASONS:
        reasons[reason] = "engine"
    return reasons


def test_every_reason_has_a_triggering_sample() -> None:
    """Each declared reason is raised by at least one sample that is expected to pass."""
    triggered = {row[2] for p in SIDECARS if not load(p).get("xfail")
                 for row in load(p)["expected"]}
    missing = sorted(set(declared_reasons()) - triggered)
    assert not missing, f"reasons with no triggering sample: {missing}"


def test_every_reason_and_check_has_a_clean_sample() -> None:
    """Each reason (and each check without reasons) is listed by some clean sample."""
    clean = {r for p in SIDECARS if not load(p).get("xfail") for r in load(p)["clean_for"]}
    wanted = set(declared_reasons())
    wanted |= {chk.name for chk, _ in registry() if not chk.reasons}
    missing = sorted(wanted - clean)
    assert not missing, f"reasons/checks with no clean sample: {missing}"


def test_clean_samples_do_not_expect_their_reasons() -> None:
    """A sample never expects an alert for a reason it claims to be clean for."""
    known = set(declared_reasons()) | {chk.name for chk, _ in registry()}
    for path in SIDECARS:
        sample = load(path)
        assert set(sample["clean_for"]) <= known, path.name
        expected = {row[2] for row in sample["expected"]}
        assert not expected & set(sample["clean_for"]), path.name


def test_samples_only_expect_declared_reasons() -> None:
    """Expected reasons are all declared somewhere, so a typo cannot pass unnoticed."""
    declared = set(declared_reasons())
    for path in SIDECARS:
        for row in load(path)["expected"]:
            assert row[2] in declared, (path.name, row)
            assert row[1] in ("low", "high"), (path.name, row)


def test_every_sample_has_its_pcap_and_a_known_config() -> None:
    """Each sidecar has its pcap beside it and names a config scenario that exists."""
    assert SIDECARS
    for path in SIDECARS:
        sample = load(path)
        assert path.with_suffix(".pcap").is_file(), path.name
        assert sample["config"] in CONFIGS, path.name
        count = len(frames(path.with_suffix(".pcap")))
        assert all(0 <= row[0] < count for row in sample["expected"]), path.name


def test_fixtures_match_the_generator(tmp_path: Path) -> None:
    """Regenerating the fixtures gives byte-identical files, and no stale file is left."""
    written = generator().main(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in PCAPS.iterdir())
    for path in written:
        assert path.read_bytes() == (PCAPS / path.name).read_bytes(), path.name
