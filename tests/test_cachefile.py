"""Tests for ndpmon.formats.cache: neighbor_list.xml read and written as NDPMon 2.1 does."""

from __future__ import annotations

import os
import shutil
import stat
import textwrap
from pathlib import Path

import pytest
from conftest import GOLDEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndpmon.formats import cache as cachefile
from ndpmon.formats.cache import load_cache, save_cache
from ndpmon.errors import ConfigError, WriteError
from ndpmon.config.values import ipv6 as parse_ipv6, mac as parse_mac
from ndpmon.state.neighbors import UNSPECIFIED, Address, Neighbor, NeighborCache

T0 = 1795348064




def write(tmp_path: Path, text: str, name: str = "neighbor_list.xml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="iso-8859-1")
    return str(path)


def load_one(path: str, probe: str = "pcap0") -> list[Neighbor]:
    caches = {probe: NeighborCache()}
    load_cache(path, caches)
    return list(caches[probe])


def content(caches: dict[str, NeighborCache]) -> dict:
    """Everything the file stores, as plain comparable values."""
    return {
        name: [
            (
                nb.mac, nb.first_mac_seen, nb.previous_mac, list(nb.old_macs), nb.lla,
                int(nb.lastseen), nb.vendor,
                [(a.addr, int(a.firstseen), int(a.lastseen)) for a in nb.addresses.values()],
            )
            for nb in cache
        ]
        for name, cache in caches.items()
    }


def one_neighbor(body: str, probe_extra: str = "") -> str:
    """A file holding one probe ``pcap0`` with one ``<neighbor>`` made of ``body``."""
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        "<neighbors>\n"
        f'  <probe name="pcap0" mac="0:0:0:0:0:0">{probe_extra}\n'
        "    <neighbor>\n"
        f"{body}"
        "    </neighbor>\n"
        "  </probe>\n"
        "</neighbors>\n"
    )


# -- the golden files -----------------------------------------------------------


@pytest.mark.parametrize("run", ["monitor", "learn"])
def test_golden_file_saved_back_byte_for_byte(utc, tmp_path: Path, run: str) -> None:
    """Loading a cache the original wrote and saving it again gives the same bytes."""
    golden = GOLDEN / run / "neighbor_list.xml"
    caches = {"pcap0": NeighborCache()}
    load_cache(str(golden), caches)
    out = tmp_path / "out.xml"
    save_cache(str(out), caches)
    assert out.read_bytes() == golden.read_bytes()


def test_golden_monitor_content() -> None:
    """The golden monitor cache loads into the expected neighbours and indices."""
    caches = {"pcap0": NeighborCache()}
    load_cache(str(GOLDEN / "monitor" / "neighbor_list.xml"), caches)
    cache = caches["pcap0"]
    assert [nb.mac for nb in cache] == [
        parse_mac(m)
        for m in ["0:11:22:33:44:55", "0:cc:0:0:0:3", "0:bb:0:0:0:2",
                  "33:33:0:0:0:1", "0:12:34:56:78:9a"]
    ]
    nb = cache.by_mac[parse_mac("0:cc:0:0:0:3")]
    assert nb.first_mac_seen == parse_mac("0:aa:0:0:0:1")
    assert nb.old_macs == (parse_mac("0:aa:0:0:0:1"), parse_mac("0:dd:0:0:0:4"))
    assert nb.previous_mac == parse_mac("0:dd:0:0:0:4")
    assert nb.lastseen == T0 and nb.vendor is None
    assert cache.by_lla[parse_ipv6("fe80::2aa:ff:fe00:1")] is nb
    assert cache.by_ip[parse_ipv6("2001:db8:1::a")] is nb
    entry = nb.addresses[parse_ipv6("2001:db8:1::a")]
    assert (entry.firstseen, entry.lastseen) == (T0, T0)


# -- round trip -------------------------------------------------------------------

macs = st.binary(min_size=6, max_size=6)
addrs = st.binary(min_size=16, max_size=16)
times = st.integers(min_value=0, max_value=2**31 - 1)
vendors = st.none() | st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"),
    min_size=1, max_size=15,
)


