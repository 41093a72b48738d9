"""Root reads, imports and runs only what root alone can change (issue 14, item 3).

The ``--user`` account is the one the drop contains: a plugin module, a config, an
npd6.conf or an OUI database it can change must never reach root at the next start,
and learning under ``--user`` must not hand it the config (root's writer merges the
learned routers: ndpmon.run.learnwriter).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import asuser
from needs import need_root, need_tool
from services import wait_for
from ndpmon.commands.main import main
from ndpmon.config import exchange
from ndpmon.config.loader import load
from ndpmon.config.model import Prefix, Router
from ndpmon.errors import NdpmonError
from ndpmon.run.learnwriter import RootWriter

ROOT = Path(__file__).resolve().parents[1]
CONFIG = (ROOT / "config_ndpmon.xml").read_text(encoding="latin-1")
DEMO = str(ROOT / "samples" / "demo.pcap")
# lo: an interface every host has (--check-config checks the interfaces)
NPD6 = "prefix = 2001:db8:1:\ninterface = lo\n"


@pytest.fixture
def home():
    """A root-owned folder in /tmp (0755): a config folder only root can change."""
    folder = asuser.etcdir()
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def var():
    """The --user's state folder (owned by nobody, as the README makes it)."""
    need_root()
    folder = asuser.workdir()
    yield folder
    shutil.rmtree(folder)


def give_to_nobody(path: Path) -> None:
    entry = pwd.getpwnam("nobody")
    os.chown(path, entry.pw_uid, entry.pw_gid)


def config_with(folder: Path, extra: str = "") -> Path:
    path = folder / "config_ndpmon.xml"
    path.write_text(CONFIG.replace("</config_ndpmon>", f"{extra}</config_ndpmon>"),
                    encoding="latin-1")
    path.chmod(0o644)
    return path


def check(capsys, config: Path, var: Path, *extra: str) -> tuple[int, str]:
    rc = main(["--check-config", "--user", "nobody", "-f", str(config), "-g",
               str(var / "cache.xml"), *extra])
    return rc, capsys.readouterr().err


def test_plugin_module_the_user_owns_is_never_imported(home, var, capsys):
    """A plugin module the ``--user`` account owns, beside root's config, is refused
    before it is imported (issue 14: ``--check-config`` imported it as uid 0)."""
    plugins = home / "plugins"
    plugins.mkdir(mode=0o755)
    marker = home / "imported"
    module = plugins / "evil.py"
    module.write_text(f"open({str(marker)!r}, 'w').close()\n"
                      "from ndpmon.plugin import Plugin\n")
    give_to_nobody(module)
    config = config_with(home, '<plugins><plugin name="evil"/></plugins>\n')
    rc, err = check(capsys, config, var)
    assert (rc, err) == (2, f"ndpmon: {module}: owned by user nobody (chown root {module}); "
                            "refusing to load it\n")
    assert not marker.exists()


def test_config_folder_the_user_owns_is_refused(var, capsys):
    """The config in a folder the ``--user`` owns: that account could swap the file."""
    etc = var / "etc"
    etc.mkdir(mode=0o755)
    give_to_nobody(etc)
    config = config_with(etc)
    rc, err = check(capsys, config, var)
    assert rc == 2
    assert err == (f"ndpmon: {config}: directory {etc} owned by user nobody (chown root "
                   f"{etc}); refusing to read it\n")


def test_npd6_conf_the_user_owns_is_refused(home, var, capsys):
    """npd6.conf decides which prefixes the gateway answers for: checked like the config
    (it was not checked at all)."""
    conf = home / "npd6.conf"
    conf.write_text(NPD6)
    give_to_nobody(conf)
    rc, err = check(capsys, config_with(home), var, "--npd6-conf", str(conf))
    assert (rc, err) == (2, f"ndpmon: {conf}: owned by user nobody (chown root {conf}); "
                            "refusing to read it\n")
    os.chown(conf, 0, 0)
    assert check(capsys, config_with(home), var, "--npd6-conf", str(conf))[0] == 0


def test_oui_database_the_user_owns_is_refused(home, var, capsys):
    """A file a plugin reads (mac_resolv's database) is checked like the config."""
    manuf = home / "manuf"
    manuf.write_text("00:00:5E\tIANA\tICANN, IANA Department\n")
    give_to_nobody(manuf)
    config = config_with(home, '<plugins><plugin name="mac_resolv"><param name="database" '
                               f'value="{manuf}"/></plugin></plugins>\n')
    rc, err = check(capsys, config, var)
    assert (rc, err) == (2, f"ndpmon: plugin mac_resolv: {manuf}: owned by user nobody "
                            f"(chown root {manuf}); refusing to read it\n")


def test_npd6_conf_fifo_is_one_line_not_a_hang(home, tmp_path):
    """A FIFO where npd6.conf should be is refused at once (it was read with a plain
    open(), which blocks for ever)."""
    fifo = home / "npd6.conf"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "ndpmon", "--check-config", "-f", str(config_with(home)),
         "-g", str(tmp_path / "cache.xml"), "--npd6-conf", str(fifo)],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (result.returncode, result.stderr) == (
        2, f"ndpmon: {fifo}: cannot read: not a regular file\n")


