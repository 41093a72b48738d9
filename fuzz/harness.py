"""The whole per-frame path under test: decode, checks, state, and every alert output.

``Target.feed`` runs one frame through ``Engine.handle`` with a realistic config (the
routers of the test scenarios and of the golden capture, so RA checks run deeply) and
formats every alert as the capture thread does (console line, ``--json-alerts``, the
``alerts.xml`` block, which must parse as XML): that is the timed part. Then, untimed,
as the delivery worker does: the mail body, subject and (for some alerts) the whole
mail, the pipe environment and the syslog datagram. ``check_state`` asserts the neighbour
cache and the DAD table stay within their caps and their indices agree; ``roundtrip``
writes the cache (attacker-influenced: it is built from packet data) and reads it back.

A frame that raises or breaks an invariant is a finding. So is a frame that an ordinary
Ethernet link can carry (``MAX_FRAME``) and that takes over ``SLOW_NS`` in
``Engine.handle``, or over ``SLOW_NS`` in the outputs at over ``SLOW_ALERT_NS`` per
alert (each the minimum
of several re-runs with the GC off, so a GC or scheduler pause is not a finding). So is
a frame that raises more than ``MAX_ALERTS`` alerts: NDPMon raised one per wrong item of
an option (477 for one RA), ndpmon raises each reason of an RA once (checks/ra.py).
"""

from __future__ import annotations

import gc
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # conftest.make_config: the test scenarios

from conftest import make_config  # noqa: E402

from fuzz.frames import MAX_FRAME  # noqa: E402
from ndpmon.formats import alertsxml as alertlog  # noqa: E402
from ndpmon.formats import cache as cachefile  # noqa: E402
from ndpmon.alerts import console, jsonlines, mail, mailbody, pipe  # noqa: E402
from ndpmon.alerts.syslog import Syslog  # noqa: E402
from ndpmon.checks.alert import Alert  # noqa: E402
from ndpmon.files.text import printable  # noqa: E402
from ndpmon.state.probe import MAX_DAD  # noqa: E402
from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.config.model import Config, Limits, Settings  # noqa: E402
from ndpmon.state.neighbors import NeighborCache  # noqa: E402

__all__ = ["Target", "fuzz_config", "format_alert", "check_state", "roundtrip", "SLOW_NS",
           "SLOW_ALERT_NS", "MAX_ALERTS"]

SLOW_NS = 1_000_000  # 1 ms per frame through Engine.handle
SLOW_ALERT_NS = 50_000  # 50 us per alert through the capture-thread outputs, when
# they take over 1 ms: a single cold alert may take 100 us, many take about 20 us each
#: Alerts one frame may raise: the 16 (reason, text) pairs of watch_ra, 6 general checks
#: that can fire for the same RA, the cache-limit alert (checks/ra.py, engine/engine.py).
MAX_ALERTS = 24
PROBE = "lan0"
_XML_CHECKS: list[str] = []
_SYSLOG = Syslog("/nonexistent/fuzz-syslog", "LOG_LOCAL1", clock=lambda: 0.0)


def fuzz_config(limits: Limits | None = None) -> Config:
    """One probe knowing every router of the test scenarios and of the golden capture."""
    scenarios = json.loads((ROOT / "tests/data/pcaps/configs.json").read_text())
    routers, seen = [], set()
    for desc in scenarios.values():
        for router in desc.get("routers", ()):
            if router["mac"] not in seen:
                seen.add(router["mac"])
                routers.append(router)
    config = make_config({"routers": routers}, PROBE)
    golden = ROOT.parent / "shared/ndpmon-reference/golden/monitor/config_ndpmon.xml"
    if golden.exists():
        from ndpmon.config.loader import load
        extra = load(str(golden)).probes[0].routers
        probe = config.probes[0]
        config = Config(config.path, settings=config.settings, probes=(
            type(probe)(probe.name, routers=probe.routers + extra),))
    if limits is not None:
        config = Config(config.path, settings=Settings(limits=limits), probes=config.probes)
    return config


def format_alert(alert: Alert) -> None:
    """The outputs written in the capture thread (timed): console, JSON, alerts.xml."""
    text = str(alert)
    assert isinstance(text, str)
    row = jsonlines.json_line(alert)
    assert row.isascii() and len(row.splitlines()) == 1, f"JSON line split: {row!r}"
    out = io.StringIO()
    console.Console(out).notify(alert)
    line = out.getvalue()
    assert line.endswith("\n") and printable(line[:-1]) == line[:-1], \
        f"console line not printable: {line!r}"
    block = alertlog.render_alert(alert)
    _XML_CHECKS.append(block)


def check_delivery(alert: Alert, whole_mail: bool) -> None:
    """The outputs of the delivery worker (not timed): mail, pipe, syslog; and the
    ``alerts.xml`` blocks of ``format_alert`` must parse as XML. Building a whole mail
    with the ``email`` package costs about 1.5 ms, so it is done when asked."""
    body = mailbody.mail_body(alert)
    assert body.count("\n") == 5, f"mail body is not 5 lines: {body!r}"
    subject = mail.subject(alert.message)
    assert printable(subject) == subject, f"subject not printable: {subject!r}"
    if whole_mail:
        mail.mail_message(alert, "root@localhost", "ndpmon@localhost", body).as_bytes()
    env = pipe.alert_env(alert, {})
    assert all("\0" not in v for v in env.values()), "NUL in the pipe environment"
    datagram = _SYSLOG.frame(6, _SYSLOG.text(alert)).decode()
    kept = datagram[:-2] + " " if datagram.endswith("\n ") else datagram  # NDPMon's new IP
    assert printable(kept) == kept, f"syslog line not printable: {datagram!r}"
    while _XML_CHECKS:
        etree.fromstring(("<alerts>" + _XML_CHECKS.pop() + "</alerts>").encode())


