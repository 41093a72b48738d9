"""ndpmon.config.writeback: learned routers written into config_ndpmon.xml; only they change.

Each test writes into a copy of a config (the shipped sample or a small inline one)
and checks the bytes: everything outside the edited region is the original's, byte
for byte, and the file loads again (ndpmon.config.loader.load, DTD included) with exactly the
learned routers. The NDPMon regressions of COMPATIBILITY.md §7.7 (low-priority actions
overwritten), §7.8 (router addresses written empty) and §7.9 (prefixes lost) have a test each.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from ndpmon.config import loader as config
from ndpmon.config import writeback as configwrite
from ndpmon.config.loader import PACKAGED_DTD
from ndpmon.config.values import ipv6, mac
from ndpmon.errors import ConfigError, WriteError
from ndpmon.config.model import Prefix, Route, Router

REPO = Path(__file__).resolve().parents[1]

R1 = Router(
    mac=mac("0:11:22:33:44:55"), lla=ipv6("fe80::211:22ff:fe33:4455"), curhoplimit=64,
    flags=0, router_lifetime=1800, reachable_timer=0, retrans_timer=0, mtu=1500,
    params_volatile=True,
    prefixes=(Prefix(ipv6("2001:db8:1::"), 64, 192, 2592000, 604800),),
    rdnss=((ipv6("2001:db8:1::53"), 900),), dnssl=(("example.com", 900),),
    routes=(Route(ipv6("2001:db8:2::"), 48, 0, 1800),))
R2 = Router(mac=mac("0:0:5e:0:53:2"), lla=ipv6("fe80::200:5eff:fe00:5302"), mtu=None,
            curhoplimit=32, flags=0x40)

SMALL = textwrap.dedent("""\
    <?xml version="1.0" encoding="ISO-8859-1"?>
    <!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">
    <config_ndpmon>
      <!-- settings: caf\xe9 -->
      <settings>
        <actions_high_priority sendmail="1" syslog="1" exec_pipe_program="/usr/local/bin/pipe.sh"/>
        <actions_low_priority sendmail="0" syslog="1" exec_pipe_program=""/>
        <admin_mail>root@localhost</admin_mail>
        <ignor_autoconf>0</ignor_autoconf>
        <syslog_facility>LOG_LOCAL1</syslog_facility>
        <use_reverse_hostlookups>0</use_reverse_hostlookups>
      </settings>
      <probes>
        <probe name="pcap0" type="interface">
          <routers>
            <router>
              <!-- the main router -->
              <mac>0:11:22:33:44:55</mac>
              <lla>fe80::211:22ff:fe33:4455</lla>
              <addresses/>
              <prefixes/>
            </router>
          </routers>
          <rules>
            <rule description="x"><match field="nd.ra"/></rule>
          </rules>
        </probe>
        <probe name="pcap1" type="interface"/>
      </probes>
    </config_ndpmon>
    """).encode("latin-1")


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the shipped config_ndpmon.xml with its DTD beside it."""
    shutil.copy(REPO / "config_ndpmon.xml", tmp_path / "config_ndpmon.xml")
    shutil.copy(PACKAGED_DTD, tmp_path / "config_ndpmon.dtd")
    return tmp_path / "config_ndpmon.xml"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small ISO-8859-1 config above, with the DTD beside it."""
    (tmp_path / "config_ndpmon.xml").write_bytes(SMALL)
    shutil.copy(PACKAGED_DTD, tmp_path / "config_ndpmon.dtd")
    return tmp_path / "config_ndpmon.xml"


def cut(data: bytes, marker: bytes) -> bytes:
    """``data`` without the ``<router>`` element holding ``marker`` and the line end
    and indentation before it."""
    at = data.index(marker)
    begin = data.rindex(b"\n", 0, data.rindex(b"<router>", 0, at))
    end = data.index(b"</router>", at) + len(b"</router>")
    begin -= data[begin - 1:begin] == b"\r"
    return data[:begin] + data[end:]


def routers_of(path: Path, probe: str) -> tuple[Router, ...]:
    return config.load(str(path)).probe(probe).routers


def test_new_router_is_appended_and_nothing_else_changes(shipped: Path):
    """Only an inserted <router> differs: comments, settings, whitespace are the same."""
    before = shipped.read_bytes()
    configured = config.load(str(shipped))
    routers = configured.probe("eth0").routers + (R1,)
    configwrite.write_learned(str(shipped), {"eth0": routers}, configured)
    after = shipped.read_bytes()
    assert b"\n        <router>\n          <mac>0:11:22:33:44:55</mac>\n" in after
    assert cut(after, b"<mac>0:11:22:33:44:55</mac>") == before
    assert routers_of(shipped, "eth0") == routers


def test_unchanged_router_is_kept_with_its_comments(small: Path):
    """A router learning did not change keeps its element (and comment) byte for byte."""
    before = small.read_bytes()
    configured = config.load(str(small))
    kept = configured.probe("pcap0").routers
    configwrite.write_learned(str(small), {"pcap0": kept + (R2,)}, configured)
    after = small.read_bytes()
    assert cut(after, b"<mac>0:0:5e:0:53:2</mac>") == before


def test_changed_router_is_regenerated_in_place(small: Path):
    """A changed router is rewritten where it was; the rest of the file is untouched."""
    before = small.read_bytes()
    configwrite.write_learned(str(small), {"pcap0": (R1,)})
    after = small.read_bytes()
    assert b"<!-- the main router -->" not in after
    assert b"<param_mtu>1500</param_mtu>" in after
    assert cut(after, b"<lla>") == cut(before, b"<lla>")
    assert routers_of(small, "pcap0") == (R1,)


def test_actions_low_priority_stays_as_it_was(small: Path):
    """NDPMon wrote the high-priority actions into actions_low_priority (COMPATIBILITY.md §7.7)."""
    configwrite.write_learned(str(small), {"pcap0": (R1, R2)})
    text = small.read_bytes()
    assert b'<actions_low_priority sendmail="0" syslog="1" exec_pipe_program=""/>' in text
    settings = config.load(str(small)).settings
    assert (settings.actions_low.sendmail, settings.actions_low.exec_pipe_program) == (
        False, None)
    assert settings.actions_high.exec_pipe_program == "/usr/local/bin/pipe.sh"


def test_router_addresses_are_written(small: Path):
    """NDPMon wrote <address/> empty, and crashed on the next start (COMPATIBILITY.md §7.8)."""
    router = replace(R1, addresses=(ipv6("2001:db8:1::1"), ipv6("2001:db8:1:0:0:0:0:2")))
    configwrite.write_learned(str(small), {"pcap0": (router,)})
    text = small.read_bytes()
    assert (b"<addresses>\n            <address>2001:db8:1::1</address>\n"
            b"            <address>2001:db8:1::2</address>\n          </addresses>") in text
    assert routers_of(small, "pcap0") == (router,)


def test_every_prefix_is_written(small: Path):
    """Every learned prefix reaches the file, in order (COMPATIBILITY.md §7.9)."""
    prefixes = tuple(Prefix(ipv6(f"2001:db8:{n}::"), 64, 192, 86400, 3600) for n in (7, 3, 5))
    router = replace(R1, prefixes=prefixes)
    configwrite.write_learned(str(small), {"pcap0": (router,)})
    assert routers_of(small, "pcap0")[0].prefixes == prefixes


def test_dnssl_is_written_as_a_name_and_none_params_are_left_out(small: Path):
    """Domains in dotted form (COMPATIBILITY.md §7.4); a None param has no element (read back as
    None)."""
    configwrite.write_learned(str(small), {"pcap0": (R1, R2)})
    text = small.read_bytes()
    assert b'<domain lifetime="900">example.com</domain>' in text
    (r2,) = [r for r in routers_of(small, "pcap0") if r.mac == R2.mac]
    assert r2 == R2 and r2.mtu is None and r2.router_lifetime is None


def test_new_probe_is_added_and_empty_probe_gets_routers(small: Path):
    """An unknown probe is appended to <probes>; <probe .../> is opened for its routers."""
    configwrite.write_learned(str(small), {"pcap1": (R2,), "eth9": (R1,)})
    loaded = config.load(str(small))
    assert [p.name for p in loaded.probes] == ["pcap0", "pcap1", "eth9"]
    assert loaded.probe("pcap1").routers == (R2,)
    assert loaded.probe("eth9").routers == (R1,)
    assert loaded.probe("eth9").type == "interface"
    assert b'\n    <probe name="eth9" type="interface">\n      <routers>\n' in small.read_bytes()


def test_routers_go_before_rules_in_a_probe_without_routers(tmp_path: Path):
    """DTD order: <routers> comes before <rules> and <last_dad_address>."""
    path = tmp_path / "c.xml"
    path.write_bytes(SMALL.replace(b"""      <routers>
        <router>
          <!-- the main router -->
          <mac>0:11:22:33:44:55</mac>
          <lla>fe80::211:22ff:fe33:4455</lla>
          <addresses/>
          <prefixes/>
        </router>
      </routers>
