"""Hostile files: the config, the neighbour cache and alerts.xml as an attacker would write them.

The neighbour cache is written from packet data and a config may come from anywhere, so
each reader is fed entity bombs, external entities and DTDs pointing at the network,
XInclude, huge and deeply nested files, control characters, NUL bytes, invalid UTF-8,
UTF-16, empty files, directories, FIFOs, unreadable files and symlink loops. Each gives a
one-line error naming the file (exit 2 through the CLI) or is read safely: never a
traceback, a hang or a network access. The URLs point at a listener on 127.0.0.1 that
records every connection; every subprocess has a timeout (SECURITY.md).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndpmon.config import loader as config_mod
from ndpmon.files import reader as xmlsafe
from ndpmon.formats.alertsxml import AlertsXml
from ndpmon.formats.cache import load_cache
from ndpmon.errors import ConfigError, WriteError
from ndpmon.state.neighbors import NeighborCache
from needs import need_tool

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config_ndpmon.xml"
TIMEOUT = 60


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP server on 127.0.0.1 that records what every connection sends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    seen: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(4096) or b"(connected)")
                except OSError:
                    seen.append(b"(connected)")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    done.set()
    thread.join(5)
    server.close()


# -- the hostile documents -------------------------------------------------------


def _laughs(root: str) -> bytes:
    """Billion laughs: ten levels of ten references each."""
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n' + "\n".join(ents)
            + f"\n]>\n<{root}>&lol9;</{root}>\n").encode()


def _quadratic(root: str) -> bytes:
    """Quadratic blowup: one 50 kB entity referenced 20000 times (no nesting needed)."""
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY a "{"a" * 50_000}">]>\n'
            f"<{root}>{'&a;' * 20_000}</{root}>\n").encode()


def _xxe_file(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY x SYSTEM '
            f'"file:///etc/passwd">]>\n<{root}>&x;</{root}>\n').encode()


def _xxe_http(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY x SYSTEM "{url}/x">]>\n'
            f"<{root}>&x;</{root}>\n").encode()


def _parameter_entity(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>\n'
            f"<{root}/>\n").encode()


def _remote_dtd(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "{url}/{root}.dtd">\n'
            f"<{root}/>\n").encode()


def _public_remote_dtd(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE {root} PUBLIC "-//x//y//EN" "{url}/pub.dtd">\n'
            f"<{root}/>\n").encode()


def _xinclude(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<{root} xmlns:xi="http://www.w3.org/2001/XInclude">'
            f'<xi:include href="{url}/inc.xml"/>'
            f'<xi:include href="file:///etc/passwd" parse="text"/></{root}>\n').encode()


def _stylesheet(root: str, url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="{url}/s.xsl"?>\n'
            f"<{root}/>\n").encode()


NETWORK = [_xxe_file, _xxe_http, _parameter_entity, _remote_dtd, _public_remote_dtd,
           _xinclude, _stylesheet]


def _deep(root: str) -> bytes:
    return (f"<{root}>" + "<a>" * 100_000 + "</a>" * 100_000 + f"</{root}>").encode()


def _control(root: str) -> bytes:
    return f"<{root}><x>\x01\x1b[2J</x></{root}>".encode()


def _nul(root: str) -> bytes:
    return f"<{root}><x>a\0b</x></{root}>".encode()


def _bad_utf8(root: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}><x>'.encode() + \
        b"\xff\xfe\xc3(" + f"</x></{root}>".encode()


def _utf16(root: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-16"?>\n<{root}/>\n'.encode("utf-16")


def _garbage(root: str) -> bytes:
    return bytes(range(256)) * 4


CONTENT = [_laughs, _quadratic, _deep, _control, _nul, _bad_utf8, _utf16, _garbage]


# -- running the readers -------------------------------------------------------------


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """ndpmon as a subprocess, with a time limit."""
    return subprocess.run([sys.executable, "-m", "ndpmon", *argv], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], path: Path) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"ndpmon: {path}"), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "root:x:0" not in proc.stderr + proc.stdout  # /etc/passwd never shows


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return _cli("--check-config", "-f", str(path))


def _check_cache(path: Path) -> subprocess.CompletedProcess[str]:
    return _cli("--check-config", "-f", str(CONFIG), "-g", str(path))


READERS: dict[str, tuple[str, Callable[[Path], subprocess.CompletedProcess[str]]]] = {
    "config": ("config_ndpmon", _check_config),
    "cache": ("neighbors", _check_cache),
}


def _load_cache(path: Path) -> None:
    load_cache(str(path), {"lan0": NeighborCache()})


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("make", NETWORK, ids=lambda f: f.__name__.strip("_"))
def test_network_is_never_reached(tmp_path, listener, kind, make):
    """External entities, remote DTDs, XInclude and stylesheets: no connection, and a
    one-line error or a safe read."""
    url, seen = listener
    root, run = READERS[kind]
    path = tmp_path / f"{kind}.xml"
    path.write_bytes(make(root, url))
    proc = run(path)
    if proc.returncode != 0:
        _assert_one_line_error(proc, path)
    assert "Traceback" not in proc.stderr
    assert seen == []


@pytest.mark.parametrize("make", NETWORK, ids=lambda f: f.__name__.strip("_"))
def test_network_is_never_reached_in_process(tmp_path, listener, make):
    """The same documents through config.load and load_cache directly."""
    url, seen = listener
    for root, load in (("config_ndpmon", lambda p: config_mod.load(str(p))),
                       ("neighbors", _load_cache)):
        path = tmp_path / f"{root}.xml"
        path.write_bytes(make(root, url))
        try:
            load(path)
        except ConfigError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    assert seen == []


def test_dtd_with_external_parameter_entity_is_not_fetched(tmp_path, listener):
    """A DTD given with ``-e`` (or beside the config) that pulls in a URL: not fetched."""
    url, seen = listener
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY % p SYSTEM "{url}/p.dtd">\n%p;\n'
                   + config_mod.PACKAGED_DTD.read_text())
    proc = _cli("--check-config", "-f", str(CONFIG), "-e", str(dtd))
    if proc.returncode != 0:
        _assert_one_line_error(proc, dtd)
    assert seen == []


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("make", CONTENT, ids=lambda f: f.__name__.strip("_"))
def test_hostile_content_is_one_line_error(tmp_path, kind, make):
    """Entity bombs, deep nesting, control characters, NUL, bad encodings: exit 2, one
    line naming the file (or, for UTF-16, read like any other file)."""
    root, run = READERS[kind]
    path = tmp_path / f"{kind}.xml"
    path.write_bytes(make(root))
    proc = run(path)
    if make is _utf16 and proc.returncode == 0:  # a well-formed file in another encoding
        return
    _assert_one_line_error(proc, path)


def test_huge_files_are_refused_quickly(tmp_path):
    """A 200 MB config or a cache over the cap: refused by size, before reading it."""
    big = tmp_path / "big.xml"
    with open(big, "wb") as file:
        file.truncate(200 * 2**20)  # sparse: no disk used
    proc = _check_config(big)
    _assert_one_line_error(proc, big)
    assert "too large" in proc.stderr
    with open(big, "wb") as file:
        file.truncate(xmlsafe.MAX_CACHE_BYTES + 1)
    proc = _check_cache(big)
    _assert_one_line_error(proc, big)
    assert "too large" in proc.stderr


@pytest.mark.parametrize("kind", READERS)
def test_fifo_does_not_hang(tmp_path, kind):
    """A FIFO with no writer would block open() for ever: refused as not a file."""
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)
    proc = READERS[kind][1](fifo)
    _assert_one_line_error(proc, fifo)
    assert "not a regular file" in proc.stderr


@pytest.mark.parametrize("kind", READERS)
def test_directory_and_device(tmp_path, kind):
    """A directory or /dev/zero instead of a file: one line, no endless read."""
    for path in (tmp_path, Path("/dev/zero")):
        proc = READERS[kind][1](path)
        _assert_one_line_error(proc, path)


@pytest.mark.parametrize("kind", READERS)
def test_symlink_loop(tmp_path, kind):
    """a -> b -> a: the OS's 'Too many levels of symbolic links', on one line."""
    (tmp_path / "a.xml").symlink_to(tmp_path / "b.xml")
    (tmp_path / "b.xml").symlink_to(tmp_path / "a.xml")
    proc = READERS[kind][1](tmp_path / "a.xml")
    _assert_one_line_error(proc, tmp_path / "a.xml")
    assert "symbolic links" in proc.stderr


