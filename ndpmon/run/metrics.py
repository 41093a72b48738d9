"""Prometheus metrics of a live run, served over HTTP (``<metrics listen>``, README "Metrics").

The capture loop must not pay for them per frame, nor take a lock per frame. So the
counters stay what they are (plain ints and Counters the engine, the live loop, the
outputs and the store already keep), and on the loop's periodic tick (``Monitor.observe``,
every DROPS_EVERY = 0.5 s) ``Source.publish`` reads them into one immutable ``Snapshot``
and publishes it with one attribute assignment. A scrape, in the HTTP server's thread,
reads the newest snapshot (``Collector``), asks the kernel whether each captured
interface is up, and lets prometheus_client write the exposition format, with its
process collector's figures (CPU, memory, open files). Nothing of the packets is exposed
beyond counts; labels name interfaces, lanes, probes, reasons, outputs and actions.

The socket is bound before ``--user`` drops root (a port below 1024 works) and after
``-D`` detaches; its thread starts after the drop (root cannot be dropped while threads
run: ndpmon.run.privs). prometheus_client is imported only here, and this module only
when ``<metrics>`` is set.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from ndpmon import __version__
from ndpmon.alerts.dispatch import Dispatcher
from ndpmon.alerts.guard import Guarded
from ndpmon.alerts.summary import Summarised
from ndpmon.config.model import Metrics
from ndpmon.errors import ConfigError
from ndpmon.store.sync import StoreSync
from ndpmon.store.writer import KINDS

__all__ = ["METRICS", "Snapshot", "Source", "Collector", "Server", "start", "is_loopback"]

log = logging.getLogger("ndpmon")

#: Every ndpmon metric: name (without ``ndpmon_`` and a counter's ``_total``) ->
#: (type, help, label names). A family without samples is still listed (HELP, TYPE).
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "build_info": ("gauge", "Always 1; the version of ndpmon", ("version",)),
    "last_update_timestamp_seconds": (
        "gauge", "When the capture loop last published these figures (Unix time)", ()),
    "interface_up": ("gauge", "1 if a captured interface is up and has a carrier",
                     ("interface",)),
    "capture_frames": ("counter", "Frames a capture lane's kernel filter passed to ndpmon",
                       ("interface", "lane")),
    "capture_drops": ("counter", "Frames the kernel dropped: the lane's buffer was full",
                      ("interface", "lane")),
    "frames": ("counter", "Frames handled (decoded and checked), every probe", ()),
    "probe_messages": ("counter", "ND messages handled on a probe (a VLAN probe's own)",
                       ("probe",)),
    "frames_not_nd": ("counter", "Frames handled that were not an ND message, by reason",
                      ("reason",)),
    "frames_ignored": ("counter", "Frames a plugin asked to ignore", ()),
    "frames_unmonitored": ("counter", "Frames no probe is for (a VLAN without its probe)",
                           ("interface",)),
    "alerts": ("counter", "Alerts raised", ("reason", "priority")),
    "alerts_held_back": ("counter", "Alerts held back by the flood summariser (local: "
                         "stderr, alerts.xml, JSON lines) or delivery's dedupe and burst",
                         ("stage",)),
    "alert_summaries": ("counter", "Summaries of held back alerts written locally", ()),
    "output_failures": ("counter", "Failed writes of a local output", ("output",)),
    "output_lost_alerts": ("counter", "Alerts a failing local output lost", ("output",)),
    "delivery_sent": ("counter", "Alerts an action delivered", ("action",)),
    "delivery_failed": ("counter", "Alerts an action failed to deliver", ("action",)),
    "delivery_overflow": ("counter", "Alerts not delivered: the delivery queue was full", ()),
    "delivery_queue_length": ("gauge", "Alerts waiting in the delivery queue", ()),
    "neighbors": ("gauge", "Neighbours in a probe's cache", ("probe",)),
    "addresses": ("gauge", "Global addresses in a probe's cache", ("probe",)),
    "neighbor_evictions": ("counter", "Neighbours evicted by <limits max_neighbors>",
                           ("probe",)),
    "address_evictions": ("counter", "Addresses evicted by <limits max_addresses>",
                          ("probe",)),
    "cache_last_save_timestamp_seconds": (
        "gauge", "When the neighbour cache was last written (Unix time)", ()),
    "cache_save_failures": ("counter", "Failed writes of the neighbour cache", ()),
    "plugin_failures": ("counter", "Plugin hooks that raised", ()),
    "store_up": ("gauge", "1 if the store's database is reachable", ()),
    "store_queue_rows": ("gauge", "Rows waiting for the store's database", ()),
    "store_rows_written": ("counter", "Rows written into the store", ("kind",)),
    "store_rows_dropped": ("counter", "Rows dropped: the store's queue was full",
                           ("kind",)),
    "store_rows_rejected": ("counter", "Rows the store's database refused", ()),
    "store_outages": ("counter", "Connections to the store's database lost", ()),
}

Samples = tuple[tuple[tuple[str, ...], float], ...]  # ((label values, value), ...)


@dataclass(frozen=True)
class Snapshot:
    """The figures at one tick: metric name -> samples, and the captured interfaces."""

    families: tuple[tuple[str, Samples], ...] = ()
    interfaces: tuple[str, ...] = ()


def _one(value: float | None) -> Samples:
    return () if value is None else (((), value),)


def _by(items: Iterable[tuple[Any, float]]) -> Samples:
    """Samples of one label from ``(value, count)`` pairs."""
    return tuple(((str(key),), count) for key, count in items)


class Source:
    """What the metrics read, gathered in the capture thread: the live loop ``monitor``
    (ndpmon.run.live.Monitor), its pipeline, engine and capture, and the cache ``saver``
    (ndpmon.run.cachesave.CacheSaver)."""

    def __init__(self, monitor: Any, saver: Any = None, listening: Metrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.monitor, self.saver, self.clock = monitor, saver, clock
        self.listening = listening
        self._config = monitor.pipeline.engine.config
        self.snapshot = Snapshot()
        self.publish()

    def publish(self) -> None:
        """(The capture thread, every tick.) Take a snapshot; one assignment makes it
        the one scrapes read."""
        self._check_reload()
        families = (*self._engine(), *self._capture(), *self._alerts(), *self._outputs(),
                    *self._store())
        self.snapshot = Snapshot(families, tuple(getattr(self.monitor.capture, "ports", ())))

    def _check_reload(self) -> None:
        config = self.monitor.pipeline.engine.config
        if config is not self._config:
            self._config = config
            if config.settings.metrics != self.listening:
                log.warning("SIGHUP: <metrics> changed; restart ndpmon to serve the "
                            "metrics there")

    def _engine(self) -> Iterator[tuple[str, Samples]]:
        engine, monitor = self.monitor.pipeline.engine, self.monitor
        yield "last_update_timestamp_seconds", _one(self.clock())
        yield "frames", _one(engine.frames)
        yield "frames_not_nd", _by(sorted(engine.not_nd.items()))
        yield "frames_ignored", _one(engine.dropped)
        unmonitored: dict[str, int] = {}
        for (iface, _vid), count in list(engine.unmonitored.items()):
            unmonitored[iface] = unmonitored.get(iface, 0) + count
        yield "frames_unmonitored", _by(sorted(unmonitored.items()))
        states = list(engine.probes.values())
        yield "probe_messages", tuple(((s.name,), s.messages) for s in states)
        yield "neighbors", tuple(((s.name,), len(s.neighbors)) for s in states)
        yield "addresses", tuple(((s.name,), len(s.neighbors.by_ip)) for s in states)
        yield "neighbor_evictions", tuple(
            ((s.name,), s.neighbors.evictions.neighbors) for s in states)
        yield "address_evictions", tuple(
            ((s.name,), s.neighbors.evictions.addresses) for s in states)
        saved = getattr(self.saver, "saved_at", None)
        yield "cache_last_save_timestamp_seconds", _one(saved)
        yield "cache_save_failures", _one(monitor.cache_outage.failures)
        yield "plugin_failures", _one(monitor.pipeline.plugin_failures)

    def _capture(self) -> Iterator[tuple[str, Samples]]:
        lane_stats = getattr(self.monitor.capture, "lane_stats", None)
        stats = lane_stats() if lane_stats is not None else {}
        rows = [(iface, lane, counts) for iface, lanes in stats.items()
                for lane, counts in lanes.items()]
        yield "capture_frames", tuple(((i, lane), c[0]) for i, lane, c in rows)
        yield "capture_drops", tuple(((i, lane), c[1]) for i, lane, c in rows)

    def _alerts(self) -> Iterator[tuple[str, Samples]]:
        yield "alerts", tuple(((reason, priority.label), count)
                              for priority, counts in self.monitor.raised.items()
                              for reason, count in sorted(counts.items()))
        held, summaries = [], None
        for action in self.monitor.pipeline.actions:
            if isinstance(action, Summarised):
                held.append((("local",), action.held_back))
                summaries = action.summaries
            elif isinstance(action, Dispatcher):
                held.append((("delivery",), action.held_back))
        yield "alerts_held_back", tuple(held)
        yield "alert_summaries", _one(summaries)

    def _outputs(self) -> Iterator[tuple[str, Samples]]:
        guarded, delivery = [], None
        for action in self.monitor.pipeline.actions:
            if isinstance(action, Summarised):
                guarded += [s for s in action.sinks if isinstance(s, Guarded)]
            elif isinstance(action, Guarded):
                guarded.append(action)
            elif isinstance(action, Dispatcher):
                delivery = action
        yield "output_failures", tuple(((g.name,), g.outage.failures) for g in guarded)
        yield "output_lost_alerts", tuple(((g.name,), g.outage.lost) for g in guarded)
        tally: dict[str, tuple[int, int]] = {}  # "pipe PROGRAM" is "pipe": no path shown
        for label, (sent, failed) in (delivery.by_action() if delivery else {}).items():
            kind = label.split(" ", 1)[0]
            before = tally.get(kind, (0, 0))
            tally[kind] = (before[0] + sent, before[1] + failed)
        yield "delivery_sent", tuple(((kind,), n[0]) for kind, n in sorted(tally.items()))
        yield "delivery_failed", tuple(((kind,), n[1]) for kind, n in sorted(tally.items()))
        counters = delivery.counters() if delivery is not None else {}
        yield "delivery_overflow", _one(counters.get("overflow"))
        yield "delivery_queue_length", _one(counters.get("queued"))

    def _store(self) -> Iterator[tuple[str, Samples]]:
        stores = [p for p in self.monitor.pipeline.engine.plugins if isinstance(p, StoreSync)]
        if not stores:
            return
        writer = stores[0].writer
        counters = writer.counters()
        yield "store_up", _one(int(writer.down_since is None))
        yield "store_queue_rows", _one(counters["queued"])
        yield "store_rows_written", _by((k, counters[f"written_{k}"]) for k in KINDS)
        yield "store_rows_dropped", _by((k, counters[f"dropped_{k}"]) for k in KINDS)
        yield "store_rows_rejected", _one(counters["rejected"])
        yield "store_outages", _one(counters["outages"])


# -- the scrape side (the HTTP server's threads) ---------------------------------------------

SIOCGIFFLAGS, IFF_UP, IFF_RUNNING = 0x8913, 0x1, 0x40
_IFREQ = struct.Struct("16sH22x")


def interface_up(name: str) -> bool:
    """Is ``name`` administratively up with a carrier (operstate up)? False if gone."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            reply = fcntl.ioctl(sock, SIOCGIFFLAGS, _IFREQ.pack(name.encode(), 0))
    except OSError:
        return False
    flags = _IFREQ.unpack(reply)[1]
    return flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING


