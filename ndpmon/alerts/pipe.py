"""``exec_pipe_program``: hand each alert to an admin's program, without a shell.

NDPMon ran the configured string with ``/bin/sh -c`` and wrote the mail message on its
stdin (COMPATIBILITY.md §5.2). We split the string into words ourselves (``shlex``) and run
the program directly: the same stdin, plus the alert's fields in ``NDPMON_*``
environment variables so scripts need not parse anything. Packet data travels only on
stdin and in the environment, never on a command line. A program that hangs is killed
with its whole process group after ``exec_timeout`` seconds.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
from typing import Mapping, NamedTuple, Sequence

from ndpmon.checks.alert import Alert
from ndpmon.alerts.action import Action
from ndpmon.files.text import printable
from ndpmon.alerts.mailbody import ReverseDns, addresses, body_for

__all__ = ["Pipe", "Outcome", "run_program", "alert_env"]

log = logging.getLogger("ndpmon")

class Outcome(NamedTuple):
    """How a program run ended: exit status (None: killed at the time limit) and the
    first line it wrote on stderr."""

    status: int | None
    error: str = ""

    def describe(self, timeout: float) -> str:
        """``exit status 3: no such user``, ``killed after 10 s``."""
        if self.status is None:
            return f"killed after {timeout:g} s"
        text = f"exit status {self.status}" if self.status >= 0 else f"signal {-self.status}"
        return f"{text}: {self.error}" if self.error else text


def _first_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return printable(lines[0][:200]) if lines else ""


def _killpg(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # already gone
        proc.kill()


def run_program(argv: Sequence[str], data: bytes, timeout: float,
                env: Mapping[str, str] | None = None) -> Outcome:
    """Run ``argv`` (no shell) with ``data`` on stdin, in its own session, at most
    ``timeout`` seconds. Raises OSError when it cannot be started."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, start_new_session=True,
                            close_fds=True)
    try:
        _, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _killpg(proc)
        proc.wait()
        return Outcome(None)
    finally:
        for stream in (proc.stdin, proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
    return Outcome(proc.returncode, _first_line(err))


def _env_text(text: str) -> str:
    return text.replace("\0", "")


def alert_env(alert: Alert, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (os.environ by default) plus the alert's ``NDPMON_*`` variables; an
    absent MAC, MAC2 or IPv6 is an empty string."""
    env = dict(os.environ if base is None else base)
    mac, mac2, ipv6 = addresses(alert, "")
    env.update({
        "NDPMON_REASON": _env_text(alert.reason),
        "NDPMON_PRIORITY": alert.priority.label,
        "NDPMON_MESSAGE": _env_text(alert.message),
        "NDPMON_MAC": mac,
        "NDPMON_MAC2": mac2,
        "NDPMON_IPV6": ipv6,
        "NDPMON_PROBE": _env_text(alert.probe or ""),
    })
    if "vendor" in alert.extra:  # the mac_resolv plugin is on
        env["NDPMON_VENDOR"] = _env_text(str(alert.extra["vendor"]))
        env["NDPMON_VENDOR2"] = _env_text(str(alert.extra.get("vendor2", "")))
    return env


class Pipe(Action):
    """Run the configured program once per alert; log failures, never raise."""

    @property
    def label(self) -> str:
        """``pipe PROGRAM`` in the exit summary."""
        return f"pipe {self.argv[0]}" if self.argv else f"pipe {self.command!r}"

    def __init__(self, command: str, *, timeout: float = 10.0,
                 dns: ReverseDns | None = None) -> None:
        self.command = command
        self.timeout = timeout
        self.dns = dns
        self.failures = 0
        try:
            self.argv: list[str] = shlex.split(command)
        except ValueError as exc:
            log.error("exec_pipe_program %r: %s; not run", command, exc)
            self.argv = []

    def notify(self, alert: Alert) -> None:
        if not self.argv:
            self.failures += 1
            return
        data = (body_for(alert, self.dns) + "\n").encode("utf-8", "backslashreplace")
        try:
            outcome = run_program(self.argv, data, self.timeout, alert_env(alert))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.failures += 1
            log.warning("exec_pipe_program %s: cannot run: %s", self.argv[0],
                        getattr(exc, "strerror", None) or exc)
            return
        if outcome.status != 0:
            self.failures += 1
            log.warning("exec_pipe_program %s: %s (alert %r)", self.argv[0],
                        outcome.describe(self.timeout), alert.reason)
