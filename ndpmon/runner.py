"""The I/O shell around the engine: files in, frames through, alerts out, cache saved.

This is where the pure core meets the world: it loads the config and the neighbour cache,
feeds frames from a source to ``Engine.handle`` with their own timestamps, hands alerts to
the actions, and saves the cache atomically at the end.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import dataclass, field
from typing import Iterable

from . import cachefile, config as configmod
from .actions import Action
from .actions.console import Console
from .actions.jsonlines import JsonLines
from .alert import Alert, Priority
from .alertlog import AlertsXml
from .engine import Engine
from .errors import NdpmonError
from .model import Config
from .replay import read_batches

__all__ = ["load_config", "check_cache", "replay", "Summary", "Pipeline"]


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
    """Load the neighbour cache into throw-away state, to validate it."""
    engine = Engine(config)
    cachefile.load_cache(path, _caches(engine), _remote(config))


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

    def __str__(self) -> str:
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        return (f"ndpmon: {self.source}: {self.frames} frames ({self.nd} ND messages) in "
                f"{self.seconds:.2f} s ({rate:,.0f} frames/s): "
                f"{self.alerts[Priority.HIGH]} high and {self.alerts[Priority.LOW]} low "
                f"priority alerts")


class Pipeline:
    """Engine + actions: what replay (and later live capture) drives frame by frame."""

    def __init__(self, engine: Engine, actions: Iterable[Action]) -> None:
        self.engine = engine
        self.actions = list(actions)

    def start(self) -> None:
        for action in self.actions:
            action.start()

    def feed(self, probe: str, frames: Iterable[tuple[float, bytes]]) -> list[Alert]:
        """Run a batch of ``(time, frame)`` seen on ``probe``; return all their alerts."""
        handle, raised = self.engine.handle, []
        for now, frame in frames:
            alerts = handle(probe, now, frame)
            if alerts:
                raised.extend(alerts)
                for alert in alerts:
                    for action in self.actions:
                        action.notify(alert)
        return raised

    def stop(self) -> None:
        for action in self.actions:
            action.stop()


def _actions(args: argparse.Namespace) -> list[Action]:
    actions: list[Action] = [] if args.quiet else [Console()]
    if args.json_alerts:
        actions.append(JsonLines(args.json_alerts))
    if not args.no_alerts_xml:
        path = args.alerts_xml or os.path.join(
            os.path.dirname(os.path.abspath(args.cache)), "alerts.xml")
        actions.append(_XmlAction(path))
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


def _probe_name(config: Config, wanted: str | None) -> str:
    if wanted is None:
        if not config.probes:
            raise NdpmonError(f"{config.path}: no <probe> to replay frames on")
        return config.probes[0].name
    if config.probe(wanted) is None:
        names = ", ".join(p.name for p in config.probes) or "none"
        raise NdpmonError(f"-i {wanted}: no such probe in {config.path} (probes: {names})")
    return wanted


def _check_writable(path: str) -> None:
    """Fail before any work if the cache could not be saved at the end."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise NdpmonError(f"{path}: cannot write: no directory {folder}")
    if not os.access(folder, os.W_OK):
        raise NdpmonError(f"{path}: cannot write: Permission denied")


def replay(config: Config, args: argparse.Namespace, pcap: str) -> Summary:
    """``ndpmon -r FILE``: run every frame of a capture, save the cache, summarize."""
    probe = _probe_name(config, args.probe)
    _check_writable(args.cache)
    tune_gc()
    engine = Engine(config)
    cachefile.load_cache(args.cache, _caches(engine), _remote(config))
    pipeline = Pipeline(engine, _actions(args))
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
            cachefile.save_cache(args.cache, _caches(engine))
    summary.seconds = time.perf_counter() - started
    summary.frames = engine.frames
    summary.nd = engine.frames - sum(engine.not_nd.values())
    return summary
