"""A run of ndpmon from start to end: prepare, replay or capture live, finish.

This is where the pure core meets the world: it loads the config, the plugins and the
neighbour cache, feeds frames from a pcap file (``replay``) or the live loop (``live``,
ndpmon.run.live) through a Pipeline (ndpmon.run.pipeline) with their own timestamps, and
at the end saves the cache atomically (and in learning mode the routers into the
config). What the run writes and where is its RunOptions' (ndpmon.run.options); the
outputs are built by ndpmon.run.outputs.
"""

from __future__ import annotations

import gc
import logging
import os
import time
import weakref
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from ndpmon.alerts.dispatch import Dispatcher
from ndpmon.capture.replay import read_batches
from ndpmon.capture.sysctl import Keeper, Sysctls
from ndpmon.checks.alert import Priority
from ndpmon.config import legacy
from ndpmon.config import loader as configmod
from ndpmon.config import vlans
from ndpmon.config.model import Config, Probe
from ndpmon.config.writeback import write_learned
from ndpmon.engine.engine import Engine
from ndpmon.errors import NdpmonError
from ndpmon.formats import cache as cachefile
from ndpmon.run import privs
from ndpmon.run.cachesave import CacheSaver
from ndpmon.run.live import Monitor, default_learn_until
from ndpmon.run.options import RunOptions
from ndpmon.run.outputs import build_outputs
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.plugins import PluginGuard, load_all
from ndpmon.run.trunk import capture_plan, log_plan, log_unmonitored

__all__ = ["load_config", "warn_config", "check_cache", "prepare", "replay", "live",
           "live_config", "save_cache", "tune_gc", "Summary", "CacheSaver"]

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


def warn_config(config: Config) -> None:
    """Log what the config asks for that ndpmon does differently or not at all
    (ndpmon.config.legacy): at start and with --check-config."""
    for line in legacy.start_warnings(config):
        log.warning("%s", line)


def check_cache(config: Config, path: str, account: privs.Account | None = None) -> None:
    """Load the plugins and the neighbour cache into throw-away state, to validate them
    (the cache as ``account``, the ``--user``: it is that user's file)."""
    warn_config(config)
    engine = Engine(config, plugins=load_all(config))
    with privs.acting_as(account):
        cachefile.load_cache(path, _caches(engine), _remote(config), [])


#: Each engine's cache entries of probes its config does not have, written back as
#: they were at every save (ndpmon.formats.cache.Kept).
_KEPT: weakref.WeakKeyDictionary[Engine, list[cachefile.Kept]] = weakref.WeakKeyDictionary()


def _saver(engine: Engine, path: str, guard: PluginGuard | None = None) -> CacheSaver:
    """The saver of ``engine``'s cache, with the probes kept from its file."""
    return CacheSaver(engine, path, guard, kept=_KEPT.setdefault(engine, []))


def save_cache(engine: Engine, path: str, guard: PluginGuard | None = None) -> None:
    """Write the neighbour cache now, between the plugins' ``on_cache_save`` and
    ``cache_saved`` hooks (a plugin's bug must not lose the cache: ``guard``). The
    live loop saves in the background instead (ndpmon.run.cachesave)."""
    _saver(engine, path, guard).save()


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
    #: live: the seconds spent handling frames (a replay is busy all the time: None)
    busy: float | None = None
    #: learning: the probes frames came from that have no router after it
    no_router: list[str] = field(default_factory=list)

    def count(self, engine: Engine, started: float) -> None:
        """Take the engine's frame counts and the time since ``started`` (perf_counter)."""
        self.seconds = time.perf_counter() - started
        self.frames = engine.frames
        self.nd = engine.frames - sum(engine.not_nd.values())

    def __str__(self) -> str:
        busy = self.seconds if self.busy is None else self.busy
        rate = self.frames / busy if busy > 0 else 0.0
        speed = f"{rate:,.0f} frames/s"
        if self.busy is not None:  # a live run waits most of the time
            speed = f"busy {self.busy:.2f} s, {speed} while busy"
        return (f"{self.source}: {self.frames} frames ({self.nd} ND messages) in "
                f"{self.seconds:.2f} s ({speed}): "
                f"{self.alerts[Priority.HIGH]} high and {self.alerts[Priority.LOW]} low "
                f"priority alerts")


def _probe_name(config: Config, wanted: list[str] | None) -> str:
    """Where the replayed frames were captured: ``-i``, a probe or the trunk of VLAN
    probes (its tagged frames feed them), else the first probe."""
    if not wanted:
        if not config.probes:
            raise NdpmonError(f"{config.path}: no <probe> to replay frames on")
        return config.probes[0].name
    if len(wanted) > 1:
        raise NdpmonError("-r takes one -i PROBE: the probe the capture was taken on")
    trunks = {parts[0] for parts in map(vlans.split, (p.name for p in config.probes)) if parts}
    if config.probe(wanted[0]) is None and wanted[0] not in trunks:
        names = ", ".join(p.name for p in config.probes) or "none"
        raise NdpmonError(f"-i {wanted[0]}: no such probe in {config.path} (probes: {names})")
    return wanted[0]