""", b""))
    shutil.copy(PACKAGED_DTD, tmp_path / "config_ndpmon.dtd")
    configwrite.write_learned(str(path), {"pcap0": (R2,)})
    text = path.read_bytes()
    assert b'<probe name="pcap0" type="interface">\n      <routers>\n        <router>' in text
    assert b"      </routers>\n      <rules>" in text
    assert routers_of(path, "pcap0") == (R2,)


def test_routers_not_learned_stay(small: Path):
    """Learning never deletes: a probe's configured router survives an empty result."""
    before = config.load(str(small)).probe("pcap0").routers
    configwrite.write_learned(str(small), {"pcap0": (R2,)})
    assert routers_of(small, "pcap0") == before + (R2,)


def test_iso_8859_1_and_doctype_are_kept(small: Path):
    """The declaration, DOCTYPE and a Latin-1 byte in a comment survive the rewrite."""
    configwrite.write_learned(str(small), {"pcap0": (R1,)})
    text = small.read_bytes()
    assert text.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                           b'<!DOCTYPE config_ndpmon SYSTEM "config_ndpmon.dtd">\n')
    assert b"caf\xe9" in text


def test_non_latin1_domain_becomes_a_character_reference(small: Path):
    """A name the file's encoding cannot hold is written as a character reference."""
    router = replace(R2, dnssl=(("\u0444.example", 60),))
    configwrite.write_learned(str(small), {"pcap0": (router,)})
    assert b"&#1092;.example" in small.read_bytes()
    assert routers_of(small, "pcap0")[-1] == router