def test_learning_as_the_user_leaves_the_config_root_s(home, var):
    """``-L --user nobody``: the user needs no write access to the config's folder, the
    learned routers are merged by root's writer, and the config stays root's (the
    README told admins to chown it to that account)."""
    python = asuser.python()
    config = config_with(home)
    before = load(str(config))
    result = subprocess.run(
        [python, "-m", "ndpmon", "-r", DEMO, "-L", "-q", "--user", "nobody", "-f",
         str(config), "-g", str(var / "cache.xml")],
        env=asuser.env(), capture_output=True, text=True, cwd="/", timeout=120)
    assert result.returncode == 0, result.stderr
    after = load(str(config))
    assert sum(map(len, (p.routers for p in after.probes))) > \
        sum(map(len, (p.routers for p in before.probes)))
    assert config.stat().st_uid == 0
    assert "learning: wrote" in result.stderr


ROUTER = Router(mac=bytes.fromhex("00005e000599"), lla=bytes.fromhex("fe80" + "0" * 26 + "99"),
                curhoplimit=64, prefixes=(Prefix(bytes.fromhex("20010db8" + "0" * 24), 64),),
                dnssl=(("example.org", 600),))


def test_root_writer_merges_sent_routers(tmp_path):
    """The writer process writes what the monitor sends, and only routers."""
    config = config_with(tmp_path)
    writer = RootWriter(load(str(config)))
    writer.fork()
    writer.write({"eth0": (ROUTER,)})
    routers = load(str(config)).probe("eth0").routers
    assert ROUTER in routers


@pytest.mark.parametrize("data", [b"", b"{not json", b'{"eth0": [{"mac": "zz"}]}',
                                  b'{"eth0": [{"mac": "00005e000599", "plugins": 1}]}'])
def test_root_writer_refuses_what_is_not_routers(tmp_path, data):
    """A monitor that dies mid-message or sends anything but routers changes nothing
    (the writer is root; the monitor parsed a hostile LAN's packets)."""
    config = config_with(tmp_path)
    text = config.read_bytes()
    writer = RootWriter(load(str(config)))
    writer.fork()
    os.write(writer._send, data)
    os.close(writer._send)
    writer._send = None
    answer = os.read(writer._answer, 4096)
    writer.close()
    assert config.read_bytes() == text
    assert answer == b"ok" if data == b"" else answer.startswith(b"learned routers: ")


def test_root_writer_error_is_one_line(tmp_path):
    """A config the writer cannot write is the monitor's one-line NdpmonError."""
    config = config_with(tmp_path)
    writer = RootWriter(load(str(config)))
    config.write_text("<broken")
    writer.fork()
    with pytest.raises(NdpmonError) as info:
        writer.write({"eth0": (ROUTER,)})
    assert str(info.value).startswith(f"{config}:") and "\n" not in str(info.value)


def test_exchange_round_trip_and_bounds():
    """Routers survive the hand-over exactly; out-of-range values are refused."""
    learned = {"eth0": (ROUTER,), "eth1": ()}
    assert exchange.loads(exchange.dumps(learned)) == learned
    too_big = exchange.dumps(learned).replace(b'"curhoplimit": 64', b'"curhoplimit": 4294967296')
    with pytest.raises(ValueError, match="not a number below"):
        exchange.loads(too_big)
    with pytest.raises(ValueError, match="over"):
        exchange.loads(b" " * (exchange.MAX_BYTES + 1))


def test_live_learning_as_the_user_writes_through_root(home, var):
    """Live ``-L --learn-for --user nobody`` in a network namespace: the router learned
    from a real RA reaches the config through root's writer (forked before the drop)."""
    from netns import MONITOR, PEER, VethPair
    from test_live import ROGUE_LLA, ROGUE_MAC, ra

    need_tool("ip")
    python = asuser.python()
    config = config_with(home, "")
    config.write_text(config.read_text(encoding="latin-1").replace(
        '<probe name="eth0"', f'<probe name="{MONITOR}"'), encoding="latin-1")
    log = var / "ndpmon.log"
    with VethPair() as pair:
        cmd = ["ip", "netns", "exec", pair.ns["a"], python, "-m", "ndpmon", "-f", str(config),
               "-g", str(var / "cache.xml"), "-i", MONITOR, "--learn-for", "6s", "--user",
               asuser.USER]
        proc = subprocess.Popen(cmd, stderr=log.open("w"), env=asuser.env(), cwd="/")
        wait_for(lambda: "running as user" in log.read_text() or proc.poll() is not None, 60)
        pair.send("b", PEER, [ra(ROGUE_MAC, ROGUE_LLA)])
        code = proc.wait(60)
    text = log.read_text()
    assert code == 0, text
    assert "learning: wrote" in text
    routers = load(str(config)).probe(MONITOR).routers
    assert any(r.mac == bytes.fromhex(ROGUE_MAC.replace(":", "")) for r in routers), text
    assert config.stat().st_uid == 0