def _family(name: str, samples: Samples) -> Any:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    kind, doc, labels = METRICS[name]
    make = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
    family = make(f"ndpmon_{name}", doc, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


class Collector:
    """A prometheus_client collector of ``source``'s newest snapshot (registered in a
    private CollectorRegistry: ``collect`` is all the registry asks of it)."""

    def __init__(self, source: Source, up: Callable[[str], bool] = interface_up) -> None:
        self.source, self.up = source, up

    def collect(self) -> Iterator[Any]:
        snap = self.source.snapshot  # one read: the loop may publish the next meanwhile
        found = dict(snap.families)
        found["build_info"] = (((__version__,), 1),)
        found["interface_up"] = tuple(((i,), int(self.up(i))) for i in snap.interfaces)
        for name in METRICS:
            yield _family(name, found.get(name, ()))


def registry_of(source: Source) -> Any:
    """A private registry: ndpmon's collector and prometheus_client's process and
    platform collectors (nothing registered in the library's global registry)."""
    from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(source))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


# -- the HTTP server -------------------------------------------------------------------------

#: Scrapes served at once (a further connection is closed at once), and the seconds a
#: client may take to send its request.
MAX_CLIENTS, CLIENT_TIMEOUT = 4, 10.0


class _Handler(WSGIRequestHandler):
    """No access log (a scrape every 15 s would fill it), no version in ``Server``."""

    server_version, sys_version, timeout = "ndpmon", "", CLIENT_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _HTTPServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per scrape, at most MAX_CLIENTS; bound without name lookups."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's would look up the name
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _app(registry: Any) -> Callable:
    """prometheus_client's WSGI app on ``/metrics`` (and ``/``); 404 elsewhere."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry)

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in ("/metrics", "/"):
            return metrics(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: the metrics are at /metrics\n"]

    return app


def is_loopback(host: str) -> bool:
    """Is ``host`` (an IP address) reachable from this host only?"""
    return ipaddress.ip_address(host).is_loopback


class Server:
    """The metrics endpoint of ``settings`` over ``source``: bound at once (as root,
    before ``--user`` drops it), served from ``serve()`` on (after the drop)."""

    def __init__(self, settings: Metrics, source: Source, path: str = "") -> None:
        self.settings, self.source = settings, source
        self._thread: threading.Thread | None = None
        where = _where(settings)
        try:
            self.httpd = _HTTPServer(settings.host, settings.port)
        except OSError as exc:
            raise ConfigError(path, settings.line, f"<metrics listen>: cannot listen on "
                              f"{where}: {exc.strerror or exc}") from None
        self.httpd.set_app(_app(registry_of(source)))
        if not is_loopback(settings.host):
            log.warning("metrics: listening on %s, reachable from other hosts; keep it "
                        "behind a firewall or a reverse proxy (README \"Metrics\")", where)

    def serve(self) -> None:
        """Start the server's thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.5,),
                                        name="ndpmon-metrics", daemon=True)
        self._thread.start()
        log.info("metrics: http://%s/metrics", _where(self.settings))

    def close(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()


def _where(settings: Metrics) -> str:
    return f"[{settings.host}]:{settings.port}" if ":" in settings.host else \
        f"{settings.host}:{settings.port}"


def start(monitor: Any, saver: Any) -> Server | None:
    """The metrics server of the monitor's ``<metrics>`` (None without one), bound and
    hooked on the loop's tick; ``serve()`` it once root is dropped."""
    wanted = monitor.pipeline.engine.config.settings.metrics
    if wanted is None:
        return None
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(monitor.pipeline.engine.config.path, wanted.line,
                          "<metrics>: needs the Python package prometheus_client "
                          "(Debian: python3-prometheus-client)") from None
    source = Source(monitor, saver, wanted)
    server = Server(wanted, source, monitor.pipeline.engine.config.path)
    monitor.observe = source.publish
    return server