@st.composite
def neighbors(draw: st.DrawFn) -> Neighbor:
    nb = Neighbor(draw(macs), draw(st.just(UNSPECIFIED) | addrs), draw(times))
    nb.first_mac_seen = draw(macs)
    nb.vendor = draw(vendors)
    nb.old_macs = tuple(draw(st.lists(macs, max_size=3, unique=True)))
    if nb.old_macs:
        nb.previous_mac = draw(st.sampled_from(nb.old_macs))
    for addr in draw(st.lists(addrs, max_size=3, unique=True)):
        nb.addresses[addr] = Address(addr, draw(times), draw(times))
    return nb


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["pcap0", "eth1", "a&b<\"c\""]),
                       st.lists(neighbors(), max_size=4), min_size=1))
def test_round_trip_keeps_content(tmp_path: Path, probes: dict) -> None:
    """load(save(x)) gives back every field of every neighbour of every probe."""
    caches = {}
    for name, nbs in probes.items():
        caches[name] = NeighborCache()
        for nb in nbs:
            caches[name].insert(nb)
    path = str(tmp_path / "rt.xml")
    save_cache(path, caches)
    loaded = {name: NeighborCache() for name in caches}
    load_cache(path, loaded)
    assert content(loaded) == content(caches)


def test_probe_mac_addresses_and_empty_probe(tmp_path: Path) -> None:
    """Each probe is written with its MAC and addresses; an empty one as ``<probe/>``."""
    path = str(tmp_path / "nl.xml")
    save_cache(
        path,
        {"eth0": NeighborCache(), "eth1": NeighborCache()},
        probe_macs={"eth0": parse_mac("0:11:22:33:44:55")},
        probe_addresses={"eth0": [parse_ipv6("fe80::1"), parse_ipv6("2001:db8::1")]},
    )
    lines = Path(path).read_text(encoding="iso-8859-1").splitlines()[3:]
    assert lines == [
        "<neighbors>",
        '  <probe name="eth0" mac="0:11:22:33:44:55">',
        "    <address>fe80::1</address>",
        "    <address>2001:db8::1</address>",
        "  </probe>",
        '  <probe name="eth1" mac="0:0:0:0:0:0"/>',
        "</neighbors>",
    ]
    caches = {"eth0": NeighborCache(), "eth1": NeighborCache()}
    load_cache(path, caches)
    assert len(caches["eth0"]) == len(caches["eth1"]) == 0


def test_vendor_outside_latin1_is_a_character_reference(tmp_path: Path) -> None:
    """A vendor name with a character ISO-8859-1 lacks is saved as ``&#...;`` and read back."""
    nb = Neighbor(parse_mac("0:1:2:3:4:5"), parse_ipv6("fe80::1"), T0)
    nb.vendor = "Bäck€"
    cache = NeighborCache()
    cache.insert(nb)
    path = str(tmp_path / "nl.xml")
    save_cache(path, {"pcap0": cache})
    assert b'<mac vendor="B\xe4ck&#8364;">0:1:2:3:4:5</mac>' in Path(path).read_bytes()
    assert load_one(path)[0].vendor == "Bäck€"


# -- what the original could not read ---------------------------------------------


def test_missing_file_is_an_empty_cache(tmp_path: Path) -> None:
    """A cache file that does not exist yet loads as no neighbours, without error."""
    assert load_one(str(tmp_path / "nothing.xml")) == []


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_empty_file_is_an_empty_cache(tmp_path: Path, text: str) -> None:
    """An empty (or blank) cache file loads as no neighbours, without error."""
    assert load_one(write(tmp_path, text)) == []


def test_lenient_neighbor(tmp_path: Path) -> None:
    """No vendor, no time attributes, ``::`` LLA and no first_mac_seen all load sensibly."""
    body = (
        "      <mac>0:1:2:3:4:5</mac>\n"
        "      <lla>::</lla>\n"
        f"      <lastseen>{T0}</lastseen>\n"
        "      <addresses>\n"
        "        <address>2001:db8::5</address>\n"
        f'        <address lastseen="{T0 + 9}">2001:db8::6</address>\n'
        "      </addresses>\n"
    )
    path = write(tmp_path, one_neighbor(body, "\n    <address>fe80::99</address>"))
    caches = {"pcap0": NeighborCache()}
    load_cache(path, caches)
    [nb] = list(caches["pcap0"])
    assert (nb.mac, nb.first_mac_seen, nb.vendor) == (bytes([0, 1, 2, 3, 4, 5]),) * 2 + (None,)
    assert nb.lla == UNSPECIFIED and caches["pcap0"].by_lla == {}
    assert nb.old_macs == () and nb.previous_mac is None
    times = [(a.firstseen, a.lastseen) for a in nb.addresses.values()]
    assert times == [(T0, T0), (T0 + 9, T0 + 9)]


