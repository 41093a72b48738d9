"""Issue 14, item 1: no other account decides where root's outputs go.

Each file ndpmon writes (alerts.xml, ``--json-alerts``, the cache through write_atomic,
the report pages) is opened through ndpmon.files.secure. Another account "plants" a link,
a FIFO, a hard link or a file of its own where an output will be; here root makes them
in a folder of its own and gives them to ``nobody`` with ``lchown`` where the owner
matters, so the tests do not depend on fs.protected_symlinks. Each test fails on the
code before the fix: root followed the link, appended to the file or hung on the FIFO.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from needs import need_root
from plugkit import ROUTER_LLA, ROUTER_MAC, config_text, write_config

from ndpmon.alerts.jsonlines import JsonLines
from ndpmon.commands import report
from ndpmon.commands.main import main
from ndpmon.errors import WriteError
from ndpmon.files.atomic import write_atomic
from ndpmon.formats.alertsxml import HEADER, AlertsXml
from ndpmon.formats.cache import save_cache

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / "config_ndpmon.xml")
DEMO = str(REPO / "samples" / "demo.pcap")
SECRET = b"root's own file\n"
TIMEOUT = 30


def nobody() -> tuple[int, int]:
    """uid and gid of ``nobody``, the other account (root only: lchown)."""
    need_root()
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def planted_link(where: Path, target: Path) -> Path:
    """A symbolic link ``where`` -> ``target``, owned by nobody as if they had made it."""
    where.symlink_to(target)
    os.lchown(where, *nobody())
    return where


def victim(folder: Path, data: bytes = SECRET) -> Path:
    """A file of root's elsewhere, which no output may touch (0600)."""
    folder.mkdir(exist_ok=True)
    path = folder / "victim"
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def refused(call, path, what: str) -> str:
    """The one-line WriteError ``call()`` raises, naming ``path`` and saying ``what``."""
    with pytest.raises(WriteError) as info:
        call()
    text = str(info.value)
    assert text.startswith(f"{path}: ") and what in text and "\n" not in text
    return text


# -- alerts.xml --------------------------------------------------------------------------


def test_alerts_xml_planted_link_is_not_followed(tmp_path):
    """alerts.xml a link (another account's) to a missing file and to root's empty file:
    refused, nothing created, nothing written (before: O_RDWR|O_CREAT followed it)."""
    out = tmp_path / "out"
    out.mkdir()
    gone = tmp_path / "other" / "ld.so.preload"
    empty = victim(tmp_path / "other", b"")
    link = out / "alerts.xml"
    for target in (gone, empty):
        planted_link(link, target)
        refused(lambda: AlertsXml(str(link)), link, "a symbolic link; refusing to write "
                                                    "through it")
        link.unlink()
    assert not gone.exists() and empty.read_bytes() == b""


def test_alerts_xml_owned_by_another_account_is_refused(tmp_path):
    """A pre-created alerts.xml that another account owns is refused, not appended to
    (it would stay theirs: they read and erase the alerts)."""
    path = tmp_path / "alerts.xml"
    path.write_text(HEADER)
    os.chown(path, *nobody())
    refused(lambda: AlertsXml(str(path)), path, "owned by user nobody")
    assert path.read_text() == HEADER


