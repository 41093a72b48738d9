"""The I/O shell around the engine: files in, frames through, alerts out, cache saved.

This is where the pure core meets the world: it loads the config and the neighbour cache,
feeds frames from a source to ``Engine.handle`` with their own timestamps, hands alerts to
the actions, and saves the cache atomically at the end.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from ndpmon.formats import cache as cachefile
from ndpmon.config import loader as configmod
from ndpmon.alerts.action import Action
from ndpmon.alerts.console import Console
from ndpmon.alerts.jsonlines import JsonLines
from ndpmon.checks.alert import Alert, Priority
from ndpmon.formats.alertsxml import AlertsXml
from ndpmon.config.writeback import write_learned
from ndpmon.alerts.dispatch import Dispatcher
from ndpmon.engine.engine import Engine
from ndpmon.capture.sysctl import apply_ignor_autoconf
from ndpmon.errors import NdpmonError
from ndpmon.config.model import Config, Probe
from ndpmon.run.live import Monitor, default_learn_until
from ndpmon.engine.plugin import load_plugins, overrides
from ndpmon.capture.replay import read_batches
from ndpmon.store.sync import store_plugins

__all__ = ["load_config", "check_cache", "prepare", "replay", "live", "live_config",
           "Summary", "Pipeline"]

log = logging.getLogger("ndpmon")


def tune_gc() -> None:
    """Keep the garbage collector off the per-frame path.

    A flood creates a neighbour per frame, and every automatic full collection walks
    all of them: with 100k neighbours that cost a third of the replay time (bench/).
    The state holds no reference cycles, so young collections are made rarer and full
    ones are left to explicit ``gc.collect()`` calls at quiet moments; a replay needs
    none.
    """
    gc.set_threshold(50_000, 20, 1_000_000)


def load_config(path: str, dtd: str | None = None) -> Config:
    """Load and validate config_ndpmon.xml (errors are ConfigError one-liners)."""
    return configmod.load(path, dtd)


def _remote(config: Config) -> set[str]:
    return {p.name for p in config.probes if p.type == "remote"}


def check_cache(config: Config, path: str) -> None:
    """Load the plugins and the neighbour cache into throw-away state, to validate them."""
    engine = Engine(config, plugins=load_plugins(config) + store_plugins(config))
    cachefile.load_cache(path, _caches(engine), _remote(config))


def save_cache(engine: Engine, path: str) -> None:
    """Write the neighbour cache between the plugins' ``on_cache_save`` and
    ``cache_saved`` hooks."""
    _plugin_hook(engine, "on_cache_save", engine)
    cachefile.save_cache(path, _caches(engine))
    _plugin_hook(engine, "cache_saved", path)


def _plugin_hook(engine: Engine, hook: str, *args) -> None:
    """Call ``hook`` on every plugin defining it; a plugin's bug must not lose the cache."""
    for plugin in engine.plugins:
        if overrides(plugin, hook):
            try:
                getattr(plugin, hook)(*args)
            except Exception as exc:
                log.error("plugin %s: %s failed: %s: %s", plugin.name, hook,
                          type(exc).__name__, exc)


def _caches(engine: Engine):
    return {name: state.neighbors for name, state in engine.probes.items()}


@dataclass
class Summary:
    """What a run did, printed on stderr at the end."""

    source: str
    frames: int = 0
    nd: int = 0
    alerts: dict[Priority, int] = field(default_factory=lambda: {p: 0 for p in Priority})
    seconds: float = 0.0

    def count(self, engine: Engine, started: float) -> None:
        """Take the engine's frame counts and the time since ``started`` (perf_counter)."""
        self.seconds = time.perf_counter() - started
        self.frames = engine.frames
        self.nd = engine.frames - sum(engine.not_nd.values())

    def __str__(self) -> str:
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.source}: {self.frames} frames ({self.nd} ND messages) in "
                f"{self.seconds:.2f} s ({rate:,.0f} frames/s): "
                f"{self.alerts[Priority.HIGH]} high and {self.alerts[Priority.LOW]} low "
                f"priority alerts")


