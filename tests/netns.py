"""Throw-away network namespaces joined by a veth link, for tests that need real traffic.

Tests that open packet sockets or run daemons must not touch the host's interfaces, and
must leave nothing behind even when they fail. ``VethPair`` creates two namespaces named
after this process (``ndpt<pid>-<n>a`` and ``...b``) with a veth link between them,
``mon0`` in ``a`` (the monitor end: no autoconfiguration, no DAD, as in LAB-NOTES) and
``peer0`` in ``b`` (IPv6 off unless asked, so its kernel sends no ND or MLD of its own and
a test sees only the frames it sends), and deletes both namespaces on exit, which also
destroys the veth link. Namespaces left by a killed test run are reaped on the next use.

Code runs inside a namespace in two ways:

- ``with pair.inside("a"):`` switches the calling thread (``setns``) and back; a socket
  keeps the namespace it was created in, so sockets opened there can be used afterwards
  from anywhere (e.g. ``LiveCapture.open()`` inside, ``read()`` outside; but a capture
  re-opening a vanished interface does so where ``read`` runs);
- ``pair.call("b", fn, *args)`` runs ``fn`` in a forked child inside the namespace and
  returns its (pickled) result or raises its error: for work that needs a whole process.

Needs root and ``ip`` (iproute2); use ``tests/needs.py`` guards before creating one.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import pickle
import select
import shutil
import signal
import socket
import subprocess
import time
import traceback
from typing import Any, Callable, Iterator

__all__ = ["VethPair", "NamespaceGroup", "run_forked", "send_frames", "ip"]

CLONE_NEWNET = 0x40000000
MONITOR, PEER = "mon0", "peer0"
_counter = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)

MONITOR_SYSCTLS = (("accept_ra", 0), ("autoconf", 0), ("accept_redirects", 0),
                   ("accept_dad", 0), ("dad_transmits", 0))


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``ip ARGS``; on failure raise RuntimeError with ip's own message."""
    done = subprocess.run([shutil.which("ip") or "/usr/sbin/ip", *args],
                          capture_output=True, text=True, timeout=30)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class NamespaceGroup:
    """Namespaces ``<PREFIX><pid>-<n><name>`` for each of NAMES, built by ``_create``
    (a subclass's) on entry and deleted on exit, also when building fails; groups left
    by dead test runs are reaped first."""

    PREFIX = "ndpt"
    NAMES: tuple[str, ...] = ()

    def __init__(self) -> None:
        base = f"{self.PREFIX}{os.getpid()}-{next(_counter)}"
        self.ns = {name: base + name for name in self.NAMES}

    def __enter__(self):
        _reap_stale(self.PREFIX)
        try:
            self._create()
        except BaseException:
            self.delete()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.delete()

    def _create(self) -> None:
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the namespaces (and so their links); quiet if already gone."""
        for name in self.ns.values():
            ip("netns", "delete", name, check=False)

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        """``ip -n <namespace of name> ARGS``."""
        return ip("-n", self.ns[name], *args)


class VethPair(NamespaceGroup):
    """Namespaces ``a`` and ``b`` with veth ``mon0`` (in a) <-> ``peer0`` (in b)."""

    NAMES = ("a", "b")

    def __init__(self, *, peer_ipv6: bool = False) -> None:
        super().__init__()
        self.peer_ipv6 = peer_ipv6

    def _create(self) -> None:
        for name in self.ns.values():
            ip("netns", "add", name)
        self.sysctl("b", "net/ipv6/conf/all/disable_ipv6", int(not self.peer_ipv6))
        self.sysctl("b", "net/ipv6/conf/default/disable_ipv6", int(not self.peer_ipv6))
        self.add_link()

    def add_link(self) -> None:
        """(Re)create the veth link ``mon0`` <-> ``peer0`` and bring both ends up."""
        ip("-n", self.ns["a"], "link", "add", MONITOR, "type", "veth", "peer", "name", PEER,
           "netns", self.ns["b"])
        self.quiet_monitor(MONITOR)
        self.ip("a", "link", "set", MONITOR, "up")
        self.ip("b", "link", "set", PEER, "up")

    def quiet_monitor(self, dev: str) -> None:
        """A monitor interface must not autoconfigure from what it watches (LAB-NOTES 3)."""
        for key, value in MONITOR_SYSCTLS:
            self.sysctl("a", f"net/ipv6/conf/{dev}/{key}", value)

    def sysctl(self, side: str, key: str, value: object) -> None:
        """Set ``key`` (slash-separated, e.g. ``net/ipv6/conf/all/forwarding``) in ``side``.

        /proc/sys/net answers for the namespace of the thread that opens the file.
        """
        with self.inside(side), open(f"/proc/sys/{key}", "w") as file:
            file.write(f"{value}\n")

    def ip(self, side: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``ip -n NS ARGS`` in namespace ``side`` ("a" or "b")."""
        return ip("-n", self.ns[side], *args, check=check)

    @contextlib.contextmanager
    def inside(self, side: str) -> Iterator[None]:
        """Run the body with the calling thread in namespace ``side``."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.ns[side]}", os.O_RDONLY)
        try:
            _setns(target)
            yield
        finally:
            try:
                _setns(home)
            finally:
                os.close(home)
                os.close(target)

    def call(self, side: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a forked child inside namespace ``side``."""
        return run_forked(fn, *args, netns=self.ns[side])

    def wait_lla(self, side: str, dev: str, timeout: float = 10.0) -> None:
        """Wait until ``dev`` has a link-local address that is no longer tentative."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.ip(side, "-6", "addr", "show", "dev", dev, "scope", "link").stdout
            if "fe80::" in out and "tentative" not in out:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{dev} in {self.ns[side]}: no usable link-local address")

    def send(self, side: str, dev: str, frames: list[bytes]) -> None:
        """Put raw Ethernet frames on the wire from ``dev`` in namespace ``side``."""
        with self.inside(side):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        with sock:
            send_frames(sock, dev, frames)


def send_frames(sock: socket.socket, dev: str, frames: list[bytes]) -> None:
    """Send ``frames`` as they are on an unbound packet socket, via interface ``dev``."""
    sock.bind((dev, 0))
    for frame in frames:
        sock.send(frame)


def run_forked(fn: Callable[..., Any], *args: Any, netns: str | None = None,
               timeout: float = 60.0) -> Any:
    """Run ``fn(*args)`` in a forked child (in ``netns`` if given); return its result.

    The child's exception comes back as RuntimeError with its traceback text; a child
    that does not finish within ``timeout`` is killed.
    """
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(rfd)
        _child(wfd, netns, fn, args)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        data = _read_all(pipe, pid, timeout)
    os.waitpid(pid, 0)
    ok, value = pickle.loads(data) if data else (False, "child died without a result")
    if not ok:
        raise RuntimeError(f"in child{' in ' + netns if netns else ''}: {value}")
    return value


def _child(wfd: int, netns: str | None, fn: Callable[..., Any], args: tuple) -> None:
    """Run in the forked child; always ends with ``os._exit``, never back in pytest."""
    code = 0
    try:
        if netns:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            _setns(fd)
            os.close(fd)
        result = (True, fn(*args))
    except BaseException:  # report everything: the parent decides
        result = (False, traceback.format_exc())
    try:
        try:
            payload = pickle.dumps(result)
        except Exception as exc:
            payload = pickle.dumps((False, f"result cannot be pickled: {exc!r}"))
        with os.fdopen(wfd, "wb") as out:
            out.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _read_all(pipe, pid: int, timeout: float) -> bytes:
    deadline, chunks = time.monotonic() + timeout, []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([pipe], [], [], left)[0]:
            os.kill(pid, signal.SIGKILL)
            return b""
        chunk = os.read(pipe.fileno(), 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap_stale(prefix: str = "ndpt") -> None:
    """Delete ``<prefix><pid>-*`` namespaces whose test process no longer exists."""
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].partition("-")[0]
        if name.startswith(prefix) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            ip("netns", "delete", name, check=False)
