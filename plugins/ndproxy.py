# ndpmon.plugin.description = an npd6-compatible ND proxy that can answer only for live neighbours
"""ndproxy: answer Neighbor Solicitations on a gateway's outside interfaces, as npd6 does.

Switched on with ``<plugin name="ndproxy">`` and npd6's keys as ``<param>``s (or
``npd6_conf`` naming an npd6.conf), or with ``ndpmon --npd6-conf FILE``. The decision
is ndpmon.proxy.decide.decide (pure); this module is the I/O around it:

* ``after`` gets every ND message after the engine has checked it (the message the
  engine decoded): an NS on an outside interface is decided on, and answered from a
  packet socket on that interface (only while capturing live). Frames the proxy sent
  are remembered by SHA-1 and dropped by the ``frame`` hook if another captured
  interface on the same link sees them (ndpmon.capture.send).
* Counters (answered, ignored per reason) are logged at exit and on SIGUSR1 (the
  ``status`` hook); the targets answered (npd6's collectTargets, at most that many) are
  written to ``targets_file`` (one line per target: address, interface, answers, first
  and last time) at every save of the neighbour cache and at exit, and logged on
  SIGUSR1 when there is no file.
* SIGHUP reads the settings again (also the npd6.conf); bad settings are logged and the
  running ones kept.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from ndpmon.errors import WriteError
from ndpmon.files.atomic import write_atomic
from ndpmon.codec.addr import UNSPECIFIED, ip_short, is_link_local
from ndpmon.proxy.decide import REASONS, Answer, Iface, NaBuilder, decide, flags
from ndpmon.codec.message import NdMessage
from ndpmon.proxy.npd6conf import NPD6_KEYS, OWN_KEYS, ProxySettings, from_params
from ndpmon.plugin import Plugin as Base, PluginError, known_params
from ndpmon.capture.send import PacketSender, SentFrames, addresses

log = logging.getLogger("ndpmon")

NS_TYPE = 135


class Target:
    """A target answered: where, how often, first and last time."""

    __slots__ = ("iface", "count", "first", "last")

    def __init__(self, iface: str, now: float) -> None:
        self.iface, self.count, self.first, self.last = iface, 0, now, now


class NdProxy(Base):
    description = "ND proxy (npd6-compatible), optionally only for neighbours seen alive"

    def __init__(self, params, config):
        super().__init__(params, config)
        known_params(params, NPD6_KEYS + OWN_KEYS)
        self.settings = self._settings(config)
        self.sender = None
        self.ifaces: dict[str, Iface] = {}
        self.sent = SentFrames()
        self.builder = NaBuilder()
        self.answered = 0
        self.ignored: Counter[str] = Counter()
        self.send_errors = 0
        self.targets: dict[bytes, Target] = {}

    def _settings(self, config) -> ProxySettings:
        """The settings from the config's ``<plugin name="ndproxy">`` (ValueError)."""
        spec = next((s for s in config.plugins if s.name == "ndproxy"), None)
        params = dict(spec.params) if spec is not None else dict(self.params)
        settings = from_params(params, str(Path(config.path).resolve().parent))
        names = {p.name for p in config.probes}
        for iface in settings.interfaces + settings.inside:
            if iface not in names:
                raise ValueError(f"interface {iface} is not a probe of {config.path} "
                                 f"(add <probe name=\"{iface}\" type=\"interface\"/> "
                                 f"or -i {iface})")
        if settings.discovery is not None and not settings.inside:
            raise ValueError("discovery needs the inside probes (<param name=\"inside\">)")
        return settings

    # -- life cycle -------------------------------------------------------------

    def start(self) -> None:
        captured = getattr(self.engine, "captured", None)
        if captured is not None:
            missing = [i for i in self.settings.interfaces if i not in captured]
            if missing:
                raise PluginError("ndproxy", f"outside interface {missing[0]} is not "
                                             f"captured (add -i {missing[0]})")
        if self.sender is None and self.engine is not None and self.engine.live:
            self.sender = PacketSender()
            try:
                self.sender.open()  # now, while ndpmon may still be root (--user)
            except OSError as exc:
                raise PluginError("ndproxy", f"cannot open a packet socket: "
                                             f"{exc.strerror or exc}") from None
        if self.sender is not None:
            self.refresh()
            self._warm()
        else:
            log.info("ndproxy: not capturing live, no answer is sent")
        s = self.settings
        log.info("ndproxy: answering on %s%s", ", ".join(
            f"{p.iface} for {ip_short(p.prefix)}/{p.length}" for p in s.pairs),
            f"; discovery: only for neighbours seen on {', '.join(s.inside)} within "
            f"{s.discovery:g} s" if s.discovery is not None else "")

    def refresh(self) -> None:
        """Read the outside interfaces' MAC and addresses again (at start, every save
        of the cache, SIGHUP): an address added later is then known to ignoreLocal."""
        for name in self.settings.interfaces:
            try:
                mac = self.sender.mac(name)
            except OSError as exc:
                log.warning("ndproxy: %s: %s", name, exc.strerror or exc)
                continue
            self.ifaces[name] = _iface(name, mac, addresses(name))

    def _warm(self) -> None:
        """Build the NA templates now (scapy's import takes a good part of a second),
        so that the first answer is as quick as the others."""
        for iface in self.ifaces.values():
            for tlla in (False, True):
                answer = Answer(iface.name, bytes(6), UNSPECIFIED, UNSPECIFIED, UNSPECIFIED,
                                flags(self.settings), tlla, self.settings.max_hops)
                self.builder.build(answer, iface.mac)

    def stop(self) -> None:
        self._log_counters()
        self._write_targets()
        if isinstance(self.sender, PacketSender):
            self.sender.close()

    def reconfigure(self, config) -> None:
        """SIGHUP: the new settings (the npd6.conf is read again), or the old ones."""
        super().reconfigure(config)
        try:
            self.settings = self._settings(config)
        except (ValueError, OSError) as exc:
            log.error("ndproxy: SIGHUP: %s; keeping the running settings", exc)
            return
        if self.sender is not None:
            self.refresh()
            self._warm()
        log.info("ndproxy: SIGHUP: %d prefixes on %s", len(self.settings.pairs),
                 ", ".join(self.settings.interfaces))

    # -- frames ---------------------------------------------------------------

    def frame(self, probe: str, now: float, frame: bytes) -> bool:
        """Drop our own answers, seen on another captured interface of the link."""
        return bool(self.sent) and frame in self.sent

    def after(self, probe: str, now: float, msg: NdMessage) -> None:
        """An NS seen on an outside interface: decide, answer (after the engine). As
        npd6, only an untagged NS with ICMPv6 right after the IPv6 header is answered."""
        if (msg.type == NS_TYPE and not msg.ext and msg.vlan is None
                and probe in self.outside):
            self.handle(probe, now, msg)

    @property
    def settings(self) -> ProxySettings:
        return self._settings_now

    @settings.setter
    def settings(self, value: ProxySettings) -> None:
        self._settings_now = value
        self.outside = frozenset(value.interfaces)

    def handle(self, probe: str, now: float, msg: NdMessage) -> None:
        """Decide on one NS seen on outside interface ``probe``; answer or count."""
        iface = self.ifaces.get(probe)
        if iface is None and self.sender is not None:
            self.refresh()  # its MAC could not be read before (interface was gone)
            iface = self.ifaces.get(probe)
            if iface is None:
                self.ignored["interface unknown"] += 1
                return
        iface = iface or _iface(probe, bytes(6), ())  # a replay: nothing is sent
        caches = [self.engine.probes[name].neighbors for name in self.settings.inside
                  if name in self.engine.probes] if self.settings.discovery else ()
        result = decide(msg, iface, self.settings, caches, now)
        if isinstance(result, str):
            self.ignored[result] += 1
            if self.settings.listlogging and result in ("blacklisted", "not whitelisted"):
                log.info("ndproxy: %s: NS for %s %s", probe, ip_short(msg.target), result)
            return
        self.answered += 1
        self._collect(result.target, probe, now)
        if self.settings.listlogging and self.settings.listtype == "white":
            log.info("ndproxy: %s: NS for %s whitelisted", probe, ip_short(msg.target))
        if self.sender is None:
            return
        frame = self.builder.build(result, iface.mac)
        self.sent.remember(frame)
        try:
            self.sender.send(probe, frame)
        except OSError as exc:
            self.send_errors += 1
            if self.send_errors % 1000 == 1:
                log.warning("ndproxy: cannot send on %s: %s (%d errors)", probe,
                            exc.strerror or exc, self.send_errors)

    def _collect(self, target: bytes, iface: str, now: float) -> None:
        entry = self.targets.get(target)
        if entry is None:
            if len(self.targets) >= self.settings.collect_targets:
                return
            entry = self.targets[target] = Target(iface, now)
        entry.count += 1
        entry.last = now

    # -- counters and the listing -------------------------------------------------

    def on_cache_save(self, engine) -> None:
        if self.sender is not None:
            self.refresh()
        self._write_targets()

    def status(self) -> None:
        """SIGUSR1: the counters, and the targets when there is no targets file."""
        self._log_counters()
        if not self.settings.targets_file:
            for line in self.listing():
                log.info("ndproxy: target %s", line)

    def counters(self) -> dict[str, int]:
        """answered, then every ignore reason (REASONS order), zeros included."""
        return {"answered": self.answered, **{r: self.ignored[r] for r in REASONS}}

    def _log_counters(self) -> None:
        log.info("ndproxy: %s", ", ".join(f"{n} {name}" for name, n in
                                          self.counters().items() if n or name ==
                                          "answered"))

    def listing(self) -> list[str]:
        """One line per collected target, sorted by address."""
        return [f"{ip_short(addr)} {t.iface} {t.count} {_iso(t.first)} {_iso(t.last)}"
                for addr, t in sorted(self.targets.items())]

    def _write_targets(self) -> None:
        path = self.settings.targets_file
        if not path:
            return
        text = "".join(line + "\n" for line in self.listing())
        try:  # like every output: no link followed, no directory others write in
            write_atomic(path, text.encode())
        except WriteError as exc:
            log.warning("ndproxy: %s", exc)


def _iface(name: str, mac: bytes, addrs) -> Iface:
    addrs = tuple(addrs)
    lla = next((a for a in addrs if is_link_local(a)), None)
    globals_ = tuple(a for a in addrs if a[0] != 0xFF and not is_link_local(a))
    return Iface(name, mac, lla, frozenset(addrs), globals_)


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


Plugin = NdProxy