@pytest.mark.parametrize("kind", READERS)
def test_empty_file(tmp_path, kind):
    """An empty config is an error; an empty cache is an empty cache."""
    path = tmp_path / "empty.xml"
    path.write_bytes(b"")
    proc = READERS[kind][1](path)
    if kind == "config":
        _assert_one_line_error(proc, path)
    else:
        assert proc.returncode == 0, proc.stderr


def _drop_root() -> list[str]:
    """A command prefix that runs as nobody (util-linux setpriv) when we are root."""
    if os.geteuid() != 0:
        return []
    return [need_tool("setpriv")["setpriv"], "--reuid=65534", "--regid=65534",
            "--clear-groups"]


@pytest.mark.parametrize("kind", READERS)
def test_unreadable_file(tmp_path_factory, kind):
    """A file without read permission, read by an unprivileged user: one line, exit 2.

    Root reads anything, so the test drops to nobody with setpriv (util-linux); run as
    a normal user it needs nothing."""
    prefix = _drop_root()
    folder = Path(os.path.realpath(tmp_path_factory.mktemp("unreadable")))
    for parent in [folder, *folder.parents]:  # nobody must reach the file itself
        if parent != Path("/"):
            os.chmod(parent, os.stat(parent).st_mode | 0o005)
    path = folder / "secret.xml"
    path.write_bytes(CONFIG.read_bytes())
    os.chmod(path, 0)
    config = folder / "config.xml"
    config.write_bytes(CONFIG.read_bytes())
    os.chmod(config, 0o644)
    argv = (["--check-config", "-f", str(path)] if kind == "config" else
            ["--check-config", "-f", str(config), "-g", str(path)])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([*prefix, sys.executable, "-m", "ndpmon", *argv], cwd="/",
                          capture_output=True, text=True, timeout=TIMEOUT, env=env,
                          stdin=subprocess.DEVNULL)
    _assert_one_line_error(proc, path)
    assert "Permission denied" in proc.stderr


