"""The pure core behind capture and replay: frame bytes + state + time -> alerts.

Live capture and pcap replay both call ``Engine.handle(probe, time, frame)``; nothing here
reads a clock, a socket or a file. The engine also keeps the counters an admin asks for
(frames seen, frames that were not ND and why, alerts per reason) and the cache-limit
alert, raised once when a cap first evicts and then at most once per ``LIMIT_REPORT_EVERY``.

In learning mode (``ndpmon -L``) every valid RA teaches its router (ndpmon.state.learn) before
the checks run, within the ``<limits max_learned_*>`` caps, and a rate window in which the
ND flood check finds a flood of RAs or NAs is undone; the core checks still fill the
neighbour cache (plugin checks do not run), and no alert leaves the engine
(COMPATIBILITY.md §6.3): what learning leaves out, and the floods, become ``notes`` that
the run layer logs.

Plugins (ndpmon.engine.plugin) add checks to the registry and may drop raw frames before they
are decoded (the countermeasures plugin drops the packets it sent itself). Their I/O
hooks (``after``, ``notify``) are called by the pipeline around the engine
(ndpmon.run.pipeline), with the message the engine decoded, kept in ``last``.
"""

from __future__ import annotations

from collections import Counter
from types import MappingProxyType
from typing import Sequence

from ndpmon.checks.alert import Alert, Priority
from ndpmon.checks import CORE, Plans, reasons, run_checks
from ndpmon.codec.decode import decode
from ndpmon.state.learn import Learner
from ndpmon.config.model import Config
from ndpmon.checks.fragments import watch_fragment
from ndpmon.codec.message import NA, RA, Fragment, NdMessage
from ndpmon.engine.plugin import Plugin, overrides
from ndpmon.state.probe import ProbeState

__all__ = ["Engine", "LIMIT_REPORT_EVERY"]

LIMIT_REPORT_EVERY = 3600.0
#: At most this many notes wait for the run layer to log them (``Engine.notes``).
MAX_NOTES = 1000