def _check_writable(path: str) -> None:
    """Fail before any work if the cache could not be saved at the end (checked with
    the effective ids: as the user inside ``privs.acting_as``)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise NdpmonError(f"{path}: cannot write: no directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK, effective_ids=True):
        raise NdpmonError(f"{path}: cannot write: Permission denied")


def prepare(config: Config, options: RunOptions, writes_config: bool = True) -> Engine:
    """A fresh engine with the neighbour cache file loaded into it (before a live run
    detaches, so that a broken cache or an unwritable directory is reported at once).
    ``writes_config``: this process writes the learned config (not root's writer).
    The cache is the ``--user``'s file: it is checked and read as that user
    (``privs.acting_as``), also while ndpmon is still root."""
    account = options.account
    with privs.acting_as(account):
        _check_writable(options.cache)
    if options.learn and writes_config:
        _check_writable(config.path)
    tune_gc()
    warn_config(config)
    engine = Engine(config, learning=options.learn, plugins=load_all(config))
    _warn_plugins_off(config, engine)
    kept = _KEPT[engine] = []
    with privs.acting_as(account):
        cachefile.load_cache(options.cache, _caches(engine), _remote(config), kept)
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


#: Writes the learned routers into the config (``--user``: root's writer,
#: ndpmon.run.learnwriter); by default, this process does.
WriteConfig = Callable[[Mapping[str, tuple]], None]


def _finish(pipeline: Pipeline, options: RunOptions, write_config: WriteConfig | None,
            probes: Sequence[str], saver: CacheSaver | None = None) -> list[str]:
    """Write what must survive the run: the cache (at once, ``saver`` cancelling its
    save in the background), and in learning mode the routers; return the ``probes``
    (those frames came from) that have no router after learning."""
    engine = pipeline.engine
    for name in engine.drop_unlearned() if options.learn else ():
        log.warning("learning: probe %s saw ND but no router: not written (add <probe "
                    "name=\"%s\"> to monitor it)", name, name)
    learned = None
    try:
        (saver or _saver(engine, options.cache, pipeline.guard)).save()
    finally:
        if options.learn:
            learned = _write_learned(engine, write_config)
    return [] if learned is None else _no_router(engine, learned, probes)


def _write_learned(engine: Engine, write_config: WriteConfig | None) -> Mapping[str, tuple]:
    """Learning: say what was left out, write the routers into the config."""
    learned = engine.learned()
    for line in engine.notes + engine.learn_report():
        log.warning("%s", line)
    engine.notes.clear()
    if write_config is None:
        write_learned(engine.config.path, learned, engine.config)
    else:
        write_config(learned)
    routers = sum(len(r) for r in learned.values())
    log.info("learning: wrote %d router%s to %s; review them, then start ndpmon "
             "without -L", routers, "" if routers == 1 else "s", engine.config.path)
    return learned


#: Said when a probe has no router after learning (its name, the frames of the run).
NO_ROUTER = ("learning: NO ROUTER on {probe} ({frames} frames seen in all): monitoring it "
             "now would raise 'wrong ipv6 router' for every RA. Check that {probe} is the "
             "interface that sees the LAN, that it gets the LAN's multicast (a switch "
             "mirror port; a Linux bridge port with multicast snooping and MAC learning "
             "off) and that the routers advertise (radvd running; RAs come every few "
             "minutes: learn longer), then learn again. (On a LAN without IPv6 routers "
             "that is what you want: every RA there is a rogue one.)")


def _no_router(engine: Engine, learned: Mapping[str, tuple],
               probes: Sequence[str]) -> list[str]:
    """The probes without a router after learning, each logged as an error (a trunk
    counts as having one when a VLAN probe read from it learned one: issue 17)."""
    fed = {vlan[0] for name, routers in learned.items()
           if routers and (vlan := vlans.split(name)) is not None}
    empty = [name for name in dict.fromkeys(probes)
             if not learned.get(name) and name not in fed]
    for name in empty:
        log.error("%s", NO_ROUTER.format(probe=name, frames=engine.frames))
    return empty


def replay(config: Config, options: RunOptions,
           write_config: WriteConfig | None = None) -> Summary:
    """``ndpmon -r FILE``: run every frame of a capture, save the cache, summarize."""
    pcap = options.replay
    assert pcap is not None, "a replay needs -r FILE"
    probe = _probe_name(config, list(options.ifaces))
    engine = prepare(config, options, writes_config=write_config is None)
    pipeline = Pipeline(engine, build_outputs(options, config))
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
            summary.no_router = _finish(pipeline, options, write_config, [probe])
    summary.count(engine, started)
    log_unmonitored(engine.unmonitored)
    return summary


def live_config(config: Config, ifaces: Sequence[str] | None) -> tuple[Config, list[str]]:
    """The config with a probe for every ``-i IFACE``, and the interfaces to capture.

    Without ``-i`` every ``<probe type="interface">`` is captured; with it, exactly the
    named interfaces, each getting an empty probe if the config has none of its name.
    A VLAN probe (``eth0.105``) is read from its trunk or its own interface
    (ndpmon.run.trunk); the VLAN probes of a captured trunk are fed its tagged frames.
    """
    if not ifaces:
        names = [p.name for p in config.probes if p.type == "interface"]
        if not names:
            raise NdpmonError(f"{config.path}: no <probe type=\"interface\"> to capture "
                              "on; add one or give -i IFACE")
        return config, capture_plan(names)
    extra = tuple(Probe(name) for name in dict.fromkeys(ifaces) if config.probe(name) is None)
    for name in ifaces:
        probe = config.probe(name)
        if probe is not None and probe.type != "interface":
            raise NdpmonError(f"-i {name}: {config.path} has it as a remote probe")
    return replace(config, probes=config.probes + extra), capture_plan(ifaces)


def live(engine: Engine, options: RunOptions, capture, reload_config,
         drop: Callable[[], None] | None = None,
         write_config: WriteConfig | None = None) -> Summary:
    """Monitor (or learn) on live interfaces until a signal or ``--learn-for`` ends it.

    ``drop`` (``--user``) is called once the sockets are open and the plugins started,
    before the actions start."""
    engine.live = True  # plugins may act on the network (countermeasures)
    engine.captured = tuple(capture.ports)  # the interfaces frames come from (ndproxy)
    # <ignor_autoconf>: applied now, restored at the end (and by the keeper if we die)
    keeper = Keeper(Sysctls(list(capture.ports)))
    keeper.start(engine.config.settings.ignor_autoconf)
    server = None
    try:
        monitor, saver = _monitor(engine, options, capture, reload_config, keeper)
        server = _metrics(monitor, saver)  # bound as root, before the drop
        summary = Summary("live: " + ", ".join(capture.ports))
        started = time.perf_counter()
        monitor.pipeline.start(drop)
        if server is not None:
            server.serve()  # its thread starts after the drop
    except BaseException:  # nothing ran: give the host its settings back
        keeper.close()
        if server is not None:
            server.close()
        raise
    pipeline = monitor.pipeline
    try:
        log.info("%s", monitor.run())
    finally:
        if server is not None:
            server.close()
        saver.cancel()  # no save in the background while the plugins stop
        try:
            pipeline.stop()
        finally:
            capture.close()
            keeper.close()
            summary.no_router = _finish(pipeline, options, write_config, capture.ports,
                                        saver)
    summary.count(engine, started)
    summary.alerts, summary.busy = monitor.alerts, monitor.busy
    _log_counters(pipeline, capture)
    log_unmonitored(engine.unmonitored)
    return summary


def _monitor(engine: Engine, options: RunOptions, capture, reload_config,
             keeper: Keeper) -> tuple[Monitor, CacheSaver]:
    """The live loop over a new pipeline, its signals routed to it (a SIGHUP's
    ``<ignor_autoconf>`` goes to ``keeper``), and its cache saver (the save at the end
    cancels a save still being written)."""
    pipeline = Pipeline(engine, build_outputs(options, engine.config))
    saver = _saver(engine, options.cache, pipeline.guard)
    monitor = Monitor(pipeline, capture, reload_config=reload_config,
                      save_cache=saver.save_in_background, save_outcome=saver.outcome,
                      learn_until=default_learn_until(options.learn_for, time.monotonic),
                      on_reload=lambda new: keeper.apply(new.settings.ignor_autoconf))
    monitor.flags.install()
    log_plan([p.name for p in engine.config.probes if p.type == "interface"],
             list(capture.ports))
    log.info("%s on %s (pid %d)", "learning" if options.learn else "monitoring",
             ", ".join(capture.ports), os.getpid())
    return monitor, saver


def _metrics(monitor: Monitor, saver: CacheSaver):
    """The ``<metrics>`` server (ndpmon.run.metrics, imported only then), or None."""
    if monitor.pipeline.engine.config.settings.metrics is None:
        return None
    from ndpmon.run import metrics

    return metrics.start(monitor, saver)


def _log_counters(pipeline: Pipeline, capture) -> None:
    """What an admin asks after a run: were frames or alerts lost anywhere?"""
    lanes = capture.lane_stats() if hasattr(capture, "lane_stats") else {}
    for iface, (received, dropped) in capture.stats().items():
        by_lane = ", ".join(f"{lane} {r}/{d}" for lane, (r, d) in lanes.get(iface, {}).items())
        log.info("%s: %d frames passed the kernel filter, %d dropped by the kernel%s",
                 iface, received, dropped, f" (received/dropped by lane: {by_lane})"
                 if dropped else "")
    for action in pipeline.actions:
        if isinstance(action, Dispatcher):
            log.info("delivery: %s", action.summary())
