"""Old NDPMon files are never run silently (issue 17 items 2 and 3).

The files are the fixtures of ``tests/data/make_old_formats.py`` (``tests/data/old``): an
NDPMon 1.4 config with its own 1.4 DTD beside it, the 802.1Q fork's config, and a
hand-written NDPMon 2.1 config with elements out of order, a missing one, ``<soap>`` and a
remote probe. Each test runs the real command line on a copy of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from ndpmon.commands.main import main
from ndpmon.config import loader

ROOT = Path(__file__).resolve().parents[1]
OLD = Path(__file__).resolve().parent / "data" / "old"
DEMO = str(ROOT / "samples" / "demo.pcap")
CONFIG = ROOT / "config_ndpmon.xml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``ndpmon argv`` in-process: (exit code, stdout, stderr)."""
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def copy(tmp_path: Path, *names: str) -> Path:
    """Copy fixtures (``v14/config_ndpmon.xml``, ...) into tmp_path; the first one's path."""
    for name in names:
        shutil.copy(OLD / name, tmp_path / Path(name).name)
    return tmp_path / Path(names[0]).name


def v14_refusal(path: Path, what: str) -> str:
    return (f"ndpmon: {path}: {what}: ndpmon does not run it; convert it with "
            f"`ndpmon upgrade {path} -i IFACE -o NEW.xml` (IFACE: the interface NDPMon "
            "listened on)\n")


V14 = ("an NDPMon 1.4 config (flat <config_ndpmon>: settings and <routers> directly "
       "inside, no <probes>)")
DOT1Q = "an NDPMon 1.4 config of the 802.1Q fork (<vlan_id> in its routers)"


# -- item 2: a 1.4 config is refused, whatever DTD accepts it ----------------------------


def test_v14_config_with_its_own_dtd_beside_is_refused(tmp_path, capsys):
    """A 1.4 config whose own 1.4 DTD stands beside it (an in-place upgrade) is refused with
    one line naming the format and the upgrade command; before, it validated against that
    DTD and --check-config said ``OK (0 probes, 0 routers)``."""
    path = copy(tmp_path, "v14/config_ndpmon.xml", "v14/config_ndpmon.dtd")
    rc, out, err = run(capsys, "--check-config", "-f", str(path), "-g", str(tmp_path / "c"))
    assert (rc, out, err) == (2, "", v14_refusal(path, V14))


def test_v14_config_with_its_dtd_given_by_e_is_refused(tmp_path, capsys):
    """The same with the 1.4 DTD given with ``-e``."""
    path = copy(tmp_path, "v14/config_ndpmon.xml")
    dtd = str(OLD / "v14" / "config_ndpmon.dtd")
    rc, _, err = run(capsys, "--check-config", "-f", str(path), "-e", dtd)
    assert (rc, err) == (2, v14_refusal(path, V14))


def test_v14_config_never_monitors(tmp_path, capsys):
    """A replay with a 1.4 config stops before the first frame, instead of monitoring with
    no router and no action."""
    path = copy(tmp_path, "v14/config_ndpmon.xml", "v14/config_ndpmon.dtd")
    rc, _, err = run(capsys, "-f", str(path), "-g", str(tmp_path / "c.xml"), "-r", DEMO,
                     "--json-alerts", str(tmp_path / "a.json"))
    assert (rc, err) == (2, v14_refusal(path, V14))
    assert not (tmp_path / "a.json").exists()


def test_dot1q_config_is_refused_naming_the_fork(tmp_path, capsys):
    """The 802.1Q fork's config (routers with ``<vlan_id>``), its DTD beside it, is refused
    and named as the fork's."""
    path = copy(tmp_path, "dot1q/config_ndpmon.xml", "dot1q/config_ndpmon.dtd")
    rc, _, err = run(capsys, "--check-config", "-f", str(path))
    assert (rc, err) == (2, v14_refusal(path, DOT1Q))