def test_neighbor_without_lastseen_is_time_zero(tmp_path: Path) -> None:
    """A neighbour with no ``<lastseen>`` gets time 0, and so do its addresses."""
    body = (
        "      <mac>0:1:2:3:4:5</mac>\n"
        "      <addresses><address>2001:db8::5</address></addresses>\n"
        "      <old_macs/>\n"
    )
    [nb] = load_one(write(tmp_path, one_neighbor(body)))
    entry = nb.addresses[parse_ipv6("2001:db8::5")]
    assert (nb.lastseen, entry.firstseen, entry.lastseen) == (0, 0, 0)


def test_missing_mac_falls_back_to_first_mac_seen(tmp_path: Path) -> None:
    """A cache from the mherrb fork (no ``<mac>``, COMPATIBILITY.md §7.15) keeps first_mac_seen as
    the MAC."""
    body = "      <first_mac_seen>0:aa:0:0:0:1</first_mac_seen>\n      <lla>fe80::1</lla>\n"
    [nb] = load_one(write(tmp_path, one_neighbor(body)))
    assert nb.mac == nb.first_mac_seen == parse_mac("0:aa:0:0:0:1")


def test_vendor_attribute_is_kept(tmp_path: Path, utc) -> None:
    """``<mac vendor>`` (mac_resolv) is loaded into ``vendor`` and written back."""
    body = '      <mac vendor="Cisco">0:1:2:3:4:5</mac>\n      <lla>fe80::1</lla>\n'
    path = write(tmp_path, one_neighbor(body))
    caches = {"pcap0": NeighborCache()}
    load_cache(path, caches)
    assert next(iter(caches["pcap0"])).vendor == "Cisco"
    save_cache(path, caches)
    assert '      <mac vendor="Cisco">0:1:2:3:4:5</mac>\n' in Path(path).read_text()


def test_remote_probe_is_skipped(tmp_path: Path) -> None:
    """Entries of a remote probe are skipped, the others still load."""
    text = one_neighbor("      <mac>0:1:2:3:4:5</mac>\n").replace(
        "<neighbors>\n", '<neighbors>\n  <probe name="far"><bogus/></probe>\n'
    )
    caches = {"pcap0": NeighborCache()}
    load_cache(write(tmp_path, text), caches, remote={"far"})
    assert len(caches["pcap0"]) == 1


# -- errors -----------------------------------------------------------------------