def test_alerts_xml_hard_link_is_refused(tmp_path):
    """An alerts.xml with a second hard link (to root's file elsewhere) is refused:
    writing to it would write that file."""
    other = victim(tmp_path / "other", b"")
    path = tmp_path / "alerts.xml"
    os.link(other, path)
    refused(lambda: AlertsXml(str(path)), path, "has 2 hard links")
    assert other.read_bytes() == b""


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o775])
def test_output_directory_writable_by_others_is_refused(tmp_path, mode):
    """A directory others may write in, sticky (like /tmp) or not, holds no output:
    anyone could plant a link under the output's name there first."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    path = folder / "alerts.xml"
    text = refused(lambda: AlertsXml(str(path)), path, f"directory {folder} writable by "
                                                       "other users")
    assert text.endswith("refusing to write there")
    assert ("chmod go-w" in text) == (not mode & stat.S_ISVTX)
    assert not path.exists()
    refused(lambda: save_cache(str(folder / "cache.xml"), {}), folder / "cache.xml",
            "writable by other users")


def test_directory_of_another_account_is_refused(tmp_path):
    """An output directory another account owns is refused: they may rename it or plant
    links in it."""
    folder = tmp_path / "theirs"
    folder.mkdir()
    os.chown(folder, *nobody())
    path = folder / "alerts.xml"
    refused(lambda: AlertsXml(str(path)), path, f"directory {folder} owned by user nobody")
    assert not path.exists()


def test_planted_link_in_the_directory_path_is_not_followed(tmp_path):
    """A directory of the path that is another account's link (``/tmp/x`` -> ``/etc``)
    is not followed; root's own links are (``/var/run`` -> ``/run``)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = planted_link(tmp_path / "state", elsewhere)
    path = link / "alerts.xml"
    refused(lambda: AlertsXml(str(path)), path, f"{link} is a symbolic link owned by "
                                                "user nobody; refusing to follow it")
    assert list(elsewhere.iterdir()) == []
    link.unlink()
    link.symlink_to(elsewhere)  # root's own link
    AlertsXml(str(path)).close()
    assert (elsewhere / "alerts.xml").read_text() == HEADER


def test_alert_text_from_a_packet_never_starts_a_line(tmp_path):
    """An RA whose DNSSL label is ``\\n/path/x.so\\n`` (the ld.so.preload attack) gives an
    alerts.xml where every line starts with markup: the label's newlines are ``\\x0a``."""
    from scapy.layers.inet6 import ICMPv6NDOptSrcLLAddr, ICMPv6ND_RA, IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    label = b"\n/path/x.so\n"
    dnssl = bytes([31, 3, 0, 0]) + (900).to_bytes(4, "big") + bytes([len(label)]) + label
    pkt = (Ether(src=ROUTER_MAC, dst="33:33:00:00:00:01")
           / IPv6(src=ROUTER_LLA, dst="ff02::1", hlim=255)
           / ICMPv6ND_RA(chlim=64, routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=ROUTER_MAC)
           / Raw(dnssl.ljust(24, b"\0")))
    pcap = tmp_path / "dnssl.pcap"
    wrpcap(str(pcap), [pkt])
    config = write_config(tmp_path, config_text())
    assert main(["-q", "-f", config, "-g", str(tmp_path / "cache.xml"), "-r", str(pcap)]) == 0
    text = (tmp_path / "alerts.xml").read_text()
    assert "<message>wrong RA DNSSL option: \\x0a/path/x.so\\x0a 900</message>" in text
    assert all(line.lstrip().startswith("<") for line in text.splitlines())


# -- --json-alerts -----------------------------------------------------------------------


def test_json_alerts_planted_link_is_refused(tmp_path):
    """``--json-alerts`` a link (another account's) to root's file: refused at start,
    nothing appended (before: O_APPEND|O_CREAT followed it)."""
    secret = victim(tmp_path / "other")
    link = planted_link(tmp_path / "alerts.jsonl", secret)
    refused(JsonLines(str(link)).start, link, "a symbolic link; refusing to write through it")
    assert secret.read_bytes() == SECRET


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_json_alerts_fifo_or_device_is_an_error_not_a_hang(tmp_path, kind):
    """A FIFO at ``--json-alerts`` (no reader: open() blocked for ever, the monitor alive
    but capturing nothing) or a device: one line, exit 2, within the time limit."""
    path = tmp_path / "alerts.jsonl"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/full")
    proc = subprocess.run([sys.executable, "-m", "ndpmon", "-q", "-f", CONFIG, "-g",
                           str(tmp_path / "cache.xml"), "-r", DEMO, "--json-alerts",
                           str(path)], cwd=REPO, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2
    assert proc.stderr == f"ndpmon: {path}: not a regular file; refusing to write to it\n"


# -- write_atomic (the cache, the learned config, report pages, targets files) -----------


def test_write_atomic_replaces_a_planted_link_not_its_target(tmp_path):
    """The cache a link (another account's) to root's 0600 file: the link is replaced
    by a new 0640 file, the target keeps its bytes and mode (before: realpath() and a
    rename over the target, which became the cache)."""
    secret = victim(tmp_path / "other")
    link = planted_link(tmp_path / "neighbor_list.xml", secret)
    save_cache(str(link), {})
    assert not link.is_symlink() and b"<neighbors/>" in link.read_bytes()
    assert stat.S_IMODE(link.stat().st_mode) == 0o640 and link.stat().st_uid == os.geteuid()
    assert secret.read_bytes() == SECRET and stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_write_atomic_does_not_keep_another_accounts_owner(tmp_path):
    """A file another account owns is replaced by one of ours, 0640: its owner and
    mode are kept only when root or ndpmon's user owns it."""
    path = tmp_path / "neighbor_list.xml"
    path.write_bytes(b"theirs")
    path.chmod(0o666)
    os.chown(path, *nobody())
    write_atomic(str(path), b"ours")
    info = path.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode), path.read_bytes()) == (0, 0o640, b"ours")


