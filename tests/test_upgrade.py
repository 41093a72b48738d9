"""``ndpmon upgrade`` on real old files (issue 17 item 1).

Every test runs the command line on copies of the fixtures of
``tests/data/make_old_formats.py`` (NDPMon 1.4 with its DTD, the 802.1Q fork's config and
cache, a 2.1 learned config with raw DNSSL bytes, a 2.1 config out of order), then loads
what it wrote with ndpmon's own loaders: the converted files must be ones ndpmon runs,
holding everything the old ones said.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import GOLDEN
from ndpmon.commands.main import main
from ndpmon.config import loader
from ndpmon.config.model import ActionSet, Guard
from ndpmon.config.values import ipv6, mac
from ndpmon.formats.cache import load_cache
from ndpmon.state.neighbors import NeighborCache

ROOT = Path(__file__).resolve().parents[1]
OLD = Path(__file__).resolve().parent / "data" / "old"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def copy(tmp_path: Path, name: str) -> Path:
    """A copy of fixture ``name`` (and of the DTD beside it) in tmp_path."""
    source = OLD / name
    for dtd in source.parent.glob("*.dtd"):
        shutil.copy(dtd, tmp_path / dtd.name)
    shutil.copy(source, tmp_path / source.name)
    return tmp_path / source.name


def upgrade(capsys, tmp_path: Path, name: str, *options: str) -> tuple[Path, Path, str]:
    """``ndpmon upgrade`` a copy of ``name`` to ``new.xml`` beside it (the old DTD stays
    there, as after an in-place package upgrade); (old, new, stdout)."""
    old = copy(tmp_path, name)
    before = old.read_bytes()
    new = tmp_path / "new.xml"
    rc, out, err = run(capsys, "upgrade", str(old), "-o", str(new), *options)
    assert (rc, err) == (0, "")
    assert old.read_bytes() == before  # the input is never touched
    assert out.endswith(f"wrote {new}\n")
    return old, new, out


def test_v14_config_carries_everything_over(tmp_path, capsys):
    """A 1.4 config becomes a valid config of ours with its actions, mail, facility,
    reverse lookups, autoconf, routers with their parameters, prefixes and addresses,
    guards and comments, in a probe for the -i interface."""
    old, new, out = upgrade(capsys, tmp_path, "v14/config_ndpmon.xml", "-i", "enp3s0")
    assert out.startswith(f"{old}: NDPMon 1.4 config\n  - settings: moved into <settings>")
    assert '2 routers → <probe name="enp3s0" type="interface">' in out
    cfg = loader.load(str(new))  # the 1.4 DTD beside it: ndpmon's own is used
    s = cfg.settings
    assert s.actions_high == ActionSet(True, True, "/usr/local/ndpmon/create_html_table.py")
    assert s.actions_low == ActionSet(False, True, None)
    assert (s.admin_mail, s.syslog_facility, s.use_reverse_hostlookups, s.ignor_autoconf) \
        == ("netadmin@example.net", "LOG_LOCAL3", True, 1)
    [probe] = cfg.probes
    assert (probe.name, probe.type, len(probe.routers)) == ("enp3s0", "interface", 2)
    first = probe.routers[0]
    assert (first.mac, first.lla) == (mac("0:0:5e:0:53:1"), ipv6("fe80::200:5eff:fe00:5301"))
    assert (first.curhoplimit, first.flags, first.router_lifetime, first.params_volatile) == (
        64, 0, 1800, False)
    # learned as 0, which 1.4 did not check: left out, so ndpmon does not check them either
    assert (first.reachable_timer, first.retrans_timer, first.mtu) == (None, None, None)
    assert first.addresses == (ipv6("2001:db8:1::1"),)
    [prefix] = first.prefixes
    assert (prefix.address, prefix.length, prefix.flags, prefix.valid, prefix.preferred) == (
        ipv6("2001:db8:1::"), 64, 192, 2592000, 604800)
    assert cfg.countermeasures["kill_illegitimate_router"] == Guard("RESPOND")
    assert cfg.countermeasures["kill_wrong_prefix"] == Guard("LAUNCH AFTER", 10)
    assert cfg.countermeasures["propagate_router_params"] == Guard("CEASE AFTER", 10)
    text = new.read_text(encoding="latin-1")
    for comment in ("NDPMon 1.4 on the office LAN", "Example of router definition",
                    "Countermeasures: answer rogue routers at once"):
        assert comment in text


def test_dot1q_config_vlans_become_probes(tmp_path, capsys):
    """The fork's routers go to one probe per VLAN, named ``IFACE.VLAN``; untagged ones
    (VLAN 4095) to the interface's own probe. The same router MAC and LLA on two VLANs
    stay two routers of two probes."""
    _, new, out = upgrade(capsys, tmp_path, "dot1q/config_ndpmon.xml", "-i", "eth0")
    assert '1 router of VLAN 105 → <probe name="eth0.105" type="interface">' in out
    cfg = loader.load(str(new))
    assert [p.name for p in cfg.probes] == ["eth0", "eth0.105", "eth0.106"]
    by_name = {p.name: p for p in cfg.probes}
    assert by_name["eth0"].routers[0].mac == mac("0:0:5e:0:53:3")
    v105, v106 = by_name["eth0.105"].routers[0], by_name["eth0.106"].routers[0]
    assert (v105.mac, v105.lla) == (v106.mac, v106.lla)
    assert v105.prefixes[0].address == ipv6("2001:db8:105::")
    assert v106.prefixes[0].address == ipv6("2001:db8:106::")
    assert "<vlan_id>" not in new.read_text(encoding="latin-1").replace(
        "<vlan_id>105</vlan_id>) -->", "").replace("<vlan_id>106</vlan_id>) -->", "")


def test_learned_dnssl_bytes_become_names(tmp_path, capsys):
    """NDPMon 2.1's learned config, not XML because of its raw DNSSL label bytes, is read
    leniently and written with the names; its leaked <last_dad_address/> and empty
    <address/> go; everything else stays as it was."""
    old, new, out = upgrade(capsys, tmp_path, "v21/learned_dnssl.xml")
    assert "line 42: <domain> example.com: decoded from the raw label bytes" in out
    cfg = loader.load(str(new))
    router = cfg.probes[0].routers[0]
    assert router.dnssl == (("example.com", 900), ("corp.example.net", 900))
    assert router.mtu == 1500 and router.routes[0].length == 48
    text = new.read_text(encoding="latin-1")
    assert "last_dad_address" not in text and "<address/>" not in text
    assert "<addresses/>" in text
    before = old.read_bytes().decode("latin-1").split("<probes>")[0].split("<config_ndpmon>")[1]
    assert before in text  # the settings, byte for byte


def test_out_of_order_in_place_keeps_a_backup(tmp_path, capsys):
    """--in-place puts a 2.1 file in order, adds the missing element with NDPMon's
    meaning, comments <soap> out, keeps the old file as .bak; the result loads without a
    warning."""
    old = copy(tmp_path, "v21/out_of_order.xml")
    before = old.read_bytes()
    rc, out, _ = run(capsys, "upgrade", str(old), "--in-place")
    assert rc == 0
    assert ("line 4: <settings> has no <use_reverse_hostlookups>: no reverse lookups: added "
            "<use_reverse_hostlookups>0</use_reverse_hostlookups>") in out
    assert "line 30: note: remote probe mon-b/eth0: nothing reports to it" in out
    assert Path(f"{old}.bak").read_bytes() == before
    cfg = loader.load(str(old))
    assert cfg.warnings == ()
    assert cfg.settings.admin_mail == "noc@example.net"
    text = old.read_text(encoding="latin-1")
    assert "<!-- NDPMon's SOAP, which ndpmon does not have" in text
    assert text.index("<!-- moved here when the mail alias changed -->") < text.index(
        "<admin_mail>") < text.index("<ignor_autoconf>")
    rc, out, _ = run(capsys, "upgrade", str(old), "--in-place")
    assert "nothing to change" in out


def cache_of(path: Path, *names: str) -> dict[str, NeighborCache]:
    caches = {name: NeighborCache() for name in names}
    load_cache(str(path), caches)
    return caches


def test_v14_cache_becomes_ours(tmp_path, capsys):
    """A 1.4 neighbor_list.xml becomes our cache, under the -i probe: MACs, vendor, LLAs,
    times, addresses, old MACs with the previous one, and the first MAC seen."""
    _, new, out = upgrade(capsys, tmp_path, "v14/neighbor_list.xml", "-i", "eth0")
    assert '3 neighbours → <probe name="eth0">' in out
    a, b, c = list(cache_of(new, "eth0")["eth0"])
    assert (a.mac, a.vendor, a.lastseen) == (mac("0:0:5e:0:53:a"), "ICANN", 1_700_000_000)
    assert a.addresses[ipv6("2001:db8:1::a")].firstseen == 1_700_000_000 - 60
    assert b.old_macs == (mac("0:0:5e:0:53:1b"), mac("0:0:5e:0:53:2b"))
    assert (b.previous_mac, b.first_mac_seen) == (mac("0:0:5e:0:53:2b"), mac("0:0:5e:0:53:1b"))
    assert len(b.addresses) == 2 and c.lla == ipv6("fe80::200:5eff:fe00:530c")


def test_dot1q_config_and_cache_go_together(tmp_path, capsys):
    """The fork's cache goes to the same probes as its config: the converted pair passes
    --check-config, and the same host on VLANs 105 and 106 stays two neighbours."""
    upgrade(capsys, tmp_path, "dot1q/config_ndpmon.xml", "-i", "eth0")
    config = tmp_path / "config.xml"
    (tmp_path / "new.xml").rename(config)
    _, cache, _ = upgrade(capsys, tmp_path, "dot1q/neighbor_list.xml", "-i", "eth0")
    rc, out, err = run(capsys, "--check-config", "-f", str(config), "-g", str(cache))
    assert (rc, out, err) == (0, f"{config}: OK (3 probes, 3 routers)\n", "")
    caches = cache_of(cache, "eth0", "eth0.105", "eth0.106")
    assert [len(caches[n]) for n in ("eth0", "eth0.105", "eth0.106")] == [1, 1, 1]
    assert list(caches["eth0.105"])[0].lla == list(caches["eth0.106"])[0].lla


def test_without_output_nothing_is_written(tmp_path, capsys):
    """Without -o or --in-place the changes are printed and no file is written."""
    old = copy(tmp_path, "v14/config_ndpmon.xml")
    files = sorted(tmp_path.iterdir())
    rc, out, _ = run(capsys, "upgrade", str(old), "-i", "eth0")
    assert rc == 0 and out.endswith("nothing written: give -o NEW, or --in-place\n")
    assert sorted(tmp_path.iterdir()) == files


def test_ours_needs_nothing(capsys):
    """The shipped sample is already in our format."""
    rc, out, _ = run(capsys, "upgrade", str(ROOT / "config_ndpmon.xml"))
    assert rc == 0 and out.endswith("already in ndpmon's format: nothing to change\n")


@pytest.mark.parametrize("name", ["v14/config_ndpmon.xml", "v14/neighbor_list.xml"])
def test_v14_needs_the_interface(tmp_path, capsys, name):
    """1.4's files name no interface: without -i the command stops with one line."""
    old = copy(tmp_path, name)
    rc, _, err = run(capsys, "upgrade", str(old), "-o", str(tmp_path / "new.xml"))
    assert rc == 2 and err.count("\n") == 1
    assert "it names no interface; give the one NDPMon listened on with -i IFACE" in err
    assert not (tmp_path / "new.xml").exists()