def test_foreign_root_content_is_refused_whatever_the_dtd(tmp_path):
    """A root holding an element that is not ndpmon's is refused even when the DTD beside
    the file declares it: the DTD does not decide what ndpmon runs."""
    text = CONFIG.read_text(encoding="latin-1").replace(
        "</config_ndpmon>", "<rules/></config_ndpmon>")
    (tmp_path / "config_ndpmon.xml").write_text(text, encoding="latin-1")
    loose = loader.PACKAGED_DTD.read_text().replace(
        "countermeasures?, plugins?)>", "countermeasures?, plugins?, rules?)>")
    (tmp_path / "config_ndpmon.dtd").write_text(loose)
    line = text.count("\n", 0, text.index("<rules/>")) + 1
    with pytest.raises(loader.ConfigError) as info:
        loader.load(str(tmp_path / "config_ndpmon.xml"))
    assert str(info.value) == (
        f"{tmp_path / 'config_ndpmon.xml'}:{line}: <rules> does not belong in "
        "<config_ndpmon>, which holds <settings>, <probes>, <countermeasures>, <plugins>: "
        "not a config of ndpmon or NDPMon 2.1")


def test_order_table_is_the_dtds():
    """legacy.ORDER, which puts a 2.1 file in order, lists each element's children as
    ndpmon's DTD does."""
    from ndpmon.config import legacy

    dtd = etree.DTD(str(loader.PACKAGED_DTD))
    declared = {el.name: _names(el.content) for el in dtd.iterelements()}
    for tag, order in legacy.ORDER.items():
        assert tuple(declared[tag]) == order, tag


def _names(decl) -> list[str]:
    if decl is None:
        return []
    if decl.type == "element":
        return [decl.name]
    return _names(decl.left) + _names(decl.right)


# -- item 2: NDPMon 2.1 files out of order run, with a warning each -----------------------


def out_of_order(tmp_path: Path) -> Path:
    return copy(tmp_path, "v21/out_of_order.xml")


def test_out_of_order_21_config_runs_with_warnings(tmp_path, capsys):
    """A 2.1 config NDPMon 2.1 ran (``<admin_mail>`` moved, no
    ``<use_reverse_hostlookups>``, ``prefixes`` before ``addresses``) is run with a warning
    per fault that names its line, and the command that fixes the file; before, it was
    refused."""
    path = out_of_order(tmp_path)
    rc, out, err = run(capsys, "--check-config", "-f", str(path), "-g", str(tmp_path / "c"))
    assert (rc, out) == (0, f"{path}: OK (2 probes, 1 routers)\n")
    lines = err.splitlines()
    assert lines[:4] == [
        f"ndpmon: {path}:10: <admin_mail> comes after <syslog_facility> in <settings>",
        f"ndpmon: {path}:4: <settings> has no <use_reverse_hostlookups>: no reverse lookups",
        f"ndpmon: {path}:26: <addresses> comes after <prefixes> in <router>",
        f"ndpmon: {path}: not valid against the DTD, run as NDPMon 2.1 ran it; "
        f"`ndpmon upgrade {path} --in-place` puts it in order",
    ]


def test_out_of_order_values_are_read(tmp_path):
    """The values of the elements out of place are the ones used."""
    cfg = loader.load(str(out_of_order(tmp_path)))
    s = cfg.settings
    assert (s.admin_mail, s.syslog_facility, s.use_reverse_hostlookups) == (
        "noc@example.net", "LOG_LOCAL2", False)
    assert len(cfg.probes[0].routers[0].prefixes) == 1


def test_what_is_left_after_the_faults_ndpmon_tolerates_is_the_error(tmp_path):
    """A file with a tolerated fault and a real one gets the real one's error."""
    text = (OLD / "v21" / "out_of_order.xml").read_text(encoding="latin-1")
    path = tmp_path / "c.xml"
    path.write_text(text.replace("<lla>fe80::200:5eff:fe00:5301</lla>", ""),
                    encoding="latin-1")
    with pytest.raises(loader.ConfigError) as info:
        loader.load(str(path))
    assert str(info.value).startswith(f"{path}:17: Element router content does not follow")
    assert str(info.value).endswith("got (mac addresses prefixes)")