def _unusual(text: str) -> bool:
    """Text with a control, non-ASCII or markup character: worth a whole mail."""
    return not text.isascii() or not text.isprintable() or any(c in text for c in "<&>\"'")


def check_state(engine: Engine) -> None:
    """The caps of ``<limits>`` and of the DAD table hold, and the indices agree."""
    for state in engine.probes.values():
        cache = state.neighbors
        assert len(cache) <= cache.max_neighbors, "more neighbours than max_neighbors"
        assert len(state.dad) <= MAX_DAD, "DAD table over MAX_DAD"
        members = {id(nb) for nb in cache}
        assert members == set(map(id, cache._lru)), "LRU and found order disagree"
        for index in (cache.by_mac, cache.by_lla, cache.by_ip):
            stale = [k for k, nb in index.items() if id(nb) not in members]
            assert not stale, f"index keeps evicted neighbours: {stale[:3]}"
        for nb in cache:
            assert len(nb.addresses) <= cache.max_addresses, "addresses over max_addresses"
            assert len(nb.old_macs) <= max(cache.max_addresses, 1) + 1, "old MACs unbounded"
        for addr, nb in cache.by_ip.items():
            assert addr in nb.addresses, "by_ip names a neighbour without that address"


def roundtrip(engine: Engine, tmp: Path) -> None:
    """Save the caches built from packet data and load them back: same neighbours."""
    path = tmp / "neighbor_list.xml"
    cachefile.save_cache(str(path), {n: s.neighbors for n, s in engine.probes.items()})
    back = {n: NeighborCache(s.neighbors.max_neighbors, s.neighbors.max_addresses)
            for n, s in engine.probes.items()}
    cachefile.load_cache(str(path), back)
    for name, state in engine.probes.items():
        want = [(nb.mac, nb.lla, set(nb.addresses)) for nb in state.neighbors]
        got = [(nb.mac, nb.lla, set(nb.addresses)) for nb in back[name]]
        assert got == want, "the cache read back differs from the one written"


@dataclass
class Finding:
    """A frame that failed: what happened, and the frame to keep as a sample."""

    kind: str   # "exception", "invariant", "slow"
    detail: str
    frame: bytes


class Target:
    """One engine fed frame after frame; ``feed`` returns a Finding or None."""

    def __init__(self, limits: Limits | None = None, remeasure: int = 10) -> None:
        self.engine = Engine(fuzz_config(limits))
        self.remeasure = remeasure
        self.now = 1_000_000.0
        self.frames = 0
        self.alerts = 0
        self._last: list[Alert] = []

    def _run(self, now: float, frame: bytes) -> tuple[int, int, int]:
        """Run the frame; return the time of ``handle`` and of the capture-thread
        outputs (ns), and the number of alerts."""
        start = time.perf_counter_ns()
        alerts = self.engine.handle(PROBE, now, frame)
        middle = time.perf_counter_ns()
        for alert in alerts:
            format_alert(alert)
        end = time.perf_counter_ns()
        self._last = alerts
        self.alerts += len(alerts)
        return middle - start, end - middle, len(alerts)

    def feed(self, frame: bytes, step: float = 0.5) -> Finding | None:
        """Run ``frame`` ``step`` seconds after the previous one; check everything."""
        self.now += step
        self.frames += 1
        try:
            took = self._run(self.now, frame)
            assert took[2] <= MAX_ALERTS, f"{took[2]} alerts from one frame"
            for i, alert in enumerate(self._last):
                check_delivery(alert, whole_mail=i == 0 and (
                    self.alerts % 16 == 0 or _unusual(alert.message)))
            check_state(self.engine)
        except AssertionError as exc:
            return Finding("invariant", str(exc), frame)
        except Exception as exc:  # any exception is a finding: report, keep fuzzing
            return Finding("exception", f"{type(exc).__name__}: {exc}", frame)
        if self._slow(took) and len(frame) <= MAX_FRAME:
            took = self._fastest_again(frame, took)
            if self._slow(took):
                return Finding("slow", f"{took[0] / 1e6:.2f} ms per frame, "
                               f"{took[1] / 1e6:.2f} ms for {took[2]} alerts", frame)
        return None

    @staticmethod
    def _slow(took: tuple[int, int, int]) -> bool:
        """Over 1 ms in the engine, or over 1 ms of output at over 50 us per alert."""
        return took[0] > SLOW_NS or took[1] > max(SLOW_NS, SLOW_ALERT_NS * took[2])

    def _fastest_again(self, frame: bytes, took: tuple[int, int, int]
                       ) -> tuple[int, int, int]:
        """The minimum of ``remeasure`` re-runs with the GC off (the state as it is now)."""
        gc.disable()
        try:
            for _ in range(self.remeasure):
                again = self._run(self.now, frame)
                took = (min(took[0], again[0]), min(took[1], again[1]), again[2])
        finally:
            gc.enable()
        return took
