"""The live loop: capture on interfaces, run the engine, deliver, save, obey signals.

This is the long-running part of ndpmon (``ndpmon`` without ``-r``). It owns every piece
of I/O a monitor needs over days: the capture sockets, the delivery worker, the periodic
cache save, the kernel drop counters, and the signals. Signal handlers only set a flag
and wake the capture (supervisor's rule); the loop acts on the flags between batches:

* SIGTERM / SIGINT: stop; the delivery queue is drained, the cache (and in learning mode
  the config) written;
* SIGHUP: reload the config; the new one replaces the old only if it is valid;
* SIGUSR1: write the neighbour cache now, log one line, and ask the plugins to log
  their counters (their ``status`` hook).
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Callable

from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.errors import NdpmonError
from ndpmon.config.model import Config
from ndpmon.engine.plugin import overrides

__all__ = ["Monitor", "Flags", "SAVE_EVERY", "DROPS_EVERY"]

log = logging.getLogger("ndpmon")

#: The neighbour cache is written at most this often while frames arrive (NDPMon: 60 s).
SAVE_EVERY = 60.0
#: The kernel's drop counters are read this often.
DROPS_EVERY = 10.0
#: A full garbage collection (after a cache save) at most this often.
FULL_GC_EVERY = 3600.0


@dataclass
class Flags:
    """What the signal handlers ask the loop to do; set asynchronously, read in the loop."""

    stop: bool = False
    reload: bool = False
    save: bool = False
    why: str = ""
    wake: Callable[[], None] = field(default=lambda: None)

    def install(self) -> None:
        """Route SIGTERM, SIGINT, SIGHUP and SIGUSR1 to these flags."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        elif signum == signal.SIGUSR1:
            self.save = True
        else:
            self.stop, self.why = True, signal.Signals(signum).name
        self.wake()


class Monitor:
    """One monitoring (or learning) run over live interfaces.

    ``pipeline`` is a ndpmon.run.pipeline.Pipeline, ``capture`` a capture.LiveCapture
    (or a fake with the same ``read/wake/drops/close``), ``reload_config`` loads and
    validates the config again (raising NdpmonError), ``save_cache`` writes the cache,
    ``clock`` gives seconds.
    """

    def __init__(self, pipeline, capture, *, save_cache: Callable[[], None],
                 reload_config: Callable[[], Config] | None = None,
                 learn_until: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], float] = time.time) -> None:
        self.pipeline, self.capture = pipeline, capture
        self.save_cache, self.reload_config = save_cache, reload_config
        self.learn_until = learn_until
        self.clock, self.wallclock = clock, wallclock
        self.flags = Flags(wake=capture.wake)
        self.drops: dict[str, int] = {}
        self._next_full_gc = clock() + FULL_GC_EVERY
        self.alerts = {p: 0 for p in Priority}

    def run(self) -> str:
        """Capture until a stop signal or the end of learning; say why it ended."""
        engine = self.pipeline.engine
        next_save = next_drops = self.clock()
        saved_frames = engine.frames
        while not self.flags.stop:
            now = self.clock()
            if self.learn_until is not None and now >= self.learn_until:
                return "learning time is over"
            for iface, batch in self.capture.read(1.0):
                self._count(self.pipeline.feed(iface, batch))
            if self.flags.reload:
                self.flags.reload = False
                self._reload()
            if now >= next_drops:
                next_drops = now + DROPS_EVERY
                self._check_drops()
                self._tick_plugins()
            if self.flags.save or (now >= next_save and engine.frames != saved_frames):
                asked, self.flags.save = self.flags.save, False
                next_save, saved_frames = now + SAVE_EVERY, engine.frames
                self._save()
                if asked:
                    self._status()
        self._drain()
        return f"stopped by {self.flags.why}"

    def _drain(self, rounds: int = 64) -> None:
        """Frames the kernel queued before the stop signal are still checked (a bounded
        number of rounds, so that a flood cannot keep ndpmon from stopping)."""
        for _ in range(rounds):
            batches = self.capture.read(0)
            if not batches:
                return
            for iface, batch in batches:
                self._count(self.pipeline.feed(iface, batch))

    def _count(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.alerts[alert.priority] += 1

    def _save(self) -> None:
        """Save the cache (written in the background: ndpmon.run.cachesave), then
        collect garbage, kept off the frame path (session.tune_gc): the young
        generations each time, all of them at most every FULL_GC_EVERY seconds (a full
        collection walks every neighbour: 0.65 s at the default caps, bench_cache.py)."""
        try:
            self.save_cache()
        except NdpmonError as exc:
            log.error("%s", exc)
        now = self.clock()
        if now >= self._next_full_gc:
            self._next_full_gc = now + FULL_GC_EVERY
            gc.collect()
        else:
            gc.collect(1)

    def _status(self) -> None:
        """SIGUSR1: one line on what the run has done, then the plugins' counters."""
        engine = self.pipeline.engine
        log.info("SIGUSR1: writing the neighbour cache; %d frames, %d high and %d low "
                 "priority alerts so far", engine.frames, self.alerts[Priority.HIGH],
                 self.alerts[Priority.LOW])
        self.pipeline.hooks("status")

    def _reload(self) -> None:
        """SIGHUP: swap in the new config only if it loads and validates."""
        if self.reload_config is None or self.pipeline.engine.learning:
            log.warning("SIGHUP: reload is not possible in learning mode; ignored")
            return
        try:
            config = self.reload_config()
        except NdpmonError as exc:
            log.error("SIGHUP: %s; keeping the running config", exc)
            return
        self.pipeline.reload(config)
        captured = set(getattr(self.capture, "ports", ()))
        for probe in config.probes:
            if probe.type == "interface" and captured and probe.name not in captured:
                log.warning("SIGHUP: probe %s is new: restart ndpmon to capture on it",
                            probe.name)
        log.info("SIGHUP: reloaded %s (%d probes, %d routers)", config.path,
                 len(config.probes), sum(len(p.routers) for p in config.probes))

    def _tick_plugins(self) -> None:
        """The plugins' periodic ``tick``: their alerts go through the pipeline."""
        for plugin in self.pipeline.engine.plugins:
            if not overrides(plugin, "tick"):
                continue
            alerts = self.pipeline.guard.call(plugin, "tick", self.wallclock())
            if alerts:
                self._count(self.pipeline.raise_alerts(list(alerts)))
                for action in self.pipeline.actions:
                    action.flush()

    def _check_drops(self) -> None:
        """Frames the kernel dropped (the socket buffer was full) raise an alert."""
        for iface, dropped in self.capture.drops_since_last().items():
            if dropped <= 0:
                continue
            total = self.drops[iface] = self.drops.get(iface, 0) + dropped
            message = (f"capture drops on {iface}: the kernel dropped {dropped} frames "
                       f"({total} since start)")
            log.warning("%s", message)
            alert = Alert(self.wallclock(), iface, Priority.HIGH, reasons.CAPTURE_DROPS, message)
            self._count(self.pipeline.raise_alerts([alert]))


def default_learn_until(seconds: float | None, clock: Callable[[], float]) -> float | None:
    """The clock value at which ``--learn-for SECONDS`` ends learning."""
    return None if seconds is None else clock() + seconds
