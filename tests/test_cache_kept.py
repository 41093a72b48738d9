"""A cache that names a probe the config no longer has (issue 17 item 4), and old caches.

An OS upgrade renames eth0 to enp3s0: the config follows, the cache still says eth0.
NDPMon exited, and so did ndpmon (exit 2): a monitor that does not come back after a
reboot. Now such entries get a warning with their count, stay in memory as they were read
and are written back unchanged at every save, so naming the probe eth0 again brings them
back.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ndpmon.commands.main import main
from ndpmon.errors import ConfigError
from ndpmon.formats import cache as cachefile
from ndpmon.state.neighbors import NeighborCache

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config_ndpmon.xml"
DEMO = str(ROOT / "samples" / "demo.pcap")
OLD = Path(__file__).resolve().parent / "data" / "old"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def probe_xml(path: Path, name: str) -> str:
    """The ``<probe name=...>`` element of a cache file, as text."""
    text = path.read_text(encoding="latin-1")
    match = re.search(rf'  <probe name="{name}"[^>]*?(/>\n|>\n.*?\n  </probe>\n)', text, re.S)
    assert match, name
    return match.group(0)


def renamed(tmp_path: Path, name: str) -> Path:
    """The sample config with its probe eth0 called ``name``."""
    path = tmp_path / f"config-{name}.xml"
    text = CONFIG.read_text(encoding="latin-1")
    path.write_text(text.replace('name="eth0"', f'name="{name}"'), encoding="latin-1")
    shutil.copy(ROOT / "config_ndpmon.dtd", tmp_path / "config_ndpmon.dtd")
    return path


def replay(capsys, config: Path, cache: Path) -> tuple[int, str, str]:
    return run(capsys, "-q", "-f", str(config), "-g", str(cache), "-r", DEMO,
               "--no-alerts-xml", "--json-alerts", "-")


def test_renamed_probe_keeps_its_neighbours(tmp_path, capsys):
    """The cache's eth0 entries survive a run whose config calls the probe lo (an
    interface renamed by an OS upgrade, as eth0 -> enp3s0; lo exists on every host, which
    --check-config wants): a
    warning with their count, exit 0 (before: exit 2), the entries written back byte for
    byte; with the probe named eth0 again they are its neighbours again (no
    ``new station``)."""
    cache = tmp_path / "neighbor_list.xml"
    rc, out, _ = replay(capsys, renamed(tmp_path, "eth0"), cache)
    assert rc == 0 and '"new station"' in out
    before = probe_xml(cache, "eth0")
    assert before.count("<neighbor>") == 3

    warning = (f"ndpmon: {cache}: 3 neighbours of probe eth0, which the config does not "
               "have: kept in the file as they are (give a probe that name again to use "
               "them)\n")
    rc, _, err = run(capsys, "--check-config", "-f", str(renamed(tmp_path, "lo")),
                     "-g", str(cache))
    assert (rc, err) == (0, warning)
    rc, _, err = replay(capsys, renamed(tmp_path, "lo"), cache)
    assert rc == 0 and warning in err
    assert probe_xml(cache, "eth0") == before
    assert probe_xml(cache, "lo").count("<neighbor>") == 3

    rc, out, err = replay(capsys, renamed(tmp_path, "eth0"), cache)
    assert rc == 0
    assert "new station" not in out
    assert "3 neighbours of probe lo, which the config does not have" in err
    assert probe_xml(cache, "lo").count("<neighbor>") == 3  # its turn to be kept


def save_twice(tmp_path: Path, text: str) -> tuple[str, list[cachefile.Kept]]:
    path = tmp_path / "c.xml"
    path.write_text(text, encoding="latin-1")
    caches = {"eth1": NeighborCache()}
    kept: list[cachefile.Kept] = []
    cachefile.load_cache(str(path), caches, kept=kept)
    for _ in range(2):
        cachefile.save_cache(str(path), caches, kept=kept)
    return path.read_text(encoding="latin-1"), kept


CACHE = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<neighbors>
  <probe name="eth0" mac="0:0:0:0:0:0">
    <!-- a comment the admin wrote -->
    <neighbor>
      <mac vendor="Foo &amp; Co">0:0:5e:0:53:a</mac>
      <first_mac_seen>0:0:5e:0:53:a</first_mac_seen>
      <lla>fe80::200:5eff:fe00:530a</lla>
      <lastseen lastseenstr="Tue Nov 14 22:13:20 2023&#10;">1700000000</lastseen>
      <addresses/>
      <old_macs/>
    </neighbor>
  </probe>
  <probe name="wlan9" mac="0:0:0:0:0:0"/>
</neighbors>
"""


def test_kept_entries_are_written_back_unchanged(tmp_path):
    """Every save writes the unknown probes' elements as they were read, white space,
    character references and empty probes included; comments are left out, as they are
    everywhere in the cache (the loader parses without them: a file of comments must
    not take memory)."""
    text, kept = save_twice(tmp_path, CACHE)
    assert [(k.name, k.neighbors) for k in kept] == [("eth0", 1), ("wlan9", 0)]
    start = CACHE.index('  <probe name="eth0"')
    expected = CACHE[start:CACHE.index("</neighbors>")]
    assert expected.replace("<!-- a comment the admin wrote -->", "") in text
    assert '<probe name="eth1"' in text


def test_kept_entries_are_checked(tmp_path):
    """An unknown probe's entries are checked as a known probe's are: a broken value is
    still a one-line error."""
    path = tmp_path / "c.xml"
    path.write_text(CACHE.replace("0:0:5e:0:53:a</mac>", "zz</mac>"), encoding="latin-1")
    with pytest.raises(ConfigError) as info:
        cachefile.load_cache(str(path), {"eth1": NeighborCache()}, kept=[])
    assert str(info.value) == f"{path}:6: <mac>: not a MAC address: 'zz'"


