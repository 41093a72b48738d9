"""The live loop: capture on interfaces, run the engine, deliver, save, obey signals.

This is the long-running part of ndpmon (``ndpmon`` without ``-r``). It owns every piece
of I/O a monitor needs over days: the capture sockets, the delivery worker, the periodic
cache save, the kernel drop counters, and the signals. Signal handlers only set a flag
and wake the capture (supervisor's rule); the loop acts on the flags between batches:

* SIGTERM / SIGINT: stop; the delivery queue is drained, the cache (and in learning mode
  the config) written;
* SIGHUP: open alerts.xml and the JSON lines again (after a log rotation), reload the
  config; the new one replaces the old only if it is valid;
* SIGUSR1: write the neighbour cache now, log one line, and ask the plugins to log
  their counters (their ``status`` hook).
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from ndpmon.alerts.guard import Outage
from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.errors import NdpmonError
from ndpmon.config.model import Config
from ndpmon.engine.plugin import overrides
from ndpmon.run.trunk import is_fed

__all__ = ["Monitor", "Flags", "SAVE_EVERY", "DROPS_EVERY", "TICK_EVERY"]

log = logging.getLogger("ndpmon")

#: The neighbour cache is written at most this often while frames arrive (NDPMon: 60 s).
SAVE_EVERY = 60.0
#: The kernel's drop counters are read this often: the first drop is reported within
#: a second, later ones at most once per ``<limits rate_window>`` per interface.
DROPS_EVERY = 0.5
#: The plugins' ``tick`` runs this often.
TICK_EVERY = 10.0
CACHE_NOT_SAVED = f"the neighbour cache is not saved until it works again (tried every " \
                  f"{SAVE_EVERY:g} s)"
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
    validates the config again (raising NdpmonError), ``on_reload`` is told of the
    config a SIGHUP swapped in, ``save_cache`` writes the cache, ``clock`` gives seconds.
    """

    def __init__(self, pipeline, capture, *, save_cache: Callable[[], None],
                 save_outcome: Callable[[], tuple[int, NdpmonError | None]] | None = None,
                 reload_config: Callable[[], Config] | None = None,
                 learn_until: float | None = None,
                 on_reload: Callable[[Config], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], float] = time.time) -> None:
        self.pipeline, self.capture = pipeline, capture
        self.save_cache, self.reload_config = save_cache, reload_config
        self.save_outcome, self._saves_seen = save_outcome, 0
        self.learn_until = learn_until
        self.on_reload = on_reload
        self.clock, self.wallclock = clock, wallclock
        self.flags = Flags(wake=capture.wake)
        self.drops: dict[str, int] = {}
        self._next_full_gc = clock() + FULL_GC_EVERY
        #: alerts raised, by priority and reason
        self.raised: dict[Priority, Counter[str]] = {p: Counter() for p in Priority}
        #: called on every DROPS_EVERY tick (metrics: ndpmon.run.metrics publishes there)
        self.observe: Callable[[], None] | None = None
        self.cache_outage = Outage("neighbour cache", clock, loss=CACHE_NOT_SAVED)
        self.busy = 0.0  # seconds spent handling frames (the exit summary's frames/s)
        self._unreported: dict[str, dict[str, int]] = {}  # iface -> lane -> drops
        self._next_drop_alert: dict[str, float] = {}
        pipeline.wallclock = wallclock  # alerts raised late carry the time they were

    def run(self) -> str:
        """Capture until a stop signal or the end of learning; say why it ended."""
        engine = self.pipeline.engine
        next_save = next_drops = next_tick = self.clock()
        saved_frames = engine.frames
        while not self.flags.stop:
            now = self.clock()
            if self.learn_until is not None and now >= self.learn_until:
                self._check_drops(now, final=True)
                return "learning time is over"
            self._handle(self.capture.read(1.0))
            if self.flags.reload:
                self.flags.reload = False
                self._reload()
            now = self.clock()
            if now >= next_drops:
                next_drops = now + DROPS_EVERY
                self._check_drops(now)
                self._check_saves()
                self._count(self.pipeline.expire(self.wallclock()))  # summaries due
                if self.observe is not None:
                    self.observe()
            if now >= next_tick:
                next_tick = now + TICK_EVERY
                self._tick_plugins()
            if self.flags.save or (now >= next_save and engine.frames != saved_frames):
                asked, self.flags.save = self.flags.save, False
                next_save, saved_frames = now + SAVE_EVERY, engine.frames
                self._save()
                if asked:
                    self._status(not self.cache_outage.down)
        self._drain()
        self._check_drops(self.clock(), final=True)
        return f"stopped by {self.flags.why}"

    def _drain(self, rounds: int = 64) -> None:
        """Frames the kernel queued before the stop signal are still checked (a bounded
        number of rounds, so that a flood cannot keep ndpmon from stopping)."""
        for _ in range(rounds):
            batches = self.capture.read(0)
            if not batches:
                return
            self._handle(batches)

    def _handle(self, batches) -> None:
        """Run one read's batches (router lanes first) through the pipeline, timed."""
        if not batches:
            return
        started = time.perf_counter()
        for iface, batch in batches:
            self._count(self.pipeline.feed(iface, batch))
        self.busy += time.perf_counter() - started

    @property
    def alerts(self) -> dict[Priority, int]:
        """Alerts raised so far, by priority."""
        return {priority: sum(counts.values()) for priority, counts in self.raised.items()}

    def _count(self, alerts: list[Alert]) -> None:
        raised = self.raised
        for alert in alerts:
            raised[alert.priority][alert.reason] += 1

    def _save(self) -> None:
        """Start a save of the cache (written in the background: ndpmon.run.cachesave).
        A save that failed (the previous background write, or this one) is an outage:
        logged once, then rarely, one ``output failure`` alert, and monitoring goes on.
        Then garbage is collected off the frame path (session.tune_gc): the young
        generations each time, all of them at most every FULL_GC_EVERY seconds (a full
        collection walks every neighbour: 0.65 s at the default caps, bench_cache.py)."""
        try:
            self.save_cache()
        except NdpmonError as exc:
            self._cache_failed(exc)
        else:
            if self.save_outcome is None:  # saved at once
                self.cache_outage.recovered()
        now = self.clock()
        if now >= self._next_full_gc:
            self._next_full_gc = now + FULL_GC_EVERY
            gc.collect()
        else:
            gc.collect(1)

    def _check_saves(self) -> None:
        """How the last background save ended, once (every DROPS_EVERY)."""
        if self.save_outcome is None:
            return
        finished, failure = self.save_outcome()
        if finished == self._saves_seen:
            return
        self._saves_seen = finished
        if failure is not None:
            self._cache_failed(failure)
        else:
            self.cache_outage.recovered()

    def _cache_failed(self, exc: NdpmonError) -> None:
        if self.cache_outage.failed(exc):
            probe = next(iter(self.pipeline.engine.probes), "")
            alert = Alert(self.wallclock(), probe, Priority.HIGH, reasons.OUTPUT_FAILURE,
                          self.cache_outage.message(exc))
            self._count(self.pipeline.raise_alerts([alert]))
            self._count(self.pipeline.flush())

    def _status(self, saved: bool = True) -> None:
        """SIGUSR1: one line on what the run has done, then the plugins' counters."""
        engine = self.pipeline.engine
        log.info("SIGUSR1: writing the neighbour cache%s; %d frames, %d high and %d low "
                 "priority alerts so far", "" if saved else " (the last save FAILED)",
                 engine.frames, self.alerts[Priority.HIGH], self.alerts[Priority.LOW])
        self.pipeline.hooks("status")

    def _reload(self) -> None:
        """SIGHUP: open the output files again (whatever the config), then swap in the
        new config only if it loads and validates."""
        self.pipeline.reopen()
        if self.reload_config is None or self.pipeline.engine.learning:
            log.warning("SIGHUP: reload is not possible in learning mode; ignored")
            return
        try:
            config = self.reload_config()
        except NdpmonError as exc:
            log.error("SIGHUP: %s; keeping the running config", exc)
            return
        self.pipeline.reload(config)
        if self.on_reload is not None:  # the kernel settings of <ignor_autoconf>
            self.on_reload(config)
        captured = list(getattr(self.capture, "ports", ()))
        for probe in config.probes:
            if probe.type == "interface" and captured and not is_fed(probe.name, captured):
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
                self._count(self.pipeline.flush())

    def _check_drops(self, now: float, final: bool = False) -> None:
        """Frames the kernel dropped (a lane's buffer was full) raise a ``capture drops``
        alert: the first at once, then at most one per interface and rate window, with
        the drops since the previous alert, per lane; at the end (``final``) the drops
        not yet reported."""
        for iface, lanes in self.capture.drops_since_last().items():
            pending = self._unreported.setdefault(iface, {})
            for lane, dropped in lanes.items():
                if dropped > 0:
                    pending[lane] = pending.get(lane, 0) + dropped
        window = self.pipeline.engine.config.settings.limits.rate_window or DROPS_EVERY
        for iface, pending in self._unreported.items():
            if pending and (final or now >= self._next_drop_alert.get(iface, now)):
                self._next_drop_alert[iface] = now + window
                self._unreported[iface] = {}
                self._raise_drops(iface, pending)

    def _raise_drops(self, iface: str, lanes: dict[str, int]) -> None:
        """One ``capture drops`` alert for ``iface``, delivered now (the actions are
        flushed: no frame may come to flush them)."""
        dropped = sum(lanes.values())
        total = self.drops[iface] = self.drops.get(iface, 0) + dropped
        by_lane = ", ".join(f"{lane} {n}" for lane, n in sorted(lanes.items()))
        message = (f"capture drops on {iface}: the kernel dropped {dropped} frames "
                   f"({total} since start; by lane: {by_lane})")
        log.warning("%s", message)
        alert = Alert(self.wallclock(), iface, Priority.HIGH, reasons.CAPTURE_DROPS, message,
                      extra={"dropped": dropped, "since_start": total, "lanes": dict(lanes)})
        self._count(self.pipeline.raise_alerts([alert]))
        self._count(self.pipeline.flush())


def default_learn_until(seconds: float | None, clock: Callable[[], float]) -> float | None:
    """The clock value at which ``--learn-for SECONDS`` ends learning."""
    return None if seconds is None else clock() + seconds