ERRORS = {
    "malformed": (
        '<neighbors>\n  <probe name="pcap0">\n</neighbors>\n',
        "3: not well-formed XML: Opening and ending tag mismatch: probe line 2 and neighbors",
    ),
    "root": ("<config_ndpmon/>\n", "1: the root element is <config_ndpmon>, not <neighbors>"),
    "unknown probe": (
        '<neighbors>\n  <probe name="eth9"/>\n</neighbors>\n',
        '2: <probe name="eth9">: no such probe in the config',
    ),
    "no probe name": ("<neighbors>\n  <probe/>\n</neighbors>\n", "2: <probe name>: missing value"),
    "not a probe": (
        "<neighbors>\n  <router/>\n</neighbors>\n", "2: <neighbors>: unexpected <router>"
    ),
    "bad mac": (one_neighbor("      <mac>zz</mac>\n"), "5: <mac>: not a MAC address: 'zz'"),
    "bad first mac": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n      <first_mac_seen/>\n"),
        "6: <first_mac_seen>: not a MAC address: ''",
    ),
    "bad lla": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n      <lla>fe80::g</lla>\n"),
        "6: <lla>: not an IPv6 address: 'fe80::g'",
    ),
    "bad lastseen": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n      <lastseen>soon</lastseen>\n"),
        "6: <lastseen>: not a number: 'soon'",
    ),
    "bad address": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n"
                     "      <addresses>\n        <address>1.2.3.4</address>\n"
                     "      </addresses>\n"),
        "7: <address>: not an IPv6 address: '1.2.3.4'",
    ),
    "bad firstseen": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n"
                     '      <addresses><address firstseen="x1">::1</address></addresses>\n'),
        "6: <address firstseen>: not a number: 'x1'",
    ),
    "bad old mac": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n"
                     '      <old_macs><mac last="true">1:2:3</mac></old_macs>\n'),
        "6: <mac>: not a MAC address: '1:2:3'",
    ),
    "no mac": (one_neighbor("      <lla>fe80::1</lla>\n"), "4: <neighbor>: missing <mac>"),
    "unknown child": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n      <adresses/>\n"),
        "6: <neighbor>: unexpected <adresses>",
    ),
    "two macs": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n      <mac>0:1:2:3:4:6</mac>\n"),
        "6: <neighbor>: more than one <mac>",
    ),
    "not an address": (
        one_neighbor("      <mac>0:1:2:3:4:5</mac>\n      <addresses><mac/></addresses>\n"),
        "6: <addresses>: unexpected <mac>",
    ),
    "entity": (
        '<!DOCTYPE neighbors [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<neighbors>\n  <probe name="pcap0">&x;</probe>\n</neighbors>\n',
        "3: entity reference '&x;' is not allowed",
    ),
}


@pytest.mark.parametrize("text, message", ERRORS.values(), ids=list(ERRORS))
def test_error_messages(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of bad cache file gives its exact one-line ``file:line: what`` error."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_one(path)
    assert str(info.value) == f"{path}:{message}"


def test_directory_cannot_be_read(tmp_path: Path) -> None:
    """A cache path that is a directory gives ``path: cannot read: Is a directory``."""
    with pytest.raises(ConfigError) as info:
        load_one(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: cannot read: Is a directory"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable cache gives ``path: cannot read: Permission denied`` (even as root)."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cachefile.xmlsafe, "_open_fd", refuse)
    with pytest.raises(ConfigError) as info:
        load_one("/var/lib/ndpmon/neighbor_list.xml")
    assert str(info.value) == "/var/lib/ndpmon/neighbor_list.xml: cannot read: Permission denied"


# -- atomic save --------------------------------------------------------------------


def test_failed_save_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the final rename fails, the old file is unchanged and no temporary file is left."""
    path = tmp_path / "neighbor_list.xml"
    shutil.copy(GOLDEN / "monitor" / "neighbor_list.xml", path)
    before = path.read_bytes()

    def refuse(src: str, dst: str, **dir_fds: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WriteError) as info:
        save_cache(str(path), {"pcap0": NeighborCache()})
    assert str(info.value) == f"{path}: cannot write: No space left on device"
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["neighbor_list.xml"]


def test_save_into_missing_directory(tmp_path: Path) -> None:
    """Saving where the directory does not exist is a one-line error."""
    path = tmp_path / "no" / "neighbor_list.xml"
    with pytest.raises(WriteError) as info:
        save_cache(str(path), {})
    assert str(info.value) == f"{path}: cannot write: No such file or directory"


def test_save_keeps_mode_and_defaults_to_640(tmp_path: Path) -> None:
    """A new cache file is 0640; rewriting an existing one keeps its permission bits."""
    path = tmp_path / "neighbor_list.xml"
    save_cache(str(path), {"pcap0": NeighborCache()})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.chmod(0o600)
    save_cache(str(path), {"pcap0": NeighborCache()})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_replaces_a_symlink_never_its_target(tmp_path: Path) -> None:
    """Saving to a symbolic link replaces the link by the new file; the file it pointed
    to is left as it was (issue 14: the link may be another account's; before, the
    target was replaced)."""
    real = tmp_path / "real.xml"
    real.write_text("old")
    link = tmp_path / "neighbor_list.xml"
    link.symlink_to(real)
    save_cache(str(link), {})
    assert not link.is_symlink()
    assert link.read_text().endswith("<neighbors/>\n")
    assert real.read_text() == "old"
