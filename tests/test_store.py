"""The PostgreSQL store against a real server: schema, writes, an outage, many probes.

A private PostgreSQL (Debian's package, tests/pgserver.py) runs for the module. Two
``ndpmon`` processes, each in its own network namespace (the store is reached through
its Unix socket, a file both namespaces see), capture frames sent on their links and
write into it; the server is killed with SIGKILL in the middle and started again; the
central config's report, queries and ``ndpmon central`` must then show both probes,
and each instance must have stored every alert it raised except those it reported as
dropped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from needs import need_tool
from netns import MONITOR, PEER, VethPair
from pgserver import PASSWORD, PgServer, private_server
from services import wait_for
from test_live import Ndpmon, na, ra


NDPMON = [sys.executable, "-m", "ndpmon"]
ROOT = Path(__file__).parents[1]
SHARED_MAC = "02:cc:cc:cc:cc:cc"
SHARED_IP = "2001:db8:1::99"


@pytest.fixture(scope="module")
def pg():
    """A private PostgreSQL server for the module, removed afterwards."""
    yield from private_server()


@pytest.fixture
def db(pg):
    """The server, with the store's tables created and empty."""
    from ndpmon.store import schema

    with pg.connect() as conn:
        conn.autocommit = False
        schema.migrate(conn)
    tables = pg.psql("SELECT string_agg(tablename, ', ') FROM pg_tables "
                     "WHERE tablename LIKE 'ndpmon_%' AND tablename <> 'ndpmon_schema'")
    if tables:
        pg.psql(f"TRUNCATE {tables}")
    return pg


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*NDPMON, *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))


def settings(store: str = "") -> str:
    return ("  <settings>\n"
            '    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>\n'
            '    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>\n'
            "    <admin_mail>root@localhost</admin_mail><ignor_autoconf>0</ignor_autoconf>\n"
            "    <syslog_facility>LOG_LOCAL1</syslog_facility>\n"
            "    <use_reverse_hostlookups>0</use_reverse_hostlookups>\n"
            f"    {store}\n  </settings>\n")


def config(store: str, probes: str) -> str:
    return (f'<?xml version="1.0"?>\n<config_ndpmon>\n{settings(store)}'
            f"  <probes>\n{probes}  </probes>\n</config_ndpmon>\n")


def store_element(pg: PgServer, source: str | None, queue: int | None = None) -> str:
    extra = f' source="{source}"' if source else ""
    extra += f' queue_size="{queue}"' if queue else ""
    url = pg.url.replace("&", "&amp;")  # an XML attribute
    return f'<store url="{url}" password_file="{pg.password_file}"{extra}/>'


# -- schema and one process --------------------------------------------------------------


def test_schema_is_created_once_and_a_newer_one_is_refused(pg):
    """migrate() applies version 1 once; a database from a newer ndpmon is refused."""
    from ndpmon.store import schema
    from ndpmon.store.url import StoreError

    with pg.connect() as conn:
        conn.autocommit = False
        first = schema.migrate(conn)
        assert schema.migrate(conn) == (schema.LATEST, schema.LATEST)
        assert first[1] == schema.LATEST
        pg.psql("INSERT INTO ndpmon_schema (version) VALUES (999)")
        try:
            with pytest.raises(StoreError, match="version 999, newer than this ndpmon"):
                schema.migrate(conn)
        finally:
            pg.psql("DELETE FROM ndpmon_schema WHERE version = 999")


def test_replay_writes_neighbours_routers_and_alerts(db, tmp_path):
    """``ndpmon -r --store URL`` (password from PGPASSWORD) fills every table."""
    out = run("-f", str(ROOT / "config_ndpmon.xml"), "-g", str(tmp_path / "n.xml"), "-q",
              "-r", str(ROOT / "samples" / "demo.pcap"), "--json-alerts",
              str(tmp_path / "a.jsonl"), "--store", db.url, env={"PGPASSWORD": PASSWORD})
    assert out.returncode == 0, out.stderr
    raised = (tmp_path / "a.jsonl").read_text().splitlines()
    host = os.uname().nodename.split(".")[0]
    assert db.psql("SELECT count(*) FROM ndpmon_alert") == str(len(raised))
    assert db.psql("SELECT DISTINCT probe FROM ndpmon_alert") == f"{host}/eth0"
    assert db.psql("SELECT count(*) FROM ndpmon_neighbor") == "3"
    assert db.psql("SELECT mac FROM ndpmon_router") == "00:00:5e:00:53:01"
    assert db.psql("SELECT prefixes FROM ndpmon_router") == "{2001:db8:1::/64}"
    assert "dropped 0 alerts, 0 neighbour rows" in out.stderr
    # the same question, asked of the store and of the files, has the same answer
    mac = "00:00:5e:00:53:66"
    files = run("query", "-f", str(ROOT / "config_ndpmon.xml"), "-g", str(tmp_path / "n.xml"),
                "mac", mac)
    store = run("query", "--store", db.url, "mac", mac, env={"PGPASSWORD": PASSWORD})
    assert files.returncode == store.returncode == 0, files.stderr + store.stderr
    assert files.stdout.replace("eth0", f"{host}/eth0") == store.stdout