# -- alerts.xml -----------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    b"", b"\0" * 100, b"\xff\xfe\x00<", "<alerts>\n</alerts>\n".encode("utf-16"),
    b"<!DOCTYPE alerts [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><alerts>&a;</alerts>\n",
    b"<alerts>\n</alerts>\n\x00", b"x" * 10_000 + b"</alerts>"])
def test_alerts_xml_hostile_content(tmp_path, content):
    """alerts.xml is only appended to: its tail is looked at, nothing is parsed or
    fetched; an unknown end is a one-line error naming the file."""
    path = tmp_path / "alerts.xml"
    path.write_bytes(content)
    try:
        AlertsXml(str(path)).close()
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)


def test_alerts_xml_fifo_directory_and_loop(tmp_path):
    """A FIFO, a directory or a symlink loop as alerts.xml: one line, no hang."""
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for name in ("fifo", ".", "a"):
        path = tmp_path / name
        with pytest.raises(WriteError) as info:
            AlertsXml(str(path))
        assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


# -- mutated files -------------------------------------------------------------------

CACHE_SAMPLE = (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<neighbors>\n'
                b'  <probe name="lan0" mac="0:0:0:0:0:0">\n    <neighbor>\n'
                b'      <mac vendor="x">0:0:5e:0:53:a</mac>\n'
                b'      <first_mac_seen>0:0:5e:0:53:a</first_mac_seen>\n'
                b'      <lla>fe80::200:5eff:fe00:530a</lla>\n'
                b'      <lastseen lastseenstr="x">1700000000</lastseen>\n'
                b'      <addresses>\n        <address firstseen="1" lastseen="2">'
                b'2001:db8:1::a</address>\n      </addresses>\n'
                b'      <old_macs>\n        <mac last="true">0:0:5e:0:53:b</mac>\n'
                b'      </old_macs>\n    </neighbor>\n  </probe>\n</neighbors>\n')


def _mutations(data: bytes):
    """Byte edits of ``data``: set, insert or delete bytes at positions hypothesis picks."""
    edit = st.tuples(st.integers(0, len(data)), st.integers(0, 2),
                     st.binary(min_size=1, max_size=4))
    return st.lists(edit, min_size=1, max_size=6)


def _apply(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for pos, kind, blob in edits:
        pos = min(pos, len(buf))
        if kind == 0:
            buf[pos:pos + len(blob)] = blob
        elif kind == 1:
            buf[pos:pos] = blob
        else:
            del buf[pos:pos + len(blob)]
    return bytes(buf)


@settings(derandomize=True, max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mutations(CACHE_SAMPLE))
def test_mutated_cache_loads_or_is_one_line_error(tmp_path, edits):
    """A cache file with random byte edits: loaded, or a ConfigError naming the file."""
    path = tmp_path / "neighbors.xml"
    path.write_bytes(_apply(CACHE_SAMPLE, edits))
    try:
        load_cache(str(path), {"lan0": NeighborCache()})
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)


@settings(derandomize=True, max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mutations(CONFIG.read_bytes()))
def test_mutated_config_loads_or_is_one_line_error(tmp_path, edits):
    """The sample config with random byte edits: loaded, or a ConfigError naming it."""
    path = tmp_path / "config_ndpmon.xml"
    path.write_bytes(_apply(CONFIG.read_bytes(), edits))
    try:
        config_mod.load(str(path))
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