def test_missing_ignor_autoconf_is_ndpmons_format(tmp_path):
    """``<ignor_autoconf>`` may be left out (the kernel's settings are left alone, as
    NDPMon did): no warning with ndpmon's DTD; one with NDPMon 2.1's own (``-e``)."""
    text = CONFIG.read_text(encoding="latin-1")
    start = text.index("<ignor_autoconf>")
    end = text.index("</ignor_autoconf>") + len("</ignor_autoconf>")
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(text[:start] + text[end:], encoding="latin-1")
    cfg = loader.load(str(path))
    assert (cfg.settings.ignor_autoconf, cfg.warnings) == (None, ())
    dtd = tmp_path / "ndpmon21.dtd"
    dtd.write_text(loader.PACKAGED_DTD.read_text().replace("ignor_autoconf?", "ignor_autoconf"))
    warned = loader.load(str(path), str(dtd)).warnings
    assert any("<settings> has no <ignor_autoconf>: the kernel's settings are left alone"
               in line for line in warned)


# -- item 3: what no longer works is said at start and by --check-config --------------------


def soap_and_remote(tmp_path: Path, store: bool = False) -> Path:
    """The sample config with a <soap> element and a remote probe (and a <store>)."""
    text = CONFIG.read_text(encoding="latin-1")
    settings_end = text.index("  </settings>")
    extra = '    <soap report_src="mon-a" ssl_enabled="0"/>\n'
    if store:
        extra += '    <store url="postgresql://ndpmon@db.example.net/ndpmon"/>\n'
    text = text[:settings_end] + extra + text[settings_end:]
    text = text.replace("</probes>", '<probe name="mon-b/eth0" type="remote"/></probes>')
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(text, encoding="latin-1")
    return path


SOAP = ("<soap> does nothing in ndpmon: NDPMon's SOAP distributed monitoring is gone; "
        "use <store> (README \"Distributed monitoring\")")
REMOTE = ("remote probe mon-b/eth0: nothing reports to it without a <store> (NDPMon's SOAP "
          "is gone); add one: README \"Distributed monitoring\"")


def test_check_config_warns_about_soap_and_remote_probes(tmp_path, capsys):
    """--check-config warns about <soap> (with its line) and a remote probe without a
    <store>, pointing to <store>; it still exits 0."""
    path = soap_and_remote(tmp_path)
    line = path.read_text(encoding="latin-1").count("\n", 0, path.read_text(
        encoding="latin-1").index("<soap ")) + 1
    rc, _, err = run(capsys, "--check-config", "-f", str(path), "-g", str(tmp_path / "c"))
    assert rc == 0
    assert err.splitlines() == [f"ndpmon: {path}:{line}: {SOAP}", f"ndpmon: {path}: {REMOTE}"]


def test_start_warns_about_soap_and_remote_probes(tmp_path, capsys):
    """A run (here a replay) logs the same warnings at start."""
    path = soap_and_remote(tmp_path)
    rc, _, err = run(capsys, "-q", "-f", str(path), "-g", str(tmp_path / "c.xml"), "-r", DEMO,
                     "--no-alerts-xml")
    assert rc == 0
    assert f"{path}: {REMOTE}" in err and SOAP in err


def test_remote_probes_with_a_store_are_fine(tmp_path, capsys):
    """With a <store>, remote probes are what ndpmon reads from it: no warning for them."""
    path = soap_and_remote(tmp_path, store=True)
    rc, _, err = run(capsys, "--check-config", "-f", str(path), "-g", str(tmp_path / "c"))
    assert rc == 0
    assert REMOTE not in err and SOAP in err


def test_fixtures_are_what_the_generator_writes(tmp_path):
    """The committed files in tests/data/old are exactly what make_old_formats.py writes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_old_formats", OLD.parent / "make_old_formats.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.files().items():
        assert (OLD / name).read_bytes() == data, name
