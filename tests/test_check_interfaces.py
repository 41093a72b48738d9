"""``--check-config`` names a probe whose interface this host does not have (issue 18,
item 3).

The live start fails on such a probe (exit 2), so ``--check-config`` (the systemd
unit's ExecStartPre) must not say OK: one line naming the config, the probe's line and
the interfaces the host has, exit 2. A replay (``-r``) captures nothing, so there the
probes are only names.
"""

from __future__ import annotations

from pathlib import Path

from test_cli import run

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "samples" / "demo.pcap")


def config_with_probe(tmp_path: Path, name: str) -> tuple[str, int]:
    """The sample config with its interface probe renamed; the path and the probe's line."""
    text = (ROOT / "config_ndpmon.xml").read_text()
    text = text.replace('<probe name="eth0" type="interface">',
                        f'<probe name="{name}" type="interface">')
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(text)
    (tmp_path / "config_ndpmon.dtd").write_text((ROOT / "config_ndpmon.dtd").read_text())
    line = text[:text.index(f'<probe name="{name}"')].count("\n") + 1
    return str(path), line


def test_check_config_names_a_missing_interface(tmp_path, capsys):
    """A probe on ``eht0`` (a typo) fails ``--check-config`` with one line: the file, the probe's
    line, the probe, and the interfaces the host has; exit 2."""
    config, line = config_with_probe(tmp_path, "eht0")
    rc, out, err = run(capsys, "--check-config", "-f", config, "-g", str(tmp_path / "c.xml"))
    assert (rc, out) == (2, "")
    assert err.startswith(f'ndpmon: {config}:{line}: <probe name="eht0" type="interface">: '
                          "no such interface on this host (it has lo")
    assert err.count("\n") == 1


def test_the_live_start_says_the_same(tmp_path, capsys):
    """The live start refuses the same probe with the same line, before opening anything."""
    config, line = config_with_probe(tmp_path, "eht0")
    rc, _, err = run(capsys, "-f", config, "-g", str(tmp_path / "c.xml"))
    assert rc == 2 and err.startswith(f'ndpmon: {config}:{line}: <probe name="eht0"')


def test_existing_interface_and_replay_pass(tmp_path, capsys):
    """A probe on ``lo`` passes; with ``-r`` (a replay captures nothing) ``eht0`` passes too."""
    config, _ = config_with_probe(tmp_path, "lo")
    rc, out, err = run(capsys, "--check-config", "-f", config, "-g", str(tmp_path / "c.xml"))
    assert (rc, err) == (0, "") and out.startswith(f"{config}: OK")
    config, _ = config_with_probe(tmp_path, "eht0")
    rc, out, err = run(capsys, "--check-config", "-f", config, "-g", str(tmp_path / "c.xml"),
                       "-r", DEMO)
    assert (rc, err) == (0, ""), err
