"""``ndpmon query`` on the files (no store): the questions, the time forms, the output,
and the store settings' one-line errors, none of which need a database."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from ndpmon.commands import query
from ndpmon.checks.alert import Alert, Priority
from ndpmon.formats.alertsxml import AlertsXml
from ndpmon.formats.cache import save_cache
from ndpmon.commands.main import main
from ndpmon.config.values import ipv6, mac
from ndpmon.state.neighbors import NeighborCache

HOST = mac("00:11:22:33:44:55")
NEW = mac("00:11:22:33:44:66")
OTHER = mac("02:00:00:00:00:01")
ADDR = ipv6("2001:db8::1")
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


@pytest.fixture
def files(tmp_path):
    """A cache with a station that changed MAC and another one; alerts naming them."""
    cache = NeighborCache()
    nb = cache.add(HOST, ipv6("fe80::1"), T0)
    cache.add_address(nb, ADDR, T0)
    cache.set_mac(nb, NEW)
    cache.touch(nb, T0 + 100)
    other = cache.add(OTHER, ipv6("fe80::2"), T0 + 50)
    cache.add_address(other, ipv6("2001:db8::2"), T0 + 50)
    save_cache(str(tmp_path / "neighbors.xml"), {"eth0": cache, "eth1": NeighborCache()})
    log = AlertsXml(str(tmp_path / "alerts.xml"))
    log.write([
        Alert(T0, "eth0", Priority.LOW, "new station", "new station 0:11:22:33:44:55 fe80::1",
              HOST, None, ipv6("fe80::1")),
        Alert(T0 + 60, "eth0", Priority.HIGH, "changed ethernet address",
              "changed ethernet address 0:11:22:33:44:55 to 0:11:22:33:44:66 2001:db8::1",
              NEW, HOST, ADDR),
        Alert(T0 + 90, "eth0", Priority.HIGH, "wrong ipv6 router",
              "wrong ipv6 router 0:66:66:66:66:66 fe80::666"),
    ])
    log.close()
    return query.load_files(str(tmp_path / "neighbors.xml"), str(tmp_path / "alerts.xml"))


def macs(found: query.Findings) -> list[bytes]:
    return [nb.mac for _, nb in found.neighbors]


def test_a_mac_finds_the_station_by_its_old_mac_and_the_alerts_naming_it(files):
    """The old MAC finds the station that now uses NEW, and both alerts about it."""
    found = query.by_mac(*files, HOST)
    assert macs(found) == [NEW]
    assert [a.reason for a in found.alerts] == ["new station", "changed ethernet address"]
    assert macs(query.by_mac(*files, OTHER)) == [OTHER]
    assert not query.by_mac(*files, mac("02:00:00:00:00:ff"))


def test_an_address_finds_its_holder_and_the_alerts_naming_it(files):
    """A global address, a link-local address, and an address only a message names."""
    found = query.by_ip(*files, ADDR)
    assert macs(found) == [NEW] and [a.reason for a in found.alerts] == [
        "changed ethernet address"]
    assert macs(query.by_ip(*files, ipv6("fe80::2"))) == [OTHER]
    router = query.by_ip(*files, ipv6("fe80::666"))
    assert not router.neighbors and [a.reason for a in router.alerts] == ["wrong ipv6 router"]


def test_since_keeps_what_was_seen_or_raised_from_then_on(files):
    """Neighbours by last seen, alerts by time."""
    found = query.since(*files, T0 + 60)
    assert macs(found) == [NEW]
    assert [a.time for a in found.alerts] == [T0 + 60, T0 + 90]


def test_time_forms():
    """Durations ago, ISO dates (local or with a zone) and @epoch; junk is refused."""
    now = T0 + 7200
    assert query.parse_time("2h", now) == T0
    assert query.parse_time("30m", now) == T0 + 5400
    assert query.parse_time("@1767225600", now) == T0
    assert query.parse_time("2026-01-01T00:00:00Z", now) == T0
    local = dt.datetime(2026, 1, 1, 12, 0).timestamp()
    assert query.parse_time("2026-01-01 12:00", now) == local
    with pytest.raises(ValueError, match="not a time: 'yesterday'"):
        query.parse_time("yesterday", now)


def test_the_command_prints_neighbours_then_alerts(files, tmp_path, capsys):
    """Exit 0 and one line per neighbour, address and alert, then the counts."""
    code = main(["query", "-f", str(tmp_path / "none.xml"), "--files", "-g",
                 str(tmp_path / "neighbors.xml"), "mac", "0:11:22:33:44:55"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith("neighbour eth0 0:11:22:33:44:66 lla fe80::1 last seen ")
    assert out[1] == "  first MAC 0:11:22:33:44:55, old MACs 0:11:22:33:44:55"
    assert out[2].startswith("  2001:db8::1 first seen ")
    assert out[3].endswith(" eth0 low new station: new station 0:11:22:33:44:55 fe80::1")
    assert out[-1] == "1 neighbour, 2 alerts"


def test_nothing_found_is_exit_1_and_a_bad_value_exit_2(files, tmp_path, capsys):
    """grep's convention, and one line for a value that is no MAC."""
    cache = str(tmp_path / "neighbors.xml")
    assert main(["query", "--files", "-g", cache, "ip", "2001:db8::ff"]) == 1
    assert capsys.readouterr().out == "0 neighbours, 0 alerts\n"
    assert main(["query", "--files", "-g", cache, "mac", "zz"]) == 2
    assert capsys.readouterr().err == "ndpmon: query mac: not a MAC address: 'zz'\n"