class Pipeline:
    """Engine + actions: what replay and live capture drive frame by frame.

    The engine's plugins enrich every alert before the actions see it, act on it after
    them, and are started before and stopped after the actions.
    """

    def __init__(self, engine: Engine, actions: Iterable[Action]) -> None:
        self.engine = engine
        self.actions = list(actions)
        plugins = engine.plugins
        self._enrich = [p for p in plugins if overrides(p, "enrich")]
        self._act = [p for p in plugins if overrides(p, "notify")]
        self.plugin_failures = 0

    def start(self, between: Callable[[], None] | None = None) -> None:
        """Start the plugins, call ``between`` (``--user`` drops root there), then
        start the actions (so that files are opened and programs run as that user)."""
        for plugin in self.engine.plugins:
            plugin.start()
        if between is not None:
            between()
        for action in self.actions:
            action.start()

    def feed(self, probe: str, frames: Iterable[tuple[float, bytes]]) -> list[Alert]:
        """Run a batch of ``(time, frame)`` seen on ``probe``; return all their alerts."""
        handle, raised = self.engine.handle, []
        for now, frame in frames:
            alerts = handle(probe, now, frame)
            if alerts:
                raised.extend(self.raise_alerts(alerts))
        if raised:
            for action in self.actions:
                action.flush()
        return raised

    def raise_alerts(self, alerts: list[Alert]) -> list[Alert]:
        """Hand alerts to the plugins and the actions; return them as enriched."""
        if self._enrich:
            alerts = [self._enriched(alert) for alert in alerts]
        for alert in alerts:
            for action in self.actions:
                action.notify(alert)
            for plugin in self._act:
                self._guard(plugin, "notify", plugin.notify, alert)
        return alerts

    def _enriched(self, alert: Alert) -> Alert:
        for plugin in self._enrich:
            alert = self._guard(plugin, "enrich", plugin.enrich, alert) or alert
        return alert

    def _guard(self, plugin, hook: str, func, alert: Alert):
        """Call a plugin hook; a plugin's bug is logged (the first and every 1000th
        time), never stops the monitor."""
        try:
            return func(alert)
        except Exception as exc:
            self.plugin_failures += 1
            if self.plugin_failures % 1000 == 1:
                log.error("plugin %s: %s failed on %r: %s: %s (%d failures)", plugin.name,
                          hook, alert.reason, type(exc).__name__, exc, self.plugin_failures)
            return None

    def reload(self, config: Config) -> None:
        """SIGHUP: the engine and the actions that depend on the config take ``config``."""
        loaded = [p.name for p in self.engine.plugins]
        if [spec.name for spec in config.plugins] != loaded:
            log.warning("SIGHUP: the plugins changed; restart ndpmon to load them "
                        "(running: %s)", ", ".join(loaded) or "none")
        self.engine.reload(config)
        for action in self.actions:
            reconfigure = getattr(action, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(config.settings)

    def stop(self) -> None:
        try:
            for action in self.actions:
                action.stop()
        finally:
            for plugin in self.engine.plugins:
                plugin.stop()


def _actions(args: argparse.Namespace, config: Config, deliver: bool) -> list[Action]:
    """The outputs of a run: console, JSON lines, alerts.xml, and (``deliver``) the
    config's syslog, mail and pipe actions behind the delivery queue."""
    if args.learn:
        return []  # learning raises no alerts (REFERENCE §3.3)
    actions: list[Action] = [] if args.quiet else [Console()]
    if args.json_alerts:
        actions.append(JsonLines(args.json_alerts))
    if not args.no_alerts_xml:
        path = args.alerts_xml or os.path.join(
            os.path.dirname(os.path.abspath(args.cache)), "alerts.xml")
        actions.append(_XmlAction(path))
    if deliver:
        actions.append(Dispatcher(config.settings))
    return actions


class _XmlAction(Action):
    """alerts.xml as an action (NDPMon appends every alert there, REFERENCE §2.6)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._xml: AlertsXml | None = None

    def start(self) -> None:
        self._xml = AlertsXml(self.path)

    def notify(self, alert: Alert) -> None:
        self._xml.write((alert,))

    def stop(self) -> None:
        if self._xml is not None:
            self._xml.close()


def _probe_name(config: Config, wanted: list[str] | None) -> str:
    if not wanted:
        if not config.probes:
            raise NdpmonError(f"{config.path}: no <probe> to replay frames on")
        return config.probes[0].name
    if len(wanted) > 1:
        raise NdpmonError("-r takes one -i PROBE: the probe the capture was taken on")
    if config.probe(wanted[0]) is None:
        names = ", ".join(p.name for p in config.probes) or "none"
        raise NdpmonError(f"-i {wanted[0]}: no such probe in {config.path} (probes: {names})")
    return wanted[0]


def _check_writable(path: str) -> None:
    """Fail before any work if the cache could not be saved at the end."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise NdpmonError(f"{path}: cannot write: no directory {folder}")
    if not os.access(folder, os.W_OK):
        raise NdpmonError(f"{path}: cannot write: Permission denied")


def prepare(config: Config, args: argparse.Namespace) -> Engine:
    """A fresh engine with the neighbour cache file loaded into it (before a live run
    detaches, so that a broken cache or an unwritable directory is reported at once)."""
    _check_writable(args.cache)
    if args.learn:
        _check_writable(config.path)
    tune_gc()
    engine = Engine(config, learning=args.learn,
                    plugins=load_plugins(config) + store_plugins(config))
    _warn_plugins_off(config, engine)
    cachefile.load_cache(args.cache, _caches(engine), _remote(config))
    return engine


def _warn_plugins_off(config: Config, engine: Engine) -> None:
    """Rules and countermeasures in the config do nothing without their plugin."""
    loaded = {p.name for p in engine.plugins}
    for probe in config.probes:
        if probe.rules and "rules" not in loaded:
            log.warning("probe %s has <rules>, but the rules plugin is not switched on "
                        "(<plugins><plugin name=\"rules\"/></plugins>)", probe.name)
        if probe.countermeasures_enabled and "countermeasures" not in loaded:
            log.warning("probe %s has <countermeasures_enabled>1, but the countermeasures "
                        "plugin is not switched on", probe.name)


def _finish(engine: Engine, args: argparse.Namespace) -> None:
    """Write what must survive the run: the cache, and in learning mode the routers."""
    try:
        save_cache(engine, args.cache)
    finally:
        if args.learn:
            learned = engine.learned()
            write_learned(engine.config.path, learned, engine.config)
            routers = sum(len(r) for r in learned.values())
            log.info("learning: wrote %d router%s to %s; review them, then start ndpmon "
                     "without -L", routers, "" if routers == 1 else "s", engine.config.path)


def replay(config: Config, args: argparse.Namespace, pcap: str) -> Summary:
    """``ndpmon -r FILE``: run every frame of a capture, save the cache, summarize."""
    probe = _probe_name(config, args.ifaces)
    engine = prepare(config, args)
    pipeline = Pipeline(engine, _actions(args, config, args.deliver))
    summary = Summary(pcap)
    started = time.perf_counter()
    pipeline.start()
    try:
        for batch in read_batches(pcap):
            for alert in pipeline.feed(probe, batch):
                summary.alerts[alert.priority] += 1
    finally:  # even after a broken frame or output: keep what was learned
        try:
            pipeline.stop()
        finally:
            _finish(engine, args)
    summary.count(engine, started)
    return summary


def live_config(config: Config, ifaces: list[str] | None) -> tuple[Config, list[str]]:
    """The config with a probe for every ``-i IFACE``, and the interfaces to capture.

    Without ``-i`` every ``<probe type="interface">`` is captured; with it, exactly the
    named interfaces, each getting an empty probe if the config has none of its name.
    """
    if not ifaces:
        names = [p.name for p in config.probes if p.type == "interface"]
        if not names:
            raise NdpmonError(f"{config.path}: no <probe type=\"interface\"> to capture "
                              "on; add one or give -i IFACE")
        return config, names
    extra = tuple(Probe(name) for name in dict.fromkeys(ifaces) if config.probe(name) is None)
    for name in ifaces:
        probe = config.probe(name)
        if probe is not None and probe.type != "interface":
            raise NdpmonError(f"-i {name}: {config.path} has it as a remote probe")
    return replace(config, probes=config.probes + extra), list(dict.fromkeys(ifaces))


def live(engine: Engine, args: argparse.Namespace, capture, reload_config,
         drop: Callable[[], None] | None = None) -> Summary:
    """Monitor (or learn) on live interfaces until a signal or ``--learn-for`` ends it.

    ``drop`` (``--user``) is called once the sockets are open and the plugins started,
    before the actions start."""
    config = engine.config
    engine.live = True  # plugins may act on the network (countermeasures)
    engine.captured = tuple(capture.ports)  # the interfaces frames come from (ndproxy)
    apply_ignor_autoconf(list(capture.ports), config.settings.ignor_autoconf)
    pipeline = Pipeline(engine, _actions(args, config, deliver=True))
    monitor = Monitor(pipeline, capture, reload_config=reload_config,
                      save_cache=lambda: save_cache(engine, args.cache),
                      learn_until=default_learn_until(args.learn_for, time.monotonic))
    monitor.flags.install()
    log.info("%s on %s (pid %d)", "learning" if args.learn else "monitoring",
             ", ".join(capture.ports), os.getpid())
    summary = Summary("live: " + ", ".join(capture.ports))
    started = time.perf_counter()
    pipeline.start(drop)
    try:
        why = monitor.run()
        log.info("%s", why)
    finally:
        try:
            pipeline.stop()
        finally:
            capture.close()
            _finish(engine, args)
    summary.count(engine, started)
    summary.alerts = monitor.alerts
    _log_counters(pipeline, capture)
    return summary


def _log_counters(pipeline: Pipeline, capture) -> None:
    """What an admin asks after a run: were frames or alerts lost anywhere?"""
    for iface, (received, dropped) in capture.stats().items():
        log.info("%s: %d frames passed the kernel filter, %d dropped by the kernel",
                 iface, received, dropped)
    for action in pipeline.actions:
        if isinstance(action, Dispatcher):
            log.info("delivery: %s", ", ".join(
                f"{n} {name.replace('_', ' ')}" for name, n in action.counters().items()))
