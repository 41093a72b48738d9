"""``--user`` with every shipped plugin and the PostgreSQL store (issue 14, item 5).

Root starts the plugins (their packet sockets), drops to the ``--user``, and only then
do threads and connections start (``Plugin.started``): the store's writer used to start
its thread before the drop, and the drop refused with a traceback, exit 1. Here a live
run in a network namespace, as the systemd unit runs it, and a replay load mac_resolv,
rules, countermeasures, webreport, ndproxy and ``<store>`` (a real PostgreSQL, see
pgserver.py) as ``nobody``, raise an alert into the store and stop cleanly; a plugin
that starts a thread too early is one line, exit 2.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import asuser
from needs import need_file, need_tool
from netns import MONITOR, PEER, VethPair
from pgserver import PgServer, private_server
from services import wait_for
from test_live import ROGUE_LLA, ROGUE_MAC, ROUTER_LLA, ROUTER_MAC, ra

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "samples" / "demo.pcap")
THREADED = ("import threading\n\nfrom ndpmon.plugin import Plugin as Base\n\n\n"
            "class Plugin(Base):\n    def {hook}(self, *args):\n"
            "        super().{hook}(*args)\n"
            "        threading.Thread(target=threading.Event().wait, args=(30,),\n"
            "                         name='early', daemon=True).start()\n")


def config_text(store: str, work: Path, probe: str, plugins: str) -> str:
    return f"""<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
    {store}
  </settings>
  <probes>
    <probe name="{probe}" type="interface">
      <routers>
        <router><mac>{ROUTER_MAC}</mac><lla>{ROUTER_LLA}</lla><addresses/><prefixes/></router>
      </routers>
    </probe>
  </probes>
  <plugins>{plugins}</plugins>
</config_ndpmon>
"""


def every_plugin(work: Path, probe: str) -> str:
    """Each shipped plugin, switched on with what it needs."""
    ieee = need_file("/usr/share/ieee-data/oui.csv", "ieee-data").rsplit("/", 1)[0]
    return f"""
    <plugin name="mac_resolv"><param name="database" value="{ieee}"/></plugin>
    <plugin name="rules"/>
    <plugin name="countermeasures"/>
    <plugin name="webreport"><param name="out" value="{work / 'web'}"/></plugin>
    <plugin name="ndproxy"><param name="prefix" value="2001:db8:1:"/>
      <param name="interface" value="{probe}"/>
      <param name="targets_file" value="{work / 'targets.txt'}"/></plugin>
  """


@pytest.fixture(scope="module")
def pg():
    """A private PostgreSQL server for the module, with the store's tables, removed
    afterwards."""
    from ndpmon.store import schema

    for server in private_server():
        with server.connect() as conn:  # the tables, so that the test can count rows
            conn.autocommit = False
            schema.migrate(conn)
        yield server


@pytest.fixture
def folders():
    """(python nobody can run, nobody's work folder, root's 0755 config folder)."""
    python = asuser.python()
    work = asuser.workdir()
    etc = asuser.etcdir()
    try:
        yield python, work, etc
    finally:
        shutil.rmtree(work)
        shutil.rmtree(etc)


def store_element(pg: PgServer, source: str) -> str:
    url = pg.url.replace("&", "&amp;")
    return f'<store url="{url}" password_file="{pg.password_file}" source="{source}"/>'


def stored(pg: PgServer, sql: str) -> int:
    return int(pg.psql(sql) or 0)


def test_every_plugin_and_the_store_live_as_nobody(pg, folders):
    """Live, ``--user nobody`` with every shipped plugin and ``<store>``: ndpmon starts (the
    store's thread after the drop), runs as nobody, writes an alert into PostgreSQL, renders
    the web report as nobody, and stops on SIGTERM with exit 0 and no traceback."""
    python, work, etc = folders
    need_tool("ip")
    config = etc / "config.xml"
    config.write_text(config_text(store_element(pg, "live"), work, MONITOR,
                                  every_plugin(work, MONITOR)))
    log = work / "ndpmon.log"
    with VethPair() as pair:
        cmd = ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f", str(config),
               "-g", str(work / "cache.xml"), "-i", MONITOR, "-q", "--user", asuser.USER]
        with log.open("w") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, env=asuser.env(), cwd="/")
        try:
            wait_for(lambda: "running as user" in log.read_text() or proc.poll() is not None,
                     60)
            assert proc.poll() is None, log.read_text()
            uid = Path(f"/proc/{proc.pid}/status").read_text().split("Uid:\t")[1].split()[:4]
            assert uid == [str(pwd.getpwnam(asuser.USER).pw_uid)] * 4
            pair.send("b", PEER, [ra(ROGUE_MAC, ROGUE_LLA)])
            wait_for(lambda: stored(pg, "SELECT count(*) FROM ndpmon_alert WHERE probe = "
                                        f"'live/{MONITOR}'") >= 1, 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text and "store: wrote" in text, text
    assert (work / "web" / "index.html").stat().st_uid == pwd.getpwnam(asuser.USER).pw_uid


def test_every_plugin_and_the_store_in_a_replay_as_nobody(pg, folders):
    """A replay with ``--user nobody``, every shipped plugin and ``<store>`` runs as nobody
    and writes its alerts into the store, exit 0."""
    python, work, etc = folders
    config = etc / "config.xml"
    config.write_text(config_text(store_element(pg, "replay"), work, "pcap0",
                                  every_plugin(work, "pcap0")))
    result = subprocess.run(
        [python, "-m", "ndpmon", "-r", DEMO, "-q", "-f", str(config), "-g",
         str(work / "cache.xml"), "--user", asuser.USER],
        env=asuser.env(), capture_output=True, text=True, cwd="/", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert stored(pg, "SELECT count(*) FROM ndpmon_alert WHERE probe LIKE 'replay/%'") > 0


@pytest.mark.parametrize("hook, message", [
    ("start", "plugin early: start() left thread early running, so --user cannot drop root; "
              "a plugin starts its threads in started() (plugins/README.md)"),
    ("__init__", "--user nobody: cannot read its files while threads run (early); a plugin "
                 "must start its threads in started(), not earlier (plugins/README.md)")])
def test_a_plugin_starting_a_thread_before_the_drop_is_one_line(folders, hook, message):
    """A plugin whose ``start`` (or constructor) leaves a thread running cannot let ``--user``
    drop root: one line naming the plugin or the thread and the fix, exit 2 (was a traceback,
    exit 1)."""
    python, work, etc = folders
    need_tool("ip")
    plugins = etc / "plugins"
    plugins.mkdir(mode=0o755)
    (plugins / "early.py").write_text(THREADED.format(hook=hook))
    config = etc / "config.xml"
    config.write_text(config_text("", work, MONITOR, '<plugin name="early"/>'))
    with VethPair() as pair:
        result = subprocess.run(
            ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f", str(config),
             "-g", str(work / "cache.xml"), "-i", MONITOR, "-q", "--user", asuser.USER],
            env=asuser.env(), capture_output=True, text=True, cwd="/", timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.endswith(f"ndpmon: {message}\n")
    assert "Traceback" not in result.stderr
    assert os.listdir(work) == []  # nothing written, as root or as the user