def test_a_password_on_the_command_line_is_refused(tmp_path):
    """--store with a password: one line, exit 2, nothing started."""
    out = run("-f", str(ROOT / "config_ndpmon.xml"), "-g", str(tmp_path / "n.xml"),
              "-r", str(ROOT / "samples" / "demo.pcap"),
              "--store", "postgresql://ndpmon:secret@db.example/ndpmon")
    assert out.returncode == 2
    assert out.stderr == ("ndpmon: --store: the URL holds a password: put it in "
                          "password_file or PGPASSWORD / ~/.pgpass instead\n")


# -- two probes, an outage, the central view ---------------------------------------------


class Instance(Ndpmon):
    """One ``ndpmon`` capturing on mon0 of its own namespace pair, writing to the store."""

    def __init__(self, pair: VethPair, tmp: Path, source: str, store: str) -> None:
        self.pair, self.dir, self.source = pair, tmp / source, source
        self.dir.mkdir()
        (self.dir / "config.xml").write_text(
            config(store, f'    <probe name="{MONITOR}" type="interface"/>\n'))
        super().__init__(pair, self.dir)

    def send(self, frames: list[bytes]) -> None:
        self.pair.send("b", PEER, frames)

    def save(self) -> None:
        """SIGUSR1: write the cache now, and so queue the changed neighbours."""
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self) -> dict[str, int]:
        """SIGTERM; the store's counters from the last log line."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0, self.stderr()
        found = re.search(r"store: wrote (\d+) neighbour rows, (\d+) alerts.*dropped (\d+) "
                          r"alerts, (\d+) neighbour rows", self.stderr())
        assert found, self.stderr()
        keys = ("written_neighbors", "written_alerts", "dropped_alerts", "dropped_neighbors")
        return dict(zip(keys, map(int, found.groups()), strict=True))


def stations(prefix: str, first: int, count: int) -> list[bytes]:
    """NAs from ``count`` new stations ``02:<prefix>:00:00:00:NN`` with global addresses."""
    return [na(f"02:{prefix}:00:00:00:{i:02x}", f"2001:db8:{prefix}::{i:x}")
            for i in range(first, first + count)]


def stored(pg: PgServer, sql: str) -> int:
    return int(pg.psql(sql) or 0)


def test_two_probes_an_outage_and_the_central_view(db, tmp_path):
    """Two instances write, the server is killed and restarted, nothing is lost beyond
    what was reported as dropped, and the central view sees both probes."""
    need_tool("ip")
    with VethPair() as one, VethPair() as two:
        a = Instance(one, tmp_path, "hostA", store_element(db, "hostA"))
        b = Instance(two, tmp_path, "hostB", store_element(db, "hostB", queue=40))
        try:
            # wave 1: each link its own stations, one MAC and one address on both
            a.send(stations("aa", 1, 5) + [na(SHARED_MAC, "2001:db8:1::c1"),
                                           na("02:a9:00:00:00:01", SHARED_IP),
                                           ra("00:66:66:66:66:66", "fe80::666")])
            b.send(stations("bb", 1, 5) + [na(SHARED_MAC, "2001:db8:2::c2"),
                                           na("02:b9:00:00:00:01", SHARED_IP)])
            wait_for(lambda: len(a.alerts()) >= 8 and len(b.alerts()) >= 7)
            a.save(), b.save()
            wait_for(lambda: stored(db, "SELECT count(DISTINCT probe) FROM ndpmon_neighbor")
                     == 2 and stored(db, "SELECT count(*) FROM ndpmon_neighbor") == 14)
            # the outage: kill -9, new stations on both links while it is down
            db.kill()
            a.send(stations("aa", 0x10, 30))
            b.send(stations("bb", 0x10, 60))  # more than b's queue of 40 rows holds
            wait_for(lambda: len(a.alerts()) >= 38 and len(b.alerts()) >= 67)
            a.save(), b.save()
            wait_for(lambda: "database unavailable" in a.stderr() + b.stderr(), 60)
            wait_for(lambda: any(x["reason"] == "store drops" for x in b.alerts()), 60)
            db.start()
            wait_for(lambda: "connected again" in a.stderr(), 60)
            wait_for(lambda: "connected again" in b.stderr(), 60)
        finally:
            counts = {}
            for inst in (a, b):
                if inst.proc.poll() is None:
                    counts[inst.source] = inst.stop()
        for inst in (a, b):
            raised, c = len(inst.alerts()), counts[inst.source]
            probe = f"{inst.source}/{MONITOR}"
            in_store = stored(db, f"SELECT count(*) FROM ndpmon_alert WHERE probe = '{probe}'")
            assert in_store == c["written_alerts"]
            assert in_store + c["dropped_alerts"] == raised, inst.stderr()
            macs = set(re.findall(r"<mac>([0-9a-f:]+)</mac>",
                                  (inst.dir / "neighbors.xml").read_text()))
            rows = db.psql(f"SELECT mac FROM ndpmon_neighbor WHERE probe = '{probe}'")
            assert {":".join(f"{int(x, 16):x}" for x in m.split(":"))
                    for m in rows.split()} >= macs
        assert counts["hostA"]["dropped_alerts"] == 0
        assert counts["hostB"]["dropped_alerts"] > 0
        central_view(db, tmp_path)


def central_view(db: PgServer, tmp_path: Path) -> None:
    """The central config's report, queries and two-probe alerts cover both probes."""
    cfg = tmp_path / "central.xml"
    cfg.write_text(config(store_element(db, "central"),
                          f'    <probe name="hostA/{MONITOR}" type="remote"/>\n'
                          f'    <probe name="hostB/{MONITOR}" type="remote"/>\n'))
    out = run("report", "-f", str(cfg), "-g", str(tmp_path / "none.xml"),
              "--out", str(tmp_path / "web"))
    assert out.returncode == 0, out.stderr
    neighbours = (tmp_path / "web" / "neighbors.html").read_text()
    alerts = (tmp_path / "web" / "alerts.html").read_text()
    for name in (f"hostA/{MONITOR}", f"hostB/{MONITOR}"):
        assert name in neighbours and name in alerts
    assert "2:cc:cc:cc:cc:cc" in neighbours and "0:66:66:66:66:66" in alerts

    mac = run("query", "-f", str(cfg), "mac", SHARED_MAC)
    assert mac.returncode == 0, mac.stderr
    assert [ln.split()[1] for ln in mac.stdout.splitlines() if ln.startswith("neighbour")] \
        == [f"hostA/{MONITOR}", f"hostB/{MONITOR}"]
    ip = run("query", "-f", str(cfg), "ip", SHARED_IP)
    assert {ln.split()[1] for ln in ip.stdout.splitlines() if ln.startswith("neighbour")} \
        == {f"hostA/{MONITOR}", f"hostB/{MONITOR}"}
    since = run("query", "-f", str(cfg), "since", "1h")
    assert f"hostA/{MONITOR}" in since.stdout and f"hostB/{MONITOR}" in since.stdout
    nothing = run("query", "-f", str(cfg), "mac", "02:00:00:00:00:ee")
    assert nothing.returncode == 1 and nothing.stdout == "0 neighbours, 0 alerts\n"

    jsonl = tmp_path / "central.jsonl"
    out = run("central", "-f", str(cfg), "--once", "-q", "--json-alerts", str(jsonl))
    assert out.returncode == 0, out.stderr
    raised = sorted((x["reason"], x["message"]) for x in
                    map(json.loads, jsonl.read_text().splitlines()))
    assert raised == [
        ("MAC on two probes", f"MAC on two probes 2:cc:cc:cc:cc:cc hostA/{MONITOR} "
                              f"hostB/{MONITOR}"),
        ("address on two probes", f"address on two probes {SHARED_IP} hostA/{MONITOR} "
                                  f"(2:a9:0:0:0:1) hostB/{MONITOR} (2:b9:0:0:0:1)"),
    ]
    assert stored(db, "SELECT count(*) FROM ndpmon_alert WHERE reason LIKE '% on two probes'") \
        == 2
