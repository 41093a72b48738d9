"""``<ignor_autoconf>``: keep the monitor itself from being configured by what it watches,
and give the host its settings back afterwards.

NDPMon wrote the value verbatim into the kernel's IPv6 settings of every interface
(``net.ipv6.conf.all.*``, COMPATIBILITY.md §4.2) and left them so. A monitor listens to
rogue RAs and Redirects all day; with 0 its kernel ignores them (RFC 4861 §6.3.4
processing, RFC 4862 SLAAC and §8.3 redirects turned off), with 1 it accepts them. We
write the same value, but only for the interfaces we capture on (the host's other
interfaces are not ours to change), and only while ndpmon runs: the values found are
recorded before the first change and written back at exit, also after an error, and
when a SIGHUP'd config changes the setting (a blank ``<ignor_autoconf/>`` or none at
all: the values found). 0 on the admin's own interface would otherwise cut its IPv6 for
good once the RA default route expires.

The writes are made by a ``Keeper``: a small process forked as root before ndpmon drops
root (``--user``), which applies the value on command and restores the values it found
when the monitor's end of its pipe closes, however the monitor ended, ``kill -9``
included. It is forked only when the setting is 0 or 1 at start (a SIGHUP that sets it
later asks for a restart). Only a kill of the keeper itself (``kill -9`` of the whole
process group, as systemd's last resort after ``TimeoutStopSec``) leaves the settings
changed. A setting that cannot be written (a container with a read-only /proc/sys) is
logged, not fatal: monitoring still works.
"""

from __future__ import annotations

import logging
import os
import select
import signal
from typing import Sequence

__all__ = ["Sysctls", "Keeper", "KEYS", "PROC"]

log = logging.getLogger("ndpmon")

#: The settings NDPMon wrote (settings.c:187-209).
KEYS = ("autoconf", "accept_ra", "accept_ra_defrtr", "accept_ra_pinfo", "accept_redirects")
PROC = "/proc/sys/net/ipv6/conf"
_RESTORE, _EXIT = b"-", b"x"
_ACK_TIMEOUT = 10.0


class Sysctls:
    """The KEYS of ``ifaces`` under ``root``: ``apply(value)`` writes a value and records
    what it replaced (once per key, so a later restore gives the host's own values back),
    ``restore()`` writes the recorded values back."""

    def __init__(self, ifaces: Sequence[str], root: str = PROC) -> None:
        self.ifaces, self.root = list(ifaces), root
        self.value: int | None = None
        self.saved: dict[tuple[str, str], str] = {}  # (iface, key) -> the value found

    def apply(self, value: int | None) -> list[str]:
        """Write ``value`` to every key (None: restore); return what failed (logged)."""
        if value is None:
            return self.restore()
        self.value, failed = value, []
        for iface in self.ifaces:
            for key in KEYS:
                error = self._set(iface, key, str(value))
                if error:
                    failed.append(error)
        if failed:
            log.warning("ignor_autoconf: could not set %s", "; ".join(failed))
        else:
            log.info("ignor_autoconf: %s=%d on %s until ndpmon stops (the values found "
                     "are restored then)", ",".join(KEYS), value, ", ".join(self.ifaces))
        return failed

    def restore(self) -> list[str]:
        """Write the recorded values back; return what failed (logged)."""
        self.value = None
        if not self.saved:
            return []
        failed, done = [], []
        for (iface, key), old in list(self.saved.items()):
            error = _write(self._path(iface, key), old)
            if error:
                failed.append(f"{iface}/{key}: {error}")
            else:
                done.append(f"{iface}/{key}={old}")
                del self.saved[(iface, key)]
        if done:
            log.info("ignor_autoconf: restored %s", ", ".join(done))
        if failed:
            log.warning("ignor_autoconf: could not restore %s", "; ".join(failed))
        return failed

    def _path(self, iface: str, key: str) -> str:
        return os.path.join(self.root, iface, key)

    def _set(self, iface: str, key: str, value: str) -> str:
        """Write one key, recording the value found first; an error text or ""."""
        path = self._path(iface, key)
        try:
            with open(path) as file:
                found = file.read().strip()
        except OSError as exc:
            return f"{iface}/{key}: {exc.strerror}"
        if found == value:
            return ""
        error = _write(path, value)
        if error:
            return f"{iface}/{key}: {error}"
        self.saved.setdefault((iface, key), found)
        return ""


