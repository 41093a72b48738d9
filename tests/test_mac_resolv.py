"""The mac_resolv plugin and ndpmon.formats.oui: vendors from ieee-data or Wireshark's manuf.

Small hand-written databases pin the parsing and the longest-prefix rule; the real
Debian files (ieee-data, libwireshark-data, installed by .ci/run) are checked too.
"""

from __future__ import annotations

import pytest

from ndpmon.alerts.mailbody import mail_body
from ndpmon.alerts.pipe import alert_env
from ndpmon.config.values import mac as parse_mac
from ndpmon.formats.oui import OuiDatabase, short_name
from ndpmon.engine.plugin import PluginError
from ndpmon.run.plugins import load_plugins
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.session import save_cache
from needs import need_file
from plugkit import config_text, engine_for, load, na, ns

OUI_CSV = """\
Registry,Assignment,Organization Name,Organization Address
MA-L,0000AA,Xerox Corporation,800 Phillips Road Webster NY US 14580
MA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554
MA-L,001122,"CIMSYS, Inc","Somewhere, KR"
"""
MAM_CSV = """\
Registry,Assignment,Organization Name,Organization Address
MA-M,70B3D51,KoolPOS Inc.,Somewhere
"""
OUI36_CSV = """\
Registry,Assignment,Organization Name,Organization Address
MA-S,70B3D5F2F,TELEPLATFORMS,"Polbina st., 3/1 Moscow  RU 109388 "
"""
MANUF = """\
# comment line
00:00:AA\tXerox\tXerox Corporation
70:B3:D5\tIEEERegi\tIEEE Registration Authority   # a comment
70:B3:D5:10:00:00/28\tKoolPOS\tKoolPOS Inc.
70:B3:D5:F2:F0:00/36\tTELEPLAT\tTELEPLATFORMS
not a line
"""


@pytest.fixture
def ieee_dir(tmp_path):
    folder = tmp_path / "ieee-data"
    folder.mkdir()
    (folder / "oui.csv").write_text(OUI_CSV)
    (folder / "mam.csv").write_text(MAM_CSV)
    (folder / "oui36.csv").write_text(OUI36_CSV)
    return folder


@pytest.mark.parametrize("mac, vendor", [
    ("00:00:aa:12:34:56", "Xerox"),
    ("70:b3:d5:00:00:01", "IEEE"),        # only the 24-bit block
    ("70:b3:d5:1f:ff:ff", "KoolPOS"),     # inside the 28-bit block
    ("70:b3:d5:f2:f0:01", "TELEPLATFORMS"),  # the 36-bit block wins over 24
    ("70:b3:d5:f2:e0:01", "IEEE"),        # next to it: back to the 24-bit owner
    ("00:11:22:33:44:55", "CIMSYS"),      # quoted name with a comma
    ("02:00:00:00:00:01", None),
])
def test_ieee_data_longest_prefix(ieee_dir, mac, vendor):
    """36-, 28- then 24-bit assignments are tried; the first word of the name is kept."""
    assert OuiDatabase.load(str(ieee_dir)).lookup(parse_mac(mac)) == vendor


@pytest.mark.parametrize("mac, vendor", [
    ("00:00:aa:12:34:56", "Xerox"),
    ("70:b3:d5:00:00:01", "IEEERegi"),
    ("70:b3:d5:1f:ff:ff", "KoolPOS"),
    ("70:b3:d5:f2:f0:01", "TELEPLAT"),
    ("02:00:00:00:00:01", None),
])
def test_manuf_longest_prefix(tmp_path, mac, vendor):
    """A manuf file: /28 and /36 lines, comments and junk lines skipped."""
    path = tmp_path / "manuf"
    path.write_text(MANUF)
    db = OuiDatabase.load(str(path))
    assert len(db) == 4
    assert db.lookup(parse_mac(mac)) == vendor


def test_short_name_is_ndpmons_form():
    """First word, at most 15 characters (the original's vendor[16])."""
    assert short_name("Hewlett Packard") == "Hewlett"
    assert short_name("Shenzhen-Something-Very-Long Co") == "Shenzhen-Someth"
    assert short_name("") == ""


def test_a_file_without_assignments_is_an_error(tmp_path):
    """A file that is neither format: a clear ValueError naming it."""
    path = tmp_path / "manuf"
    path.write_text("hello\nworld\n")
    with pytest.raises(ValueError, match="no OUI assignment found"):
        OuiDatabase.load(str(path))


def test_debian_databases_agree():
    """ieee-data and Wireshark's manuf, as Debian ships them, give vendors for 24-,
    28- and 36-bit assignments."""
    ieee = OuiDatabase.load(need_file("/usr/share/ieee-data/oui.csv", "ieee-data")
                            .rsplit("/", 1)[0])
    manuf = OuiDatabase.load(need_file("/usr/share/wireshark/manuf", "libwireshark-data"))
    assert len(ieee) > 30000 and len(manuf) > 40000
    assert set(ieee.tables) == {24, 28, 36} and set(manuf.tables) == {24, 28, 36}
    xerox = parse_mac("00:00:aa:00:00:01")
    assert ieee.lookup(xerox) == "XEROX" and manuf.lookup(xerox).startswith("Xerox")
    for bits in (28, 36):  # a block of each size resolves to its own owner in both
        prefix, vendor = next(iter(ieee.tables[bits].items()))
        mac = (prefix << (48 - bits)).to_bytes(6, "big")
        assert ieee.lookup(mac) == vendor
        assert manuf.lookup(mac) is not None