def test_write_atomic_keeps_a_trusted_owner_and_mode_without_set_id(tmp_path):
    """Root's own file keeps its owner and permission bits, set-id bits dropped."""
    path = tmp_path / "neighbor_list.xml"
    path.write_bytes(b"old")
    path.chmod(0o4604)
    write_atomic(str(path), b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o604 and path.read_bytes() == b"new"


# -- report pages and the webreport plugin -----------------------------------------------


def test_report_out_directory_planted_link_is_refused(tmp_path):
    """``ndpmon report --out DIR`` where DIR is another account's link to a directory of
    root's: refused, nothing written there (before: the pages went through the link)."""
    cache = tmp_path / "cache.xml"
    save_cache(str(cache), {})
    target = tmp_path / "etc"
    target.mkdir()
    out = planted_link(tmp_path / "pages", target)
    refused(lambda: report.render(CONFIG, str(cache), "/nonexistent", str(out)), out,
            "is a symbolic link owned by user nobody")
    assert list(target.iterdir()) == []
    rc = main(["report", "-f", CONFIG, "-g", str(cache), "--out", str(out / "sub")])
    assert rc == 2 and list(target.iterdir()) == []


def test_report_page_planted_link_is_replaced_not_followed(tmp_path):
    """A page of the report that is another account's link to root's file: the link is
    replaced by the page; the file keeps its bytes."""
    cache = tmp_path / "cache.xml"
    save_cache(str(cache), {})
    out = tmp_path / "pages"
    out.mkdir()
    secret = victim(tmp_path / "other")
    planted_link(out / "index.html", secret)
    report.render(CONFIG, str(cache), "/nonexistent", str(out))
    assert not (out / "index.html").is_symlink() and secret.read_bytes() == SECRET


def test_webreport_out_writable_by_others_is_logged_and_not_written(tmp_path, caplog):
    """The webreport plugin's ``out`` directory is checked like every output: writable by
    others, the render is refused with one logged line and writes no page."""
    from plugkit import engine_for, load

    web = '    <plugin name="webreport"><param name="out" value="web"/></plugin>'
    (plugin,) = engine_for(load(tmp_path, config_text(web))).plugins
    (tmp_path / "web").mkdir()
    (tmp_path / "web").chmod(0o777)
    cache = tmp_path / "cache.xml"
    save_cache(str(cache), {})
    plugin.render(str(cache))
    assert f"webreport: {tmp_path / 'web'}: directory {tmp_path / 'web'} writable by " \
           "other users" in caplog.text
    assert list((tmp_path / "web").iterdir()) == []


# -- secure itself -----------------------------------------------------------------------


def test_open_dir_makes_missing_directories_only_when_asked(tmp_path):
    """``create`` makes the missing directories (0755 less the umask); without it a
    missing one is FileNotFoundError, for the caller to word."""
    from ndpmon.files import secure

    with pytest.raises(FileNotFoundError):
        secure.open_dir(str(tmp_path / "a" / "b"))
    os.close(secure.open_dir(str(tmp_path / "a" / "b"), create=True))
    assert (tmp_path / "a" / "b").is_dir()
