"""The pure core behind capture and replay: frame bytes + state + time -> alerts.

Live capture and pcap replay both call ``Engine.handle(probe, time, frame)``; nothing here
reads a clock, a socket or a file. ``probe`` names where the frame was captured: the
frame feeds that probe's state if it is untagged, and the state of the VLAN probe
``<probe>.<VLAN id>`` (ndpmon.config.vlans) if it carries an 802.1Q/802.1ad tag, so that
the VLANs of a trunk port keep their own routers, neighbours, rates and alerts. A frame
no probe is for (a VLAN without its probe, untagged frames on a trunk with only VLAN
probes) is counted (``unmonitored``) and raises one ``unmonitored VLAN`` alert per VLAN;
in learning mode it makes a new probe for its VLAN instead.

The engine also keeps the counters an admin asks for (frames seen, frames that were not
ND and why, alerts per reason) and the cache-limit alert, raised once when a cap first
evicts and then at most once per ``LIMIT_REPORT_EVERY``.

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
from dataclasses import replace
from types import MappingProxyType
from typing import Sequence

from ndpmon.checks.alert import Alert, Priority, Text
from ndpmon.checks import CORE, Plans, reasons, run_checks
from ndpmon.codec.decode import decode
from ndpmon.state.learn import Learner
from ndpmon.config import vlans
from ndpmon.config.model import Config, Probe, Settings
from ndpmon.checks.fragments import watch_fragment
from ndpmon.codec.message import NA, RA, Fragment, NdMessage
from ndpmon.engine.plugin import Plugin, overrides
from ndpmon.state.probe import ProbeState

__all__ = ["Engine", "LIMIT_REPORT_EVERY"]

LIMIT_REPORT_EVERY = 3600.0
#: At most this many notes wait for the run layer to log them (``Engine.notes``).
MAX_NOTES = 1000
#: At most this many VLANs without a probe raise their ``unmonitored VLAN`` alert in a
#: run (one each); frames of the others are only counted (``Engine.unmonitored``).
MAX_UNMONITORED_ALERTS = 32
#: Learning makes at most this many probes for the VLANs it finds on trunks; they share
#: one probe's ``<limits max_neighbors>`` (each holds its MAX_NEW_PROBES-th part), so
#: that frames sprayed over every VLAN id (a double-tagging attack from the native VLAN
#: reaches any VLAN) cannot make learning keep more than one more probe's neighbours.
MAX_NEW_PROBES = 256
#: The tag protocol ids an outer VLAN tag may have (ndpmon.codec.decode reads the same).
_TAGGED = (0x8100, 0x88A8, 0x9100)


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
        #: (interface, VLAN id) -> the state of the VLAN probe ``interface.VLAN``
        self.vlans: dict[tuple[str, int], ProbeState] = {}
        #: learning mode: what to log (caps reached, floods); the pipeline takes them
        self.notes: list[str] = []
        for probe in config.probes:
            state = self._add(probe)
            if learning:
                state.learner = Learner(probe.name, state.routers, config.settings.limits,
                                        self.notes)
        self.frames = 0
        self.not_nd: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        #: frames no probe is for, by (interface, VLAN id or None: untagged)
        self.unmonitored: Counter[tuple[str, int | None]] = Counter()
        #: the probes learning made for the VLANs it found
        self.new_probes: list[str] = []
        self._full_noted = False

    def _add(self, probe: Probe, settings: Settings | None = None) -> ProbeState:
        """A state for ``probe``, found by its name and, for a VLAN probe, its VLAN."""
        state = self.probes[probe.name] = ProbeState(probe, settings or self.config.settings)
        parts = vlans.split(probe.name) if probe.type == "interface" else None
        if parts is not None:
            self.vlans[parts] = state
        return state

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
            state = self.probes.get(probe) if msg.vlan is None else self._tagged(probe, frame)
            if state is None:
                return self._unmonitored(probe, frame, msg.eth_src, msg.src, now)
            return self._raised(state, watch_fragment(msg, state.fragments, state.name, now))
        state = self.probes.get(probe) if msg.vlan is None else self._tagged(probe, frame)
        if state is None:
            if not self.learning:
                return self._unmonitored(probe, frame, msg.eth_src, msg.src, now)
            state = self._new_probe(probe, frame)
            if state is None:
                return []
        state.messages += 1
        if self.learning:
            return self._learn(msg, state, now)
        alerts = run_checks(msg, state, now, self.plans)
        ev = state.neighbors.evictions
        last = ev.last_report  # the time first: a flood evicts at every frame
        if (last is None or now - last >= LIMIT_REPORT_EVERY) and (
                ev.neighbors != ev.reported_neighbors or ev.addresses != ev.reported_addresses):
            alerts = alerts + self._limit_alert(state, now)
        if alerts:  # _raised, inline: most frames raise none
            if state.label is not None:
                alerts = _labelled(state.label, alerts)
            counts = self.reasons
            for alert in alerts:
                counts[alert.reason] += 1
        return alerts

    def _tagged(self, probe: str, frame: bytes) -> ProbeState | None:
        """The state a tagged frame captured on ``probe`` feeds: its outer tag's VLAN
        probe (a priority tag, VLAN id 0: ``probe``'s own), or None."""
        vid = (frame[14] << 8 | frame[15]) & 0x0FFF
        return self.vlans.get((probe, vid)) if vid else self.probes.get(probe)

    def _raised(self, state: ProbeState, alerts: list[Alert]) -> list[Alert]:
        """``alerts`` raised on ``state``: named for its VLAN, counted."""
        if alerts and state.label is not None:
            alerts = _labelled(state.label, alerts)
        return self._count(alerts)

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

    def _unmonitored(self, probe: str, frame: bytes, mac: bytes, src: bytes,
                     now: float) -> list[Alert]:
        """A frame captured on ``probe`` that no probe is for: counted; the first of its
        VLAN raises one ``unmonitored VLAN`` alert (the first MAX_UNMONITORED_ALERTS
        VLANs only)."""
        vid = _vid(frame)
        key = (probe, vid)
        seen = self.unmonitored[key]
        self.unmonitored[key] = seen + 1
        if seen or len(self.unmonitored) > MAX_UNMONITORED_ALERTS:
            return []
        if vid is None:
            what, its, name = f"the untagged frames on {probe}", "their", probe
        else:
            what, its, name = f"VLAN {vid} on {probe}", "its", vlans.join(probe, vid)
        fix = f"add <probe name=\"{name}\"> to monitor them"
        if vid is not None and vlans.split(name) is None:  # probe is a VLAN's own
            fix = f"{probe} is a VLAN probe: a trunk's capture is replayed with -i TRUNK"
        message = f"no probe for {what}: {its} ND messages are not checked; {fix}"
        extra = MappingProxyType({"interface": probe, "vlan": vid})
        return self._count([Alert(now, probe, Priority.LOW, reasons.UNMONITORED_VLAN,
                                  message, mac, None, src, extra)])

    def _new_probe(self, probe: str, frame: bytes) -> ProbeState | None:
        """Learning: a new probe for the VLAN of a frame captured on ``probe`` (untagged:
        ``probe`` itself), at most MAX_NEW_PROBES, with their share of the neighbour
        cache (the routers it learns are not bounded by it). None (the frame counted in
        ``unmonitored``) past that, or for a VLAN on a VLAN probe's sub-interface (one
        level of tags is named: ndpmon.config.vlans)."""
        vid = _vid(frame)
        name = probe if vid is None else vlans.join(probe, vid)
        full = len(self.new_probes) >= MAX_NEW_PROBES
        if full or (vid is not None and vlans.split(name) != (probe, vid)):
            if full and not self._full_noted:
                self._full_noted = True
                self.notes.append(f"learning: no new probe past {MAX_NEW_PROBES} VLANs; "
                                  "the frames of the others are not learned")
            self.unmonitored[(probe, vid)] += 1
            return None
        settings = self.config.settings
        limits = settings.limits
        share = replace(limits, max_neighbors=max(limits.max_neighbors // MAX_NEW_PROBES, 1))
        state = self._add(Probe(name), replace(settings, limits=share))
        state.learner = Learner(name, state.routers, limits, self.notes)
        self.new_probes.append(name)
        if len(self.notes) < MAX_NOTES:
            where = f"VLAN {vid} on {probe}" if vid is not None else f"untagged {probe}"
            self.notes.append(f"learning: new probe {name} for {where}")
        return state

    def drop_unlearned(self) -> list[str]:
        """The end of learning: forget the probes it made that learned no router (they
        are not written into the config, so their neighbours must not be saved either);
        return their names."""
        gone = [name for name in self.new_probes if not self.probes[name].routers]
        for name in gone:
            del self.probes[name]
            parts = vlans.split(name)
            if parts is not None:
                self.vlans.pop(parts, None)
        self.new_probes = [name for name in self.new_probes if name not in gone]
        return gone

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
        self.config = config
        for probe in config.probes:
            state = self.probes.get(probe.name)
            if state is None:
                state = self._add(probe)  # a new VLAN probe is fed at once
            else:
                state.configure(probe, config.settings)
            if self.learning:  # the live run refuses SIGHUP while learning; keep in step
                state.learner = Learner(probe.name, state.routers, config.settings.limits,
                                        self.notes)
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


def _vid(frame: bytes) -> int | None:
    """The VLAN id of a frame's outer tag; None if untagged or priority-tagged (id 0)."""
    if (frame[12] << 8 | frame[13]) not in _TAGGED:
        return None
    return ((frame[14] << 8 | frame[15]) & 0x0FFF) or None


def _labelled(label: str, alerts: list[Alert]) -> list[Alert]:
    """The alerts of a VLAN probe, their messages prefixed with ``VLAN<n>: `` as the
    802.1Q fork of NDPMon wrote them (made when read, as the message itself)."""
    return [alert._replace(message=Text(_prefix, label, alert[4])) for alert in alerts]


def _prefix(label: str, message: object) -> str:
    return label + str(message)