def test_missing_files_are_empty(tmp_path, capsys):
    """No cache and no alerts.xml yet: nothing found, no error."""
    assert main(["query", "--files", "-g", str(tmp_path / "none.xml"), "since", "1d"]) == 1


def test_the_answer_says_how_old_the_cache_is_and_how_to_get_a_fresh_one(files, tmp_path,
                                                                         capsys):
    """A host seen seconds ago is not in a cache written every 60 s: the answer says when the
    file was written and how to get a fresh answer (SIGUSR1) (issue 18, item 6)."""
    cache = tmp_path / "neighbors.xml"
    written = time.time() - 150
    os.utime(cache, (written, written))
    assert main(["query", "--files", "-g", str(cache), "mac", "0:11:22:33:44:55"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"(from {cache} (written 2 min ago, "
                          f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(written))}")
    assert ("hosts seen since are not in it; a running ndpmon writes them now on SIGUSR1 "
            "(e.g. systemctl kill -s USR1 ndpmon))") in err
    assert query.file_age(str(tmp_path / "none.xml"), time.time()) == "missing"
    assert query.file_age(str(cache), written + 3 * 86400).startswith("written 3 days ago")


# -- the store's settings, without a database ------------------------------------------


def test_store_urls_with_a_password_are_refused():
    """In the URL, in its query string, or as a key=value pair; others pass."""
    from ndpmon.config.values import store_url as check_url

    for url in ("postgresql://u:pw@h/db", "postgres://h/db?password=pw",
                "host=h dbname=db password=pw"):
        with pytest.raises(ValueError, match="password"):
            check_url(url)
    for url in ("postgresql://u@h:5432/db", "postgresql:///db?host=/run/pg",
                "host=/run/pg dbname=db user=ndpmon"):
        assert check_url(url) == url
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        check_url("db.example")


def test_store_in_the_config(tmp_path):
    """<store> is parsed with its defaults; a password in its URL names file and line."""
    from ndpmon.config import loader as configmod
    from ndpmon.errors import ConfigError

    base = (tmp_path / "c.xml")
    text = ('<?xml version="1.0"?>\n<config_ndpmon><settings>'
            '<actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>'
            '<actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>'
            "<admin_mail>a</admin_mail><ignor_autoconf>0</ignor_autoconf>"
            "<syslog_facility>LOG_LOCAL1</syslog_facility>"
            "<use_reverse_hostlookups>0</use_reverse_hostlookups>\n{}"
            "</settings><probes/></config_ndpmon>\n")
    base.write_text(text.format('<store url="postgresql://db/ndpmon" source="mon1"/>'))
    store = configmod.load(str(base)).settings.store
    assert (store.url, store.source, store.queue_size, store.password_file) == (
        "postgresql://db/ndpmon", "mon1", 100_000, None)
    base.write_text(text.format('<store url="postgresql://u:x@db/ndpmon"/>'))
    with pytest.raises(ConfigError, match=r"c\.xml:3: <store url>: the URL holds a password"):
        configmod.load(str(base))
    base.write_text(text.format('<store url="postgresql://db/n" source="a/b"/>'))
    with pytest.raises(ConfigError, match="<store source>: must not contain '/'"):
        configmod.load(str(base))


def test_without_psycopg_a_store_is_one_line(monkeypatch):
    """<store> without the optional package: how to install it, in one line."""
    import sys

    from ndpmon.store.url import StoreError, require_psycopg

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError) as err:
        require_psycopg()
    assert str(err.value) == ("<store> needs the psycopg package: pip install "
                              "'ndpmon[store]' (or 'psycopg[binary]')")


def test_the_store_password_file_is_read_the_safe_way(tmp_path):
    """<store password_file>: its first line is the password; a FIFO in its place is
    refused in one line (plain open() blocked for ever), and so is a missing file."""
    import os

    from ndpmon.config.model import Store
    from ndpmon.store.url import StoreError, password

    secret = tmp_path / "pw"
    secret.write_text("s3cret\r\nignored\n")
    assert password(Store(url="postgresql://db/x", password_file=str(secret))) == "s3cret"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match=r"fifo: cannot read the store password: not a "
                                         r"regular file$"):
        password(Store(url="postgresql://db/x", password_file=str(fifo)))
    with pytest.raises(StoreError, match="cannot read the store password: No such file"):
        password(Store(url="postgresql://db/x", password_file=str(tmp_path / "none")))