def test_kept_probe_named_again_is_adopted(tmp_path):
    """A reload that brings the probe back (SIGHUP) gets its neighbours at the next save."""
    _, kept = save_twice(tmp_path, CACHE)
    caches = {"eth0": NeighborCache()}
    rest = cachefile.adopt(kept, caches, str(tmp_path / "c.xml"))
    assert [k.name for k in rest] == ["wlan9"]
    [nb] = list(caches["eth0"])
    assert nb.vendor == "Foo & Co"


def test_v14_cache_names_the_upgrade_command(tmp_path):
    """NDPMon 1.4's cache (root ``neighbor_list``) is refused with the command that
    converts it; the fork's is named as such."""
    for kind, fork in (("v14", ""), ("dot1q", " of the 802.1Q fork")):
        path = tmp_path / f"{kind}.xml"
        shutil.copy(OLD / kind / "neighbor_list.xml", path)
        with pytest.raises(ConfigError) as info:
            cachefile.load_cache(str(path), {"eth0": NeighborCache()})
        assert str(info.value) == (
            f"{path}:4: the root element is <neighbor_list>, not <neighbors> (the NDPMon "
            f"1.4 format{fork}: convert it with `ndpmon upgrade {path} -i IFACE -o NEW.xml`)")


# -- with the incremental loader and the background saver (issue 15 item 5) ------------


def test_a_kept_probe_of_many_blocks_is_written_back_byte_for_byte(tmp_path, utc):
    """A kept probe far larger than the parser's blocks (5,000 neighbours, about 5 MB)
    is written back byte for byte: its text is taken a neighbour at a time, each once
    the white space after it is all parsed."""
    from test_cache_save import full_engine

    first, again = tmp_path / "a.xml", tmp_path / "b.xml"
    cachefile.save_cache(str(first), {"lan0": full_engine(5000, 4).probes["lan0"].neighbors})
    kept: list[cachefile.Kept] = []
    caches = {"lan1": NeighborCache()}
    cachefile.load_cache(str(first), caches, kept=kept)
    cachefile.save_cache(str(again), caches, kept=kept)
    assert [(k.name, k.neighbors) for k in kept] == [("lan0", 5000)]
    assert first.stat().st_size > 4 * 2**20
    assert probe_xml(again, "lan0") == probe_xml(first, "lan0")


def test_a_kept_probe_with_long_white_space_is_written_back_unchanged(tmp_path):
    """White space after a neighbour longer than the parser delivers at once (up to
    5,000 spaces) stays where it was: a neighbour's text is taken only once the next one
    has ended (taken at its own end, part of its tail went to the wrong place)."""
    neighbor = ("<neighbor><mac>0:0:5e:0:53:a</mac><lla>fe80::1</lla>"
                "<lastseen>1</lastseen><addresses/><old_macs/></neighbor>")
    body = "".join(neighbor + "\n" + " " * (i * 37 % 5000) for i in range(2000))
    probe = f'<probe name="eth0" mac="0:0:0:0:0:0">{body}</probe>'
    path = tmp_path / "c.xml"
    path.write_text(f"<neighbors>\n  {probe}\n</neighbors>\n", encoding="latin-1")
    kept: list[cachefile.Kept] = []
    cachefile.load_cache(str(path), {"eth1": NeighborCache()}, kept=kept)
    assert [(k.name, k.neighbors) for k in kept] == [("eth0", 2000)]
    assert kept[0].xml == probe


def test_loading_a_large_kept_probe_never_holds_its_tree(tmp_path):
    """A kept probe of 20,000 neighbours of 16 addresses (a 64 MB file) costs its text
    and a few neighbours' tree, not the whole probe's tree (about 700 MiB)."""
    from test_cache_save import full_engine, peak_kib

    path = str(tmp_path / "c.xml")
    cachefile.save_cache(path, {"lan0": full_engine(20_000, 16).probes["lan0"].neighbors})
    grown = peak_kib(tmp_path, "caches = {'lan1': NeighborCache()}\nkept = []",
                     f"cachefile.load_cache({path!r}, caches, kept=kept)\n"
                     "assert kept[0].neighbors == 20_000")
    print(f"load of a kept probe: peak RSS +{grown // 1024} MiB")
    assert grown < 300 * 1024, f"+{grown // 1024} MiB"


def test_the_background_save_writes_kept_probes_and_adopts_them(tmp_path):
    """The live loop's saver (CacheSaver) writes the kept probes after the known ones,
    in the background as at exit; once the engine has the probe again (a reload), the
    next save loads its neighbours into the probe's cache and keeps it no more."""
    from conftest import make_config

    from ndpmon.engine.engine import Engine
    from ndpmon.run.cachesave import CacheSaver

    path = tmp_path / "c.xml"
    path.write_text(CACHE, encoding="latin-1")
    kept: list[cachefile.Kept] = []
    cachefile.load_cache(str(path), {"lan0": NeighborCache()}, kept=kept)
    engine = Engine(make_config({}))
    saver = CacheSaver(engine, str(path), kept=kept)
    saver.save_in_background()
    saver._worker.join(30)
    assert saver.outcome() == (1, None)
    assert probe_xml(path, "eth0").count("<neighbor>") == 1
    engine.reload(make_config({}, probe="eth0"))  # SIGHUP: the config has eth0 again
    saver.save()
    assert [k.name for k in kept] == ["wlan9"]
    [nb] = list(engine.probes["eth0"].neighbors)
    assert nb.vendor == "Foo & Co"
    assert probe_xml(path, "eth0").count("<neighbor>") == 1
