# ndpmon.plugin.description = the web report (HTML pages) rewritten after every cache save
"""webreport: NDPMon's webinterface plugin, as ``ndpmon report`` run after each cache save.

Switched on with::

    <plugin name="webreport">
      <param name="out" value="/var/www/html/ndpmon"/>
      <param name="alerts" value="/var/lib/ndpmon/alerts.xml"/>   <!-- optional -->
      <param name="memory_limit" value="1024"/>   <!-- MiB, optional -->
      <param name="time_limit" value="300"/>      <!-- seconds, optional -->
    </plugin>

After every write of the neighbour cache (every 60 s while frames arrive, on SIGUSR1 and
at exit) the pages of ``ndpmon report`` (ndpmon/commands/report.py) are rendered again from the
config, the cache just written and alerts.xml (default: beside the cache).

The render runs as a child process, ``ndpmon report --memory-limit``, never inside the
monitor: what it reads grows with the files (alerts.xml is never rotated; the cache
holds what a flood put there), and memory the monitor once took it keeps (issue 15: a
1 GB alerts.xml took the monitor from 32 MB to 10.4 GB). The child's address space is
capped at ``memory_limit`` MiB and it is killed after ``time_limit`` seconds; either
way, or on any error, one line is logged and the old pages stay (each page is replaced
atomically). A background thread waits for the child, so the capture loop never does;
a save while a render is still running asks for one more render afterwards instead of
starting a second one. The save at exit renders at once and waits for it; live, at most
``EXIT_SECONDS``, so that ndpmon stops well within systemd's ``TimeoutStopSec=30``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import ndpmon
from ndpmon.plugin import Plugin as Base, known_params
from ndpmon.formats.alertsxml import beside_cache

log = logging.getLogger("ndpmon")

#: The render at exit is stopped after this many seconds (systemd waits 30 in all).
EXIT_SECONDS = 10
#: How ``ndpmon`` is started in the child: the package this plugin was loaded with, the
#: monitor's environment (PYTHONPATH: where lxml is), in ``/``, never the working
#: directory on sys.path (-P, Python 3.11 on).
_LAUNCH = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
           "from ndpmon.commands.main import main; sys.exit(main(sys.argv[1:]))")
_PYTHON = ("-P",) if sys.version_info >= (3, 11) else ()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(ndpmon.__file__)))


def _positive(params: dict, name: str, default: int) -> int:
    text = params.get(name) or str(default)
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"<param name=\"{name}\">: not a positive number: {text!r}")
    return int(text)


class WebReport(Base):
    description = "the web report, rewritten after every cache save"

    def __init__(self, params, config):
        super().__init__(params, config)
        known_params(params, ("out", "alerts", "memory_limit", "time_limit"))
        if not params.get("out"):
            raise ValueError("<param name=\"out\"> (the directory of the pages) is missing")
        base = os.path.dirname(os.path.abspath(config.path))
        self.out = os.path.join(base, params["out"])
        self.alerts = os.path.join(base, params["alerts"]) if params.get("alerts") else None
        self.memory_limit = _positive(params, "memory_limit", 1024)
        self.time_limit = _positive(params, "time_limit", 300)
        self._lock = threading.Lock()
        self._wanted: str | None = None  # cache path of a render still to do
        self._worker: threading.Thread | None = None
        self._child: subprocess.Popen | None = None
        self._stopped = False

    def cache_saved(self, path: str) -> None:
        """Render in the background; at most one render runs, one more may wait.
        The save at exit comes after ``stop``: that render runs at once, in this thread,
        live for at most EXIT_SECONDS (a replay has no stop timeout: time_limit)."""
        if self._stopped:
            live = getattr(self.engine, "live", False)
            self.render(path, min(self.time_limit, EXIT_SECONDS) if live else None)
            return
        with self._lock:
            self._wanted = path
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="webreport",
                                                daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                path, self._wanted = self._wanted, None
                if path is None or self._stopped:
                    self._worker = None
                    return
            self.render(path, background=True)

    def command(self, cache: str) -> list[str]:
        """The child's command line: ``ndpmon report`` with the memory limit."""
        alerts = self.alerts or beside_cache(cache)
        argv = [sys.executable, *_PYTHON, "-c", _LAUNCH, _PACKAGE_DIR, "report",
                "-f", os.path.abspath(self.config.path), "-g", os.path.abspath(cache),
                "--alerts", os.path.abspath(alerts), "--out", self.out,
                "--memory-limit", str(self.memory_limit)]
        store = self.config.settings.store
        if store is not None and any(p.type == "remote" for p in self.config.probes):
            argv += ["--store", store.url]  # the central view (ndpmon --store included)
        return argv

    def render(self, cache: str, seconds: float | None = None,
               background: bool = False) -> None:
        """Run ``ndpmon report`` for ``cache`` as a child and wait for it, at most
        ``seconds`` (default: time_limit); log how it went in one line. A render in
        the background is killed by ``stop``."""
        try:
            child = subprocess.Popen(self.command(cache), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     cwd="/", start_new_session=True)
        except OSError as exc:
            log.error("webreport: cannot start ndpmon report: %s", exc.strerror or exc)
            return
        with self._lock:
            self._child = child
            if self._stopped and background:  # stop() came first: the exit renders
                child.kill()
        try:
            self._wait(child, self.time_limit if seconds is None else seconds)
        finally:
            with self._lock:
                self._child = None

    def _wait(self, child: subprocess.Popen, seconds: float) -> None:
        try:
            _, err = child.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            log.error("webreport: %s: not written: the report took more than %g s; "
                      "stopped", self.out, seconds)
            return
        lines = err.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1].removeprefix("ndpmon: ") if lines else ""
        if child.returncode == 0:
            log.debug("webreport: %s", last)
        elif child.returncode < 0 and self._stopped:
            log.debug("webreport: the render was stopped: ndpmon is stopping")
        elif child.returncode < 0:
            log.error("webreport: %s: not written: ndpmon report was stopped by signal %d",
                      self.out, -child.returncode)
        else:
            log.error("webreport: %s", last or f"ndpmon report failed ({child.returncode})")

    def stop(self) -> None:
        """Stop a running render (the save at exit renders again); later saves render
        synchronously."""
        with self._lock:
            worker, child, self._stopped = self._worker, self._child, True
        if child is not None:
            child.kill()
        if worker is not None:
            worker.join(EXIT_SECONDS)


Plugin = WebReport
