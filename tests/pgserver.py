"""A throw-away PostgreSQL server for the store's tests (Debian's postgresql package).

``PgServer`` runs ``initdb`` into a fresh directory under /tmp as the ``postgres``
system user (the server refuses root), on a free port, listening on 127.0.0.1 and on a
Unix socket in its own directory (a socket file works across network namespaces, which
127.0.0.1 does not), with password authentication (scram-sha-256) for the user
``ndpmon``. ``kill()`` is ``kill -9`` of the server and all its processes (a crash),
``start()`` brings it back (crash recovery), ``stop()`` ends it and removes the
directory. ``.ci/run`` installs the package; ``find_bin`` fails the test under CI if
it is missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from typing import Iterator

from needs import missing, need_root, need_tool

__all__ = ["PgServer", "find_bin", "PASSWORD", "USER", "DATABASE"]

USER, PASSWORD, DATABASE = "ndpmon", "s3cret-for-tests", "ndpmon"
RUN_AS = "postgres"


def find_bin() -> str:
    """The newest /usr/lib/postgresql/<version>/bin (package postgresql)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        missing("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        missing(f"no {RUN_AS} system user (apt-get install postgresql)")
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgServer:
    """One private server; ``url`` reaches it through the Unix socket (no password)."""

    def __init__(self) -> None:
        self.bin = find_bin()
        self.port = _free_port()
        self.base = tempfile.mkdtemp(prefix="ndpmon-pg-")
        self.data = os.path.join(self.base, "data")
        self.sockdir = os.path.join(self.base, "sock")
        self.log = os.path.join(self.base, "server.log")
        self.password_file = os.path.join(self.base, "password")
        os.mkdir(self.sockdir)
        with open(self.password_file, "w") as file:
            file.write(PASSWORD + "\n")
        os.chmod(self.base, 0o755)
        pw = pwd.getpwnam(RUN_AS)
        for path in (self.base, self.sockdir):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        self.url = f"postgresql://{USER}@/{DATABASE}?host={self.sockdir}&port={self.port}"
        self.tcp_url = f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _as_postgres(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", RUN_AS, "--", *cmd], capture_output=True,
                              text=True, timeout=120, check=check, cwd=self.base)

    def init(self) -> None:
        pwfile = os.path.join(self.base, "pw-initdb")
        with open(pwfile, "w") as file:
            file.write(PASSWORD + "\n")
        os.chown(pwfile, pwd.getpwnam(RUN_AS).pw_uid, -1)
        self._as_postgres(f"{self.bin}/initdb", "-D", self.data, "-U", USER,
                          f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                          "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C")
        os.unlink(pwfile)
        self.start()
        self.psql(f"CREATE DATABASE {DATABASE}", db="postgres")

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off")
        done = self._as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-l", self.log,
                                 "-o", opts, "-w", "-t", "60", "start", check=False)
        if done.returncode:
            raise RuntimeError(f"pg_ctl start: {done.stdout}{done.stderr}\n{self.tail()}")

    def tail(self) -> str:
        try:
            with open(self.log) as file:
                return file.read()[-3000:]
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The postmaster and every process it started."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as file:
                master = int(file.readline())
        except (OSError, ValueError):
            return []
        found = [master]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as file:
                        ppid = int(file.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == master:
                    found.append(int(entry))
        return found

    def kill(self) -> None:
        """``kill -9`` the server and its children (a crash); wait until all are gone."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
            time.sleep(0.05)
        if pids and all(_zombie(p) for p in pids):
            # Dead, but not yet reaped by init: the server would take the zombie for a
            # running postmaster (kill(pid, 0) succeeds). Every process is gone.
            try:
                os.unlink(os.path.join(self.data, "postmaster.pid"))
            except FileNotFoundError:
                pass

    def stop(self) -> None:
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                          "stop", check=False)
        self.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def psql(self, sql: str, db: str = DATABASE) -> str:
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        done = subprocess.run([f"{self.bin}/psql", "-X", "-q", "-A", "-t", "-v",
                               "ON_ERROR_STOP=1", "-h", self.sockdir, "-p", str(self.port),
                               "-U", USER, "-d", db, "-c", sql],
                              capture_output=True, text=True, timeout=60, env=env)
        if done.returncode:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return done.stdout.strip()

    def connect(self):
        import psycopg

        return psycopg.connect(self.url, password=PASSWORD, autocommit=True)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _has_c_utf8() -> bool:
    return os.path.isdir("/usr/lib/locale/C.utf8") or os.path.isdir("/usr/lib/locale/C.UTF-8")


def private_server() -> Iterator["PgServer"]:
    """A private PostgreSQL server, removed afterwards (``yield from`` it in a fixture);
    skips (or fails under CI) without root, psycopg, runuser or PostgreSQL."""
    need_root()  # the server runs as the postgres user: runuser needs root
    try:
        import psycopg  # noqa: F401 - the store's driver, in the test extra
    except ImportError:
        missing("psycopg is not installed (pip install -e '.[test]')")
    need_tool("runuser")
    server = PgServer()
    try:
        server.init()
        yield server
    finally:
        server.remove()
