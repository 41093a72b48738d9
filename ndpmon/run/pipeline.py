"""The pipeline: the engine, then the plugins' I/O hooks, then the outputs, per frame.

Replay and the live loop both drive ``Pipeline.feed``. For each frame the engine (pure)
decodes and checks; the plugins that act on messages (``after``: the ND proxy answers
there) get the message the engine decoded; the alerts are enriched by the plugins,
handed to every action, then to the plugins' ``notify``. Every plugin hook goes through
one PluginGuard (ndpmon.run.plugins): a plugin's bug is logged, never stops the monitor.
After each batch the outputs that summarise floods (ndpmon.alerts.summary) are told the
time of its last frame (``expire``), so their windows run on capture time.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable

from ndpmon.alerts.action import Action
from ndpmon.checks.alert import Alert
from ndpmon.codec.message import NdMessage
from ndpmon.config.model import Config
from ndpmon.engine.engine import Engine
from ndpmon.engine.plugin import Plugin, PluginError, overrides
from ndpmon.run.plugins import PluginGuard, plugin_names

__all__ = ["Pipeline", "LATE"]

log = logging.getLogger("ndpmon")

#: An alert raised more than this many seconds after its frame was captured (a backlog
#: in a live run) carries the time it was raised (``Alert.raised``) besides its own.
LATE = 1.0


def _no_new_thread(plugin: Plugin, before: set[threading.Thread]) -> None:
    new = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    if new:
        raise PluginError(plugin.name, f"start() left thread {', '.join(new)} running, so "
                          "--user cannot drop root; a plugin starts its threads in "
                          "started() (plugins/README.md)")


def _stamp_late(alerts: list[Alert], when: float) -> list[Alert]:
    """The alerts, those raised more than LATE s after their time stamped ``when``
    (``raised`` is the last field: a backlog stamps every alert, so no ``_replace``)."""
    new = tuple.__new__
    return [new(Alert, a[:-1] + (when,)) if when - a.time > LATE else a for a in alerts]


def _late_before(wallclock: Callable[[], float] | None) -> tuple[float, float]:
    """(``when``, the capture time before which a frame's alerts are LATE at ``when``):
    the wall clock is read once per batch (the frames of one batch are handled within
    milliseconds); without one (a replay) nothing is late."""
    if wallclock is None:
        return 0.0, float("-inf")
    when = wallclock()
    return when, when - LATE


class Pipeline:
    """Engine + actions: what replay and live capture drive frame by frame.

    The engine's plugins see each decoded message after the engine, enrich every alert
    before the actions see it, act on it after them, and are started before and
    stopped after the actions.
    """

    def __init__(self, engine: Engine, actions: Iterable[Action],
                 guard: PluginGuard | None = None) -> None:
        self.engine = engine
        self.actions = list(actions)
        self.guard = guard or PluginGuard()
        plugins = engine.plugins
        self._after = [p for p in plugins if overrides(p, "after")]
        self._enrich = [p for p in plugins if overrides(p, "enrich")]
        self._act = [p for p in plugins if overrides(p, "notify")]
        self._expiring = [a for a in self.actions if callable(getattr(a, "expire", None))]
        #: live runs set the wall clock: alerts raised LATE after their frame say when
        self.wallclock: Callable[[], float] | None = None

    @property
    def plugin_failures(self) -> int:
        """Plugin hooks that raised so far."""
        return self.guard.total

    def start(self, between: Callable[[], None] | None = None) -> None:
        """Start the plugins (live: as root, for their packet sockets), call ``between``
        (``--user`` drops root there), then the plugins' ``started`` (threads,
        connections) and the actions (files opened, programs run): as that user.

        A plugin whose ``start`` leaves a thread running before ``between`` is refused
        (PluginError, one line): root cannot be dropped with threads running."""
        plugins = self.engine.plugins
        for plugin in plugins:
            before = set(threading.enumerate())
            plugin.start()
            if between is not None:
                _no_new_thread(plugin, before)
        if between is not None:
            between()
        for plugin in plugins:
            if overrides(plugin, "started"):
                plugin.started()
        for action in self.actions:
            action.start()

    def feed(self, probe: str, frames: Iterable[tuple[float, bytes]]) -> list[Alert]:
        """Run a batch of ``(time, frame)`` seen on ``probe``; return all their alerts."""
        engine, raised = self.engine, []
        handle, after = engine.handle, self._after
        now = None
        if after or self._enrich or self._act:
            when, late = _late_before(self.wallclock)
            for now, frame in frames:
                alerts = handle(probe, now, frame)
                if after and type(engine.last) is NdMessage:
                    self._after_engine(probe, now, engine.last)
                if alerts:
                    if now < late:
                        alerts = _stamp_late(alerts, when)
                    raised.extend(self.raise_alerts(alerts))
        else:
            now = self._feed_plain(probe, frames, raised)
        return self._after_batch(now, raised)

    def _feed_plain(self, probe: str, frames: Iterable[tuple[float, bytes]],
                    raised: list[Alert]) -> float | None:
        """``feed`` without plugin hooks (the usual run): ``raise_alerts`` inline, the
        same calls in the same order; the last frame's time."""
        handle, now = self.engine.handle, None
        notifies = [action.notify for action in self.actions
                    if not getattr(action, "idle", False)]  # idle: it would ignore them
        when, late = _late_before(self.wallclock)
        for now, frame in frames:
            alerts = handle(probe, now, frame)
            if alerts:
                if now < late:
                    alerts = _stamp_late(alerts, when)
                for alert in alerts:
                    for notify in notifies:
                        notify(alert)
                raised += alerts
        return now

    def _after_batch(self, now: float | None, raised: list[Alert]) -> list[Alert]:
        """The end of a batch: learning's notes logged, the summaries due written."""
        engine = self.engine
        if engine.notes:  # learning: caps reached, floods (no alerts while learning)
            for note in engine.notes:
                log.warning("%s", note)
            engine.notes.clear()
        if (now is not None and self._close_windows(now)) or raised:
            raised.extend(self.flush())
        return raised

    def expire(self, now: float) -> list[Alert]:
        """The time is ``now`` (live: the wall clock): the outputs write the summaries
        of the windows that ended by then; returns what ``flush`` returns."""
        return self.flush() if self._close_windows(now) else []

    def _close_windows(self, now: float) -> bool:
        """Tell the summarising outputs the time; True if one has summaries to write."""
        closed = False
        for action in self._expiring:
            closed = action.expire(now) or closed
        return closed

    def reopen(self) -> None:
        """SIGHUP: the outputs open their files again (after a log rotation)."""
        for action in self.actions:
            reopen = getattr(action, "reopen", None)
            if reopen is not None:
                reopen()

    def flush(self) -> list[Alert]:
        """Flush every action (the files are written), then raise the alerts the outputs
        raise about themselves (``output failure``: ndpmon.alerts.guard) and return them.

        A report can make another output fail in turn, whose report is raised in the
        next round; each output reports once per outage, so this ends."""
        raised: list[Alert] = []
        for _ in range(len(self.actions) + 1):
            for action in self.actions:
                action.flush()
            reports = [alert for action in self.actions
                       for alert in getattr(action, "take_reports", list)()]
            if not reports:
                break
            raised.extend(self.raise_alerts(reports))
        return raised

    def _after_engine(self, probe: str, now: float, msg: NdMessage) -> None:
        for plugin in self._after:
            self.guard.call(plugin, "after", probe, now, msg)

    def raise_alerts(self, alerts: list[Alert]) -> list[Alert]:
        """Hand alerts to the plugins and the actions; return them as enriched."""
        if self._enrich:
            alerts = [self._enriched(alert) for alert in alerts]
        call = self.guard.call
        for alert in alerts:
            for action in self.actions:
                action.notify(alert)
            for plugin in self._act:
                call(plugin, "notify", alert, about=alert.reason)
        return alerts

    def _enriched(self, alert: Alert) -> Alert:
        for plugin in self._enrich:
            alert = self.guard.call(plugin, "enrich", alert, about=alert.reason) or alert
        return alert

    def reload(self, config: Config) -> None:
        """SIGHUP: the engine and the actions that depend on the config take ``config``."""
        loaded = [p.name for p in self.engine.plugins]
        if plugin_names(config) != loaded:
            log.warning("SIGHUP: the plugins changed; restart ndpmon to load them "
                        "(running: %s)", ", ".join(loaded) or "none")
        self.engine.reload(config)
        for action in self.actions:
            reconfigure = getattr(action, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(config.settings)

    def hooks(self, hook: str, *args: object) -> None:
        """Call ``hook`` on every plugin defining it (``on_cache_save``, ``status``...),
        guarded."""
        for plugin in self.engine.plugins:
            if overrides(plugin, hook):
                self.guard.call(plugin, hook, *args)

    def stop(self) -> None:
        try:
            for action in self.actions:
                action.stop()
        finally:
            for plugin in self.engine.plugins:
                plugin.stop()