class Engine:
    """All probes of one ndpmon process and what they have seen."""

    def __init__(self, config: Config, learning: bool = False,
                 plugins: Sequence[Plugin] = ()) -> None:
        self.config = config
        self.learning = learning
        self.plugins = list(plugins)
        self.live = False  # set by the live loop: frames come from interfaces
        #: The interfaces frames are captured on (set by the live run; None in a replay).
        self.captured: tuple[str, ...] | None = None
        #: The message decoded from the last frame handled (None if a plugin dropped it):
        #: the pipeline hands it to the plugins' ``after`` hooks, so nothing decodes twice.
        self.last: NdMessage | Fragment | object | None = None
        for plugin in self.plugins:
            plugin.engine = self
        self.plans = self._plans()
        self._frame_hooks = [p.frame for p in self.plugins if overrides(p, "frame")]
        self.dropped = 0  # frames a plugin asked to ignore
        self.probes: dict[str, ProbeState] = {}
        #: learning mode: what to log (caps reached, floods); the pipeline takes them
        self.notes: list[str] = []
        for probe in config.probes:
            state = self.probes[probe.name] = ProbeState(probe, config.settings)
            if learning:
                state.learner = Learner(probe.name, state.routers, config.settings.limits,
                                        self.notes)
        self.frames = 0
        self.not_nd: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()

    def handle(self, probe: str, now: float, frame: bytes) -> list[Alert]:
        """Decode one frame seen on ``probe`` at ``now`` and run the checks on it."""
        self.frames += 1
        if self._frame_hooks:
            for hook in self._frame_hooks:
                if hook(probe, now, frame):
                    self.dropped += 1
                    self.last = None
                    return []
        self.last = msg = decode(frame)
        if type(msg) is not NdMessage:
            self.not_nd[msg.reason] += 1
            if type(msg) is not Fragment or self.learning:
                return []
            state = self.probes[probe]
            return self._count(watch_fragment(msg, state.fragments, state.name, now))
        state = self.probes[probe]
        if self.learning:
            return self._learn(msg, state, now)
        alerts = run_checks(msg, state, now, self.plans)
        ev = state.neighbors.evictions
        if ev.neighbors != ev.reported_neighbors or ev.addresses != ev.reported_addresses:
            alerts = alerts + self._limit_alert(state, now)
        if alerts:  # _count, inline: most frames raise none
            counts = self.reasons
            for alert in alerts:
                counts[alert.reason] += 1
        return alerts

    def _count(self, alerts: list[Alert]) -> list[Alert]:
        for alert in alerts:
            self.reasons[alert.reason] += 1
        return alerts

    def _learn(self, msg: NdMessage, state: ProbeState, now: float) -> list[Alert]:
        """Learning mode: learn routers (RA) and their addresses (NA) first (a learned
        router's RA then reaches the neighbour cache), run the checks (they fill the
        cache), raise nothing; a window the flood check finds flooded is undone."""
        learner, rates = state.learner, state.rates
        if not rates.start <= now < rates.end:  # the checks open a new rate window
            learner.window_closed()
        if msg.type == RA or msg.type == NA:
            state.learned(learner.offer(msg))
        for alert in run_checks(msg, state, now):
            if alert.reason != reasons.ND_FLOOD:
                continue
            learned = msg.type == RA or msg.type == NA
            if len(self.notes) < MAX_NOTES:
                self.notes.append(f"learning on {state.name}: {alert.message}" + (
                    "; nothing this window taught is learned" if learned else ""))
            if learned:
                learner.flood()
                state.set_routers(learner.routers)
        return []

    def learned(self) -> dict[str, tuple]:
        """Every interface probe's routers as they are now (configured + learned)."""
        return {name: state.routers for name, state in self.probes.items()
                if state.probe.type == "interface"}

    def learn_report(self) -> list[str]:
        """What learning left out, one line per probe (caps and floods); none if all
        was learned."""
        return [line for state in self.probes.values() if state.learner is not None
                for line in state.learner.report()]

    def reload(self, config: Config) -> None:
        """Swap in a new config (SIGHUP): routers, settings and limits change, the
        neighbour caches stay. Probes new in ``config`` start empty; probes gone from
        it keep their state (their interfaces are still captured until a restart)."""
        for probe in config.probes:
            state = self.probes.get(probe.name)
            if state is None:
                state = self.probes[probe.name] = ProbeState(probe, config.settings)
            else:
                state.configure(probe, config.settings)
            if self.learning:  # the live run refuses SIGHUP while learning; keep in step
                state.learner = Learner(probe.name, state.routers, config.settings.limits,
                                        self.notes)
        self.config = config
        for plugin in self.plugins:
            plugin.reconfigure(config)
        self.plans = self._plans()

    def _plans(self) -> Plans:
        """The check plans with every plugin's checks, or the core ones alone."""
        extra = [check for plugin in self.plugins for check in plugin.checks()]
        return Plans(extra) if extra else CORE

    def _limit_alert(self, state: ProbeState, now: float) -> list[Alert]:
        """One alert when a cap evicts, then at most one per LIMIT_REPORT_EVERY."""
        ev, cache = state.neighbors.evictions, state.neighbors
        if ev.last_report is not None and now - ev.last_report < LIMIT_REPORT_EVERY:
            return []
        nbs = ev.neighbors - ev.reported_neighbors
        addrs = ev.addresses - ev.reported_addresses
        ev.reported_neighbors, ev.reported_addresses = ev.neighbors, ev.addresses
        ev.last_report = now
        message = (f"neighbor cache limit reached on {state.name}: evicted {nbs} of "
                   f"max {cache.max_neighbors} neighbors and {addrs} addresses over "
                   f"max {cache.max_addresses} per neighbor")
        extra = MappingProxyType({"evicted_neighbors": nbs, "evicted_addresses": addrs})
        return [Alert(now, state.name, Priority.HIGH, reasons.CACHE_LIMIT,
                      message, extra=extra)]