def test_an_invalid_result_is_not_written(tmp_path, capsys):
    """A 1.4 config with a broken value is not converted: the error names the old file's
    line, and nothing is written."""
    old = copy(tmp_path, "v14/config_ndpmon.xml")
    text = old.read_text(encoding="latin-1")
    old.write_text(text.replace("<mac>0:0:5e:0:53:2</mac>", "<mac>zz</mac>"),
                   encoding="latin-1")
    line = text[:text.index("<mac>0:0:5e:0:53:2</mac>")].count("\n") + 1
    rc, _, err = run(capsys, "upgrade", str(old), "-i", "eth0", "-o", str(tmp_path / "n.xml"))
    assert (rc, err) == (2, f"ndpmon: {old}:{line}: <mac>: not a MAC address: 'zz' (in the "
                            "converted config: correct the old file, then convert it again)\n")
    assert not (tmp_path / "n.xml").exists()


def test_in_place_and_output_exclude_each_other(tmp_path, capsys):
    """--in-place with -o is one line and exit 2."""
    old = copy(tmp_path, "v21/out_of_order.xml")
    rc, _, err = run(capsys, "upgrade", str(old), "--in-place", "-o", str(tmp_path / "x"))
    assert (rc, err) == (2, "ndpmon: --in-place and -o do not go together\n")


