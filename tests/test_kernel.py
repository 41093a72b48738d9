"""``<ignor_autoconf>`` reaches the captured interfaces' IPv6 settings, only theirs, and
only while ndpmon runs: the values found are restored (issue 18, item 1)."""

from __future__ import annotations

import os
import signal
import time

from ndpmon.capture.sysctl import KEYS, Keeper, Sysctls

FOUND = {"autoconf": "1", "accept_ra": "2", "accept_ra_defrtr": "1", "accept_ra_pinfo": "1",
         "accept_redirects": "0"}


def fake_proc(tmp_path, *ifaces):
    for iface in ifaces:
        (tmp_path / iface).mkdir()
        for key in KEYS:
            (tmp_path / iface / key).write_text(FOUND[key] + "\n")
    return tmp_path


def values(root, iface: str) -> dict[str, str]:
    return {key: (root / iface / key).read_text().strip() for key in KEYS}


def test_writes_every_key_of_the_captured_interfaces_only(tmp_path):
    """``ignor_autoconf`` is written to the five autoconf/accept_ra/redirect keys of the captured
    interfaces only, never to other interfaces or ``all``."""
    root = fake_proc(tmp_path, "eth0", "eth1", "all")
    assert Sysctls(["eth0"], str(root)).apply(0) == []
    assert set(values(root, "eth0").values()) == {"0"}
    assert values(root, "eth1") == values(root, "all") == FOUND


def test_restore_gives_back_the_values_found(tmp_path):
    """After 0, then 1 (a SIGHUP), a restore writes back the values found before the first change
    (accept_ra 2 stays 2, not 1), and a second restore writes nothing."""
    root = fake_proc(tmp_path, "eth0")
    sysctls = Sysctls(["eth0"], str(root))
    sysctls.apply(0)
    sysctls.apply(1)
    assert set(values(root, "eth0").values()) == {"1"}
    assert sysctls.restore() == []
    assert values(root, "eth0") == FOUND
    (root / "eth0" / "accept_ra").write_text("0\n")
    assert sysctls.restore() == [] and values(root, "eth0")["accept_ra"] == "0"


def test_absent_setting_changes_nothing_and_failures_are_reported(tmp_path, caplog):
    """Without ``ignor_autoconf`` nothing is written; a missing interface gives one failure per key,
    returned and logged."""
    root = fake_proc(tmp_path, "eth0")
    assert Sysctls(["eth0"], str(root)).apply(None) == []
    assert values(root, "eth0") == FOUND
    failed = Sysctls(["gone0"], str(root)).apply(0)
    assert failed[0] == "gone0/autoconf: No such file or directory" and len(failed) == 5
    assert "ignor_autoconf: could not set gone0/autoconf" in caplog.text


def test_keeper_applies_on_command_and_restores_at_close(tmp_path):
    """The keeper process writes the value at start and on each change (None: the values found)
    and restores them when closed."""
    root = fake_proc(tmp_path, "eth0")
    keeper = Keeper(Sysctls(["eth0"], str(root)))
    keeper.start(0)
    try:
        assert set(values(root, "eth0").values()) == {"0"}
        keeper.apply(None)
        assert values(root, "eth0") == FOUND
        keeper.apply(1)
        assert set(values(root, "eth0").values()) == {"1"}
    finally:
        keeper.close()
    assert values(root, "eth0") == FOUND and keeper.pid is None


def test_keeper_restores_after_the_monitor_is_killed(tmp_path):
    """A monitor killed with SIGKILL cannot restore; its keeper notices the closed pipe and
    restores the values found."""
    root = fake_proc(tmp_path, "eth0")
    pid = os.fork()
    if pid == 0:  # the "monitor": start a keeper, then die without closing it
        try:
            Keeper(Sysctls(["eth0"], str(root))).start(0)
            (root / "applied").write_text("")
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    assert os.waitpid(pid, 0)[1] & 0x7F == signal.SIGKILL
    assert (root / "applied").exists()
    deadline = time.monotonic() + 10
    while values(root, "eth0") != FOUND and time.monotonic() < deadline:
        time.sleep(0.05)
    assert values(root, "eth0") == FOUND


def test_sample_config_changes_no_kernel_setting(tmp_path):
    """README's first live run (``ndpmon -i eth0`` with the sample config) must not cut the
    admin's IPv6: the sample's blank ``<ignor_autoconf>`` leaves the settings alone; 0 and 1
    still load as such."""
    from pathlib import Path

    from ndpmon.config import loader

    sample = Path(__file__).resolve().parents[1] / "config_ndpmon.xml"
    assert loader.load(str(sample)).settings.ignor_autoconf is None
    text = sample.read_text()
    for value in (0, 1):
        other = tmp_path / f"{value}.xml"
        other.write_text(text.replace("<ignor_autoconf></ignor_autoconf>",
                                      f"<ignor_autoconf>{value}</ignor_autoconf>"))
        dtd = str(sample.parent / "config_ndpmon.dtd")
        assert loader.load(str(other), dtd).settings.ignor_autoconf == value


def test_keeper_closes_while_a_later_child_holds_its_pipe(tmp_path):
    """A process forked after the keeper (root's config writer under ``--user -L``) holds the
    keeper's pipe until the monitor has finished: closing the keeper still restores and returns
    at once (it waited for the end of its input: a deadlock)."""
    root = fake_proc(tmp_path, "eth0")
    keeper = Keeper(Sysctls(["eth0"], str(root)))
    keeper.start(0)
    child = os.fork()
    if child == 0:  # holds every inherited descriptor for a while
        time.sleep(30)
        os._exit(0)
    try:
        started = time.monotonic()
        keeper.close()
        assert time.monotonic() - started < 5
        assert values(root, "eth0") == FOUND
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
