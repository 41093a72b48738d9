"""``<ignor_autoconf>`` reaches the captured interfaces' IPv6 settings, and only theirs."""

from __future__ import annotations

from ndpmon.capture.sysctl import KEYS, apply_ignor_autoconf


def fake_proc(tmp_path, *ifaces):
    for iface in ifaces:
        (tmp_path / iface).mkdir()
        for key in KEYS:
            (tmp_path / iface / key).write_text("1\n")
    return tmp_path


def test_writes_every_key_of_the_captured_interfaces_only(tmp_path):
    """``ignor_autoconf`` is written to the five autoconf/accept_ra/redirect keys of the captured
    interfaces only, never to other interfaces or ``all``."""
    root = fake_proc(tmp_path, "eth0", "eth1", "all")
    assert apply_ignor_autoconf(["eth0"], 0, str(root)) == []
    assert {(root / "eth0" / k).read_text() for k in KEYS} == {"0\n"}
    assert {(root / "eth1" / k).read_text() for k in KEYS} == {"1\n"}
    assert {(root / "all" / k).read_text() for k in KEYS} == {"1\n"}


def test_absent_setting_changes_nothing_and_failures_are_reported(tmp_path, caplog):
    """Without ``ignor_autoconf`` nothing is written; a missing interface gives one failure per key,
    returned and logged."""
    root = fake_proc(tmp_path, "eth0")
    assert apply_ignor_autoconf(["eth0"], None, str(root)) == []
    failed = apply_ignor_autoconf(["gone0"], 0, str(root))
    assert failed[0] == "gone0/autoconf: No such file or directory" and len(failed) == 5
    assert "ignor_autoconf: could not set gone0/autoconf" in caplog.text