def plugin_config(tmp_path, database) -> str:
    return config_text(f'    <plugin name="mac_resolv"><param name="database" '
                       f'value="{database}"/></plugin>')


KNOWN, UNKNOWN = "00:00:aa:00:00:02", "02:00:00:00:00:02"


def test_unknown_vendor_alert_before_new_station(tmp_path, ieee_dir):
    """A new MAC without vendor: ``unknown mac vendor`` then ``new station``; a known
    vendor or a MAC the cache knows: no vendor alert."""
    engine = engine_for(load(tmp_path, plugin_config(tmp_path, ieee_dir)))
    unknown = engine.handle("lan0", 1.0, ns(UNKNOWN, "fe80::2", "fe80::1"))
    assert [(a.reason, a.message) for a in unknown] == [
        ("unknown mac vendor", "unknown mac vendor 2:0:0:0:0:2 fe80::2"),
        ("new station", "new station 2:0:0:0:0:2 fe80::2")]
    assert engine.handle("lan0", 2.0, ns(UNKNOWN, "fe80::2", "fe80::1")) == []
    known = engine.handle("lan0", 3.0, ns(KNOWN, "fe80::3", "fe80::1"))
    assert [a.reason for a in known] == ["new station"]


def test_vendor_lines_in_mail_and_pipe(tmp_path, ieee_dir):
    """Alerts carry the vendors: NDPMon's Vendor:/Vendor2: lines, NDPMON_VENDOR."""
    engine = engine_for(load(tmp_path, plugin_config(tmp_path, ieee_dir)))
    pipeline = Pipeline(engine, [])
    pipeline.feed("lan0", [(1.0, na(KNOWN, "fe80::3", "fe80::3"))])
    # the same address from an unknown MAC: changed ethernet address, MAC2 = Xerox
    alerts = pipeline.feed("lan0", [(2.0, na(UNKNOWN, "fe80::3", "fe80::3", flags="SO"))])
    changed = [a for a in alerts if a.reason == "changed ethernet address"][0]
    assert mail_body(changed) == (
        "Reason:  changed ethernet address\nMAC:     2:0:0:0:0:2\nVendor:  unknown\n"
        "MAC2:    0:0:aa:0:0:2\nVendor2: Xerox\nIPv6:    fe80::3\nDNS:     n/a\n")
    env = alert_env(changed, {})
    assert (env["NDPMON_VENDOR"], env["NDPMON_VENDOR2"]) == ("unknown", "Xerox")
    first = [a for a in alerts if a.reason == "unknown mac vendor"][0]
    assert "Vendor2: n/a\n" in mail_body(first)


def test_no_vendor_lines_without_the_plugin(tmp_path):
    """Without mac_resolv the mail body stays the five lines of NDPMon without it."""
    engine = engine_for(load(tmp_path, config_text()))
    alerts = Pipeline(engine, []).feed("lan0", [(1.0, ns(UNKNOWN, "fe80::2", "fe80::1"))])
    assert "Vendor" not in mail_body(alerts[0])


def test_vendor_attribute_in_the_cache(tmp_path, ieee_dir):
    """The saved cache has ``<mac vendor=...>`` for every neighbour."""
    engine = engine_for(load(tmp_path, plugin_config(tmp_path, ieee_dir)))
    engine.handle("lan0", 1.0, ns(KNOWN, "fe80::3", "fe80::1"))
    engine.handle("lan0", 1.0, ns(UNKNOWN, "fe80::2", "fe80::1"))
    cache = tmp_path / "neighbor_list.xml"
    save_cache(engine, str(cache))
    text = cache.read_text(encoding="iso-8859-1")
    assert '<mac vendor="Xerox">0:0:aa:0:0:2</mac>' in text
    assert '<mac vendor="unknown">2:0:0:0:0:2</mac>' in text


@pytest.mark.parametrize("params, message", [
    ('<param name="database" value="/nonexistent/manuf"/>',
     "/nonexistent/manuf: No such file or directory"),
    ('<param name="databse" value="/x"/>',
     "unknown <param name='databse'> (known: database)"),
])
def test_bad_database_is_one_line(tmp_path, params, message):
    """A missing file or a misspelt parameter: one line naming the plugin and line."""
    config = load(tmp_path, config_text(f'    <plugin name="mac_resolv">{params}</plugin>'))
    with pytest.raises(PluginError) as info:
        load_plugins(config)
    assert str(info.value) == (f"plugin mac_resolv: {config.path}:{config.plugins[0].line}: "
                               f"{message}")