def test_written_file_is_valid_against_the_dtd(shipped: Path):
    """The result passes DTD validation (checked here apart from config.load)."""
    configwrite.write_learned(str(shipped), {"eth0": (R1, R2), "new0": (R2,)})
    dtd = etree.DTD(str(PACKAGED_DTD))
    tree = etree.parse(str(shipped), etree.XMLParser(no_network=True, load_dtd=False))
    assert dtd.validate(tree), dtd.error_log


def test_round_trip_gives_exactly_the_learned_routers(shipped: Path):
    """config.load of the written file gives the learned routers, every field."""
    configured = config.load(str(shipped))
    changed = replace(configured.probe("eth0").routers[0], curhoplimit=64, mtu=1280,
                      params_volatile=False)
    learned = {"eth0": (changed, R1, R2), "wlan0": (R2, R1)}
    configwrite.write_learned(str(shipped), learned, configured)
    loaded = config.load(str(shipped))
    assert {name: loaded.probe(name).routers for name in learned} == learned
    assert loaded.settings == configured.settings


def test_indentation_and_line_ends_of_the_file_are_used(tmp_path: Path):
    """A file indented with tabs and CRLF line ends gets tabs and CRLF."""
    text = SMALL.decode("latin-1").replace("  ", "\t").replace("\n", "\r\n")
    path = tmp_path / "c.xml"
    path.write_bytes(text.encode("latin-1"))
    shutil.copy(PACKAGED_DTD, tmp_path / "config_ndpmon.dtd")
    configwrite.write_learned(str(path), {"pcap0": config.load(str(path)).probe(
        "pcap0").routers + (R2,)})
    after = path.read_bytes()
    assert b"\r\n\t\t\t\t<router>\r\n\t\t\t\t\t<mac>0:0:5e:0:53:2</mac>\r\n" in after
    assert b"\t\t\t\t</router>\r\n\t\t\t</routers>" in after
    assert cut(after, b"<mac>0:0:5e:0:53:2</mac>") == text.encode("latin-1")


def test_nothing_learned_leaves_the_file_alone(small: Path):
    """No change, no write: the file keeps its inode."""
    inode = small.stat().st_ino
    configured = config.load(str(small))
    configwrite.write_learned(str(small), {"pcap0": configured.probe("pcap0").routers,
                                           "pcap1": ()}, configured)
    assert small.stat().st_ino == inode and small.read_bytes() == SMALL


def test_crash_during_write_keeps_the_old_file(small: Path, monkeypatch):
    """A failing rename leaves the old file whole and no temporary file behind."""
    def fail(src, dst, **dir_fds):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(WriteError, match="No space left on device"):
        configwrite.write_learned(str(small), {"pcap0": (R1,)})
    assert small.read_bytes() == SMALL
    assert sorted(p.name for p in small.parent.iterdir()) == ["config_ndpmon.dtd",
                                                              "config_ndpmon.xml"]


def test_missing_file_is_a_config_error(tmp_path: Path):
    """An unreadable file is a one-line ConfigError naming it."""
    path = tmp_path / "none.xml"
    with pytest.raises(ConfigError) as info:
        configwrite.write_learned(str(path), {"eth0": (R1,)})
    assert str(info.value).startswith(f"{path}: cannot read: ")


def test_broken_xml_is_a_config_error_with_its_line(tmp_path: Path):
    """A file that is not well-formed names the line, and is left as it is."""
    path = tmp_path / "c.xml"
    data = SMALL.replace(b"</probes>", b"</probe>")
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        configwrite.write_learned(str(path), {"pcap0": (R1,)})
    assert info.value.line == data.count(b"\n", 0, data.index(b"</probe>\n</config")) + 1
    assert "not well-formed XML" in str(info.value)
    assert path.read_bytes() == data


def test_router_lines_follow_the_dtd_order():
    """Element order of COMPATIBILITY.md §4.4; rdnss/dnssl/routes only when not empty."""
    tags = [re.match(r"<(/?\w+)", line).group(1)
            for depth, line in configwrite.router_lines(R1) if depth == 1]
    assert tags[:11] == ["mac", "lla", "param_curhoplimit", "param_flags_reserved",
                         "param_router_lifetime", "param_reachable_timer",
                         "param_retrans_timer", "param_mtu", "params_volatile",
                         "addresses", "prefixes"]
    assert [t for t in tags if t.lstrip("/") in ("rdnss", "dnssl", "routes")] == [
        "rdnss", "/rdnss", "dnssl", "/dnssl", "routes", "/routes"]
    assert [line for _, line in configwrite.router_lines(R2)
            if "rdnss" in line or "routes" in line] == []