def _write(path: str, value: str) -> str:
    try:
        with open(path, "w") as file:
            file.write(f"{value}\n")
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


class Keeper:
    """``Sysctls`` in a process of their own that stays root and restores at the end.

    ``start(value)`` forks it (before any thread, before the drop) and applies
    ``value``; ``apply(value)`` on SIGHUP; ``close()`` at exit makes it restore and
    waits for it. Each command is one byte on a pipe, answered with one byte once done.
    """

    def __init__(self, sysctls: Sysctls) -> None:
        self.sysctls = sysctls
        self.pid: int | None = None
        self.value: int | None = None
        self._waiting: int | None = None  # a value a restart will apply (logged once)
        self._send: int | None = None
        self._answer: int | None = None

    def start(self, value: int | None) -> None:
        """Fork the keeper and apply ``value``; with None (leave the settings alone) no
        process is forked: no root process stays beside a ``--user`` monitor for nothing.
        """
        if value is None:
            return
        cmd_r, cmd_w = os.pipe()
        ans_r, ans_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, tested through the live runs
            os.close(cmd_w)
            os.close(ans_r)
            _serve(self.sysctls, cmd_r, ans_w)
        os.close(cmd_r)
        os.close(ans_w)
        self.pid, self._send, self._answer = pid, cmd_w, ans_r
        self.apply(value)

    def apply(self, value: int | None) -> None:
        """Have the keeper write ``value`` (None: restore); nothing if it is the same.
        Without a keeper (the setting was empty at start), a value is logged as waiting
        for a restart: the monitor may no longer be root."""
        if value == self.value:
            return
        if self.pid is None:
            if value != self._waiting:
                log.warning("ignor_autoconf: %s is set now but was empty when ndpmon "
                            "started: restart ndpmon to apply it", value)
            self._waiting = value
            return
        self.value = value
        self._command(_RESTORE if value is None else str(value).encode())

    def close(self) -> None:
        """Let the keeper restore and end; wait for it. (It is told to: the end of its
        input may come later, as a child forked afterwards, root's config writer, holds
        the pipe too.)"""
        done = self._command(_EXIT)
        if self._send is not None:
            os.close(self._send)
            self._send = None
        if self.pid is not None:
            if not done:  # stuck or gone: never wait for it forever
                _kill(self.pid)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass  # reaped already
            self.pid = None
        if self._answer is not None:
            os.close(self._answer)
            self._answer = None

    def _command(self, data: bytes) -> bool:
        """Send one command and wait for its answer; False (logged) if none came."""
        if self._send is None or self._answer is None:
            return False
        try:
            os.write(self._send, data)
            ready, _, _ = select.select([self._answer], [], [], _ACK_TIMEOUT)
            if ready and os.read(self._answer, 1):
                return True
        except OSError:
            pass
        log.error("ignor_autoconf: the process that keeps the kernel settings is gone; "
                  "they can no longer be changed or restored (%s)",
                  ", ".join(f"{i}/{k}" for i in self.sysctls.ifaces for k in KEYS))
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _serve(sysctls: Sysctls, commands: int, answers: int) -> None:
    """The keeper: apply each command, answer; restore at end of input (never returns).
    It ignores the signals that stop the monitor (a Ctrl-C or systemd's SIGTERM reach the
    whole group): it ends when the monitor has ended."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
                signal.SIGUSR2, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    try:
        while True:
            data = os.read(commands, 1)
            if not data:
                break
            if data == _EXIT:
                sysctls.restore()
            else:
                sysctls.apply(None if data == _RESTORE else int(data))
            try:
                os.write(answers, b".")
            except OSError:
                break
            if data == _EXIT:
                break
        sysctls.restore()
    finally:
        os._exit(0)