def test_raw_label_forms():
    """Label lengths that are XML white space (9, 10, 13) or markup (38 = '&', written
    &amp;) decode too; text that is not all labels is left alone."""
    from ndpmon.config.upgrade import decode_raw_dnssl

    name38 = "a" * 38
    raw = (b'<domain lifetime="1">\tlocalhost\x0blocaldomain</domain>'
           b'<domain lifetime="1">\ncorp-net10\rexample-13chr\x03com</domain>'
           b'<domain lifetime="1">&amp;' + name38.encode() + b"\x03org</domain>"
           b'<domain lifetime="1">\x07broken</domain>')
    fixed, changes = decode_raw_dnssl(raw)
    assert fixed == (b'<domain lifetime="1">localhost.localdomain</domain>'
                     b'<domain lifetime="1">corp-net10.example-13chr.com</domain>'
                     b'<domain lifetime="1">' + name38.encode() + b".org</domain>"
                     b'<domain lifetime="1">\x07broken</domain>')
    assert len(changes) == 3


@pytest.mark.skipif(not (GOLDEN / "learn" / "config_ndpmon.xml").exists(),
                    reason="NDPMon's golden files are not here")
def test_ndpmon_21_golden_learned_config(tmp_path, capsys):
    """The config NDPMon 2.1.0 itself wrote in learning mode (the golden run) converts."""
    old = tmp_path / "config_ndpmon.xml"
    shutil.copy(GOLDEN / "learn" / "config_ndpmon.xml", old)
    rc, _, _ = run(capsys, "upgrade", str(old), "--in-place")
    assert rc == 0
    assert loader.load(str(old)).probes[0].routers[0].dnssl == (("example.com", 900),)
