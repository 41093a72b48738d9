# ndpmon.plugin.description = the web report (HTML pages) rewritten after every cache save
"""webreport: NDPMon's webinterface plugin, as ``ndpmon report`` run after each cache save.

Switched on with::

    <plugin name="webreport">
      <param name="out" value="/var/www/html/ndpmon"/>
      <param name="alerts" value="/var/lib/ndpmon/alerts.xml"/>   <!-- optional -->
    </plugin>

After every write of the neighbour cache (every 60 s while frames arrive, on SIGUSR1 and
at exit) the pages of ``ndpmon report`` (ndpmon/commands/report.py) are rendered again from the
config, the cache just written and alerts.xml (default: beside the cache). Rendering a
large cache takes most of a second (bench/bench_report.py), so it runs in a thread of
its own and never in the capture loop; a save while a render is still running asks for
one more render afterwards instead of starting a second one. The save at exit renders
in the main thread, so the pages are complete when ndpmon has exited. A failed render
is logged; the old pages stay (each page is replaced atomically).
"""

from __future__ import annotations

import logging
import os
import threading

from ndpmon.errors import NdpmonError
from ndpmon.plugin import Plugin as Base, known_params
from ndpmon.commands.report import render
from ndpmon.formats.alertsxml import beside_cache

log = logging.getLogger("ndpmon")


class WebReport(Base):
    description = "the web report, rewritten after every cache save"

    def __init__(self, params, config):
        super().__init__(params, config)
        known_params(params, ("out", "alerts"))
        if not params.get("out"):
            raise ValueError("<param name=\"out\"> (the directory of the pages) is missing")
        base = os.path.dirname(os.path.abspath(config.path))
        self.out = os.path.join(base, params["out"])
        self.alerts = os.path.join(base, params["alerts"]) if params.get("alerts") else None
        self._lock = threading.Lock()
        self._wanted: str | None = None  # cache path of a render still to do
        self._worker: threading.Thread | None = None
        self._stopped = False

    def cache_saved(self, path: str) -> None:
        """Render in the background; at most one render runs, one more may wait.
        The save at exit comes after ``stop``: that render runs at once, in this thread."""
        if self._stopped:
            self.render(path)
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
                if path is None:
                    self._worker = None
                    return
            self.render(path)

    def render(self, cache: str) -> None:
        alerts = self.alerts or beside_cache(cache)
        try:
            remote = any(p.type == "remote" for p in self.config.probes)
            store = self.config.settings.store if remote else None  # the central view
            report = render(self.config.path, cache, alerts, self.out, store=store)
        except (NdpmonError, OSError) as exc:
            log.error("webreport: %s", exc)
            return
        log.debug("webreport: %d routers, %d neighbours, %d alerts in %s", report.routers,
                  report.neighbors, report.alerts, report.out_dir)

    def stop(self) -> None:
        """Let a running render finish; later saves render synchronously."""
        with self._lock:
            worker, self._stopped = self._worker, True
        if worker is not None:
            worker.join(60)


Plugin = WebReport
