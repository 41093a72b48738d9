"""The plugin contract: what a plugin may do, and when ndpmon calls it.

NDPMon 2.1 compiled its plugins in with configure switches (COMPATIBILITY.md §6.6). Here a plugin
is a Python module in a plugins directory (``plugins/<name>.py``) or an installed entry
point of the ``ndpmon.plugins`` group, exposing one class bound to the name ``Plugin``,
a subclass of ``ndpmon.plugin.Plugin``. It is switched on in config_ndpmon.xml:

    <plugins dir="/etc/ndpmon/plugins">            (dir is optional)
      <plugin name="mac_resolv">
        <param name="database" value="/usr/share/ieee-data"/>
      </plugin>
    </plugins>

A plugin may add checks (pure functions of the message and the probe's context, run by
the engine), look at raw frames before decoding (to ignore some: the engine's only other
call into a plugin), act on each decoded message after the engine (``after``: the I/O
side, e.g. the ND proxy's answers), enrich alerts (add fields before any output sees
them), act on alerts (send packets, write files), report its counters on SIGUSR1
(``status``), and hook the start (``start`` as root, ``started`` once ``--user`` has
taken effect), the end and every save of the neighbour cache. Every
hook has a default that does nothing, so a plugin overrides only what it needs; only the
hooks a plugin overrides are called, so an unused hook costs nothing per frame.

The loader (finding, importing, instantiating plugins; one-line errors naming the
plugin) and the guard that keeps a plugin's bug from stopping the monitor are in
ndpmon.run.plugins: the engine itself stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from ndpmon.checks.alert import Alert
from ndpmon.errors import NdpmonError
from ndpmon.config.model import Config
from ndpmon.codec.message import ND_TYPES, NdMessage

__all__ = ["Plugin", "PluginCheck", "PluginError", "overrides", "known_params"]

class PluginError(NdpmonError):
    """A plugin cannot be loaded or configured; the text starts with ``plugin NAME:``."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"plugin {name}: {message}")


@dataclass(frozen=True)
class PluginCheck:
    """A check a plugin adds to the engine's ordered registry (ndpmon.checks).

    ``func(msg, ctx) -> int`` is called like a core check (ndpmon.checks.registry): it
    returns ``PASS`` (0) or ``STOP`` (2), and STOP stops the packet if ``stop_on_error``;
    any other value (NDPMon's 1, "alerted") counts as PASS. Plugin checks run while
    monitoring, not in learning mode. With ``before`` = None it runs after the
    core checks, and only if none of them stopped the packet (NDPMon's rules, COMPATIBILITY.md
    §3.1 row 21); with ``before`` = the name of a core check (e.g. ``"new_station"``) it
    runs just before each slot of that check, for the types of that slot.
    """

    name: str
    func: Callable[[NdMessage, Any], int]
    types: frozenset[int] = ND_TYPES
    before: str | None = None
    stop_on_error: bool = False
    skip_unspecified: bool = False


class Plugin:
    """Base class of every plugin. Override only the hooks you need.

    ``params`` are the ``<param name value/>`` of the plugin's ``<plugin>`` element;
    ``config`` is the whole validated config. Raise ``ValueError`` (or PluginError) in
    ``__init__`` for a bad parameter: the loader reports it as one line.
    """

    #: The name the config switches it on by (set by the loader).
    name = ""
    #: One line for ``--check-config`` and the log.
    description = ""
    #: The ndpmon.engine.engine.Engine running the plugin (set when the engine is built):
    #: ``engine.probes[name]`` is a probe's state, ``engine.live`` says whether frames
    #: come from interfaces (True) or a capture file.
    engine: Any = None
    #: With ``--user``, ndpmon drops root after ``start``: a plugin that sends frames
    #: opens its packet socket in ``start`` (enough for any interface, see the
    #: countermeasures plugin); one that must open sockets later sets this to True, and
    #: CAP_NET_RAW is kept (ndpmon.run.privs).
    needs_net_raw = False

    def __init__(self, params: Mapping[str, str], config: Config) -> None:
        self.params = dict(params)
        self.config = config

    def checks(self) -> Sequence[PluginCheck]:
        """Checks to add to the engine (pure: no I/O, time comes in ``ctx.now``)."""
        return ()

    def frame(self, probe: str, now: float, frame: bytes) -> bool:
        """See a raw frame before it is decoded; True drops it (no check runs on it).
        Called inside the engine: a quick, pure filter (no I/O). ``probe`` names the
        interface the frame was captured on (a trunk for a tagged frame, whose VLAN
        probe is ``<probe>.<VLAN id>``: ndpmon.config.vlans)."""
        return False

    def after(self, probe: str, now: float, msg: NdMessage) -> None:
        """Act on an ND message seen on ``probe`` at ``now``, after the engine has run
        its checks on it (``msg`` is the message the engine decoded: nothing is decoded
        twice; ``probe``: the capture interface, as in ``frame``; ``msg.vlan``: the
        VLAN). Called by the pipeline, not the engine, for every decoded ND message not
        dropped by a ``frame`` hook, also in learning mode; may do I/O (the ND proxy
        answers here), must be quick."""

    def enrich(self, alert: Alert) -> Alert:
        """Return the alert with more information (e.g. in ``extra``); called once per
        alert, before any output sees it."""
        return alert

    def notify(self, alert: Alert) -> None:
        """Act on an alert (after every output got it); may do I/O, must be quick."""

    def on_cache_save(self, engine: Any) -> None:
        """Called just before the neighbour cache is written (every 60 s while frames
        arrive, on SIGUSR1 and at exit) with the engine and its probes."""

    def cache_saved(self, path: str) -> None:
        """Called just after the neighbour cache was written to ``path`` (same moments
        as ``on_cache_save``); for work that reads the files ndpmon wrote."""

    def tick(self, now: float) -> Sequence[Alert]:
        """Called every 10 s by the live loop (in the capture thread; never in a replay)
        with the wall-clock time: alerts to raise about the plugin's own state, which
        go through every output like the others (the store's ``store drops``). Quick."""
        return ()

    def status(self) -> None:
        """SIGUSR1: log your counters (one or a few lines); called by the live loop
        after the neighbour cache was written."""

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: the new config (already validated) replaces the old."""
        self.config = config

    def start(self) -> None:
        """Called once before the first frame (live: while ndpmon is still root, before
        ``--user`` takes effect): open what needs root (a packet socket), and nothing
        else: no thread (root cannot be dropped with threads running), no connection,
        no file of the user's."""

    def started(self) -> None:
        """Called once after every plugin's ``start``, once ndpmon runs as the
        ``--user`` (live: just after the drop; a replay drops before ``start``): start
        threads, connect to servers and open files here, as that user."""

    def stop(self) -> None:
        """Called once at the end; release what ``start`` and ``started`` took."""


def known_params(params: Mapping[str, str], known: Iterable[str]) -> None:
    """Raise ValueError for a ``<param>`` the plugin does not know (a typo would
    otherwise be silently ignored)."""
    names = sorted(known)
    for name in params:
        if name not in names:
            raise ValueError(f"unknown <param name={name!r}> (known: "
                             f"{', '.join(names) or 'none'})")


def overrides(plugin: Plugin, hook: str) -> bool:
    """Does ``plugin`` define ``hook`` itself (rather than inherit the no-op)?"""
    return getattr(type(plugin), hook) is not getattr(Plugin, hook)
