"""The alert dispatcher: routes alerts to mail, syslog and exec_pipe_program off the
capture path, with dedupe and a bounded queue.

NDPMon ran every handler synchronously on its event thread (COMPATIBILITY.md §5), so a slow
mail transport stalled detection, and a flood of identical alerts became a flood of
mails. Here ``notify`` only files the alert: the same (probe, reason, message) within
``dedupe_window`` seconds is held back and summarised once the window closes; of one
kind (probe, reason), per window, the first alert of each source goes out (a new rogue
router is never hidden by others' alerts; up to ndpmon.alerts.budget.NEW_SOURCES sources),
then at most ``burst`` more, and the others are summarised as one alert with their count
by source (a flood from random sources gives each alert its own message, so only this
bounds the mails). The rest waits in a bounded
queue for one worker thread; when the queue is full, alerts are counted and reported,
never waited for. Each priority has its own action set, so a high alert is mailed
whatever the low priority's ``sendmail`` says (NDPMon's bug, COMPATIBILITY.md §7.6).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ndpmon.alerts.action import Action
from ndpmon.alerts.mail import Mail
from ndpmon.alerts.mailbody import ReverseDns
from ndpmon.alerts.pipe import Pipe
from ndpmon.alerts.syslog import STOP_TEXT, Syslog, start_text
from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.alerts.dedupe import Dedupe
from ndpmon.config.model import Settings

__all__ = ["Dispatcher", "Routes", "build_actions", "OVERFLOW_REASON"]

log = logging.getLogger("ndpmon")

OVERFLOW_REASON = reasons.ALERT_QUEUE_OVERFLOW
OVERFLOW_REPORT_EVERY = 60.0  # seconds between reports while the queue stays full


@dataclass
class Routes:
    """The actions of each priority, in NDPMon's order: pipe, sendmail, syslog."""

    high: list[Action] = field(default_factory=list)
    low: list[Action] = field(default_factory=list)

    def of(self, priority: Priority) -> list[Action]:
        """The actions of an alert of ``priority``."""
        return self.high if priority == Priority.HIGH else self.low

    def unique(self) -> list[Action]:
        """Every action once (mail and syslog are shared by both priorities)."""
        seen: dict[int, Action] = {}
        for action in self.high + self.low:
            seen.setdefault(id(action), action)
        return list(seen.values())


def build_actions(settings: Settings) -> Routes:
    """The real actions for ``<actions_high_priority>`` and ``<actions_low_priority>``."""
    delivery = settings.delivery
    dns = (ReverseDns(delivery.dns_timeout) if settings.use_reverse_hostlookups else None)
    sets = {Priority.HIGH: settings.actions_high, Priority.LOW: settings.actions_low}
    mail = Mail(settings, dns) if any(s.sendmail for s in sets.values()) else None
    syslog = (Syslog(delivery.syslog_socket, settings.syslog_facility)
              if any(s.syslog for s in sets.values()) else None)
    routes = Routes()
    for priority, actions in sets.items():
        chosen = routes.of(priority)
        program = (actions.exec_pipe_program or "").strip()
        if program:
            chosen.append(Pipe(program, timeout=delivery.exec_timeout, dns=dns))
        if actions.sendmail and mail is not None:
            chosen.append(mail)
        if actions.syslog and syslog is not None:
            chosen.append(syslog)
    return routes


class Dispatcher(Action):
    """Asynchronous delivery of alerts to the configured actions.

    ``start()`` before the first alert, ``stop()`` at the end; ``reconfigure()`` on
    SIGHUP. Counters for the final summary (``counters()``, ``summary()``): per action
    (``by_action()``), the alerts it sent (the syslog line left for the socket, the mail
    was accepted by the relay or sendmail, the pipe program exited 0) and those that
    failed; ``handed`` (alerts the worker handed to the actions, summaries included),
    ``overflow``, ``held_back``; ``failures`` (alert deliveries that failed, summed).
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic,
                 actions_factory: Callable[[Settings], Routes] | None = None,
                 tick: float = 1.0) -> None:
        self._factory = actions_factory or build_actions
        self._clock = clock
        self._tick = tick
        self._settings = settings
        self._routes = self._factory(settings)
        self._next_routes: Routes | None = None
        #: the priorities ``notify`` files (those with an action), read without the
        #: lock: a run without mail, syslog or pipe pays no lock per alert
        self._routed = _routed(self._routes)
        self._queue: queue.Queue[tuple[int, Alert] | None] = queue.Queue(
            settings.delivery.queue_size)
        self._seq = 0  # number of the last alert queued
        self._dedupe = Dedupe(settings.delivery.dedupe_window, settings.delivery.burst,
                              emit=lambda summary: self._ready.append((self._seq, summary)))
        # Summaries waiting for the worker, each after the alert queued before it.
        self._ready: list[tuple[int, Alert]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._worker: threading.Thread | None = None
        self._dropped = 0  # overflow not reported yet
        self._dropped_last: Alert | None = None
        self._reported_at: float | None = None
        self.handed = self.overflow = 0
        self._tally: dict[str, list[int]] = {}  # action label -> [sent, failed]
        self._count_actions(self._routes)

    @property
    def held_back(self) -> int:
        """Alerts held back by dedupe or burst (each counted in a later summary)."""
        return self._dedupe.held_back

    # -- the capture side --------------------------------------------------------------

    def notify(self, alert: Alert) -> None:
        """File ``alert`` for delivery; never blocks, never raises."""
        if alert.priority not in self._routed:
            return  # nothing configured for this priority
        with self._lock:
            if not (self._next_routes or self._routes).of(alert.priority):
                return  # nothing configured for this priority
            if self._dedupe.held(alert, self._clock()):
                return
            try:
                self._queue.put_nowait((self._seq + 1, alert))
                self._seq += 1
            except queue.Full:
                self.overflow += 1
                self._dropped += 1
                self._dropped_last = alert
                self._dedupe.forget(alert)  # a repeat once there is room is news

    @property
    def idle(self) -> bool:
        """No priority has an action (no mail, syslog or pipe): ``notify`` files nothing."""
        return not self._routed

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the actions and the worker; the worker sends the syslog start notice."""
        for action in self._routes.unique():
            action.start()
        self._worker = threading.Thread(target=self._run, name="ndpmon-delivery",
                                        daemon=False)
        self._worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what is queued and pending, send the stop notice, end the worker.

        After ``timeout`` seconds what is still queued is dropped (and logged).
        """
        worker = self._worker
        if self._stopping.is_set() and worker is None:
            return  # stopped already
        self._stopping.set()
        if worker is None:  # never started
            self._stop_actions(self._routes.unique())
            return
        self._wake()
        worker.join(timeout)
        if worker.is_alive():
            self._abandon.set()
            log.warning("alert delivery did not finish in %g s: %d queued alerts dropped",
                        timeout, self._queued())
            self._wake()
            worker.join(timeout)
        self._worker = None

    def reconfigure(self, settings: Settings) -> None:
        """Use ``settings``' actions from the next alert on; queued alerts are kept."""
        routes = self._factory(settings)
        with self._lock:
            running = (self._next_routes or self._routes).unique()
        for action in routes.unique():
            _take_over(action, running)
            action.start()
        self._count_actions(routes)
        with self._lock:
            self._dedupe.configure(settings.delivery.dedupe_window, settings.delivery.burst)
            self._settings = settings
            with self._queue.mutex:
                self._queue.maxsize = settings.delivery.queue_size
            if self._worker is None:
                old, self._routes = self._routes, routes
            else:
                old, self._next_routes = self._next_routes, routes
            self._routed = _routed(routes)
        if old is not None:
            self._retire(old)
        self._wake()

    @property
    def failures(self) -> int:
        """Alert deliveries that failed, over every action (an action that raised, or
        counted a failure of its own)."""
        return sum(failed for _, failed in list(self._tally.values()))

    def by_action(self) -> dict[str, tuple[int, int]]:
        """Per action (``syslog``, ``mail``, ``pipe PROGRAM``): alerts (sent, failed)."""
        return {label: (sent, failed) for label, (sent, failed) in list(self._tally.items())}

    def counters(self) -> dict[str, int]:
        """``handed``, ``overflow``, ``held_back``, ``failures``, ``queued``."""
        return {"handed": self.handed, "overflow": self.overflow,
                "held_back": self.held_back, "failures": self.failures,
                "queued": self._queued()}

    def summary(self) -> str:
        """The exit summary's line: what each action did, then what never reached one."""
        actions = "; ".join(f"{label}: {sent} sent, {failed} failed"
                            for label, (sent, failed) in list(self._tally.items()))
        return (f"{actions or 'no action configured'}; {self.held_back} held back "
                f"(repeats, burst), {self.overflow} dropped (queue full), "
                f"{self._queued()} still queued")

    def _count_actions(self, routes: Routes) -> None:
        """Every configured action is in the summary, also with nothing to count."""
        for action in routes.unique():
            self._tally.setdefault(_label(action), [0, 0])

    def _queued(self) -> int:
        """Alerts in the queue (not counting wake-ups)."""
        with self._queue.mutex:
            return sum(1 for item in self._queue.queue if item is not None)

    def _wake(self) -> None:
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # the worker is busy anyway and will look at the flags soon

    def _retire(self, routes: Routes) -> None:
        keep = {id(action) for action in self._routes.unique()}
        self._stop_actions(a for a in routes.unique() if id(a) not in keep)

    def _stop_actions(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self._call(action, "stop")

    # -- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        self._notice(start_text())
        while not self._abandon.is_set():
            if not threading.main_thread().is_alive():
                self._stopping.set()  # the program ends without stop(): drain, then exit
            self._swap_routes()
            try:
                item = self._queue.get(timeout=self._tick)
            except queue.Empty:
                item = None
            self._close_expired()
            if item is not None:
                seq, alert = item
                self._deliver_all(self._take_ready(seq))
                self._deliver(alert)
            idle = self._queue.empty()
            if idle:
                self._deliver_all(self._take_ready())
            self._report_overflow(idle)
            if idle and self._stopping.is_set():
                break
        self._finish()

    def _finish(self) -> None:
        """At stop: summaries of every open window, the overflow report, the notice."""
        self._swap_routes()
        if self._abandon.is_set():  # stop() gave up waiting: only release resources
            self._stop_actions(self._routes.unique())
            return
        with self._lock:
            self._dedupe.close_all()
        self._deliver_all(self._take_ready())
        self._report_overflow(True)
        self._notice(STOP_TEXT)
        self._stop_actions(self._routes.unique())

    def _swap_routes(self) -> None:
        with self._lock:
            routes, self._next_routes = self._next_routes, None
            if routes is None:
                return
            old, self._routes = self._routes, routes
            self._routed = _routed(routes)
        self._retire(old)

    def _close_expired(self) -> None:
        with self._lock:
            self._dedupe.close_expired(self._clock())

    def _take_ready(self, before: int | None = None) -> list[Alert]:
        """The summaries due before alert number ``before`` (all of them: None)."""
        with self._lock:
            if before is None:
                ready, self._ready = self._ready, []
            else:
                ready = [entry for entry in self._ready if entry[0] < before]
                self._ready = self._ready[len(ready):]
        return [alert for _, alert in ready]

    def _report_overflow(self, idle: bool) -> None:
        """One HIGH alert for the alerts dropped, once the queue has room again."""
        with self._lock:
            n, last = self._dropped, self._dropped_last
            now = self._clock()
            recent = (self._reported_at is not None
                      and now - self._reported_at < OVERFLOW_REPORT_EVERY)
            if n == 0 or (not idle and recent):
                return
            self._dropped, self._dropped_last, self._reported_at = 0, None, now
        size = self._queue.maxsize
        text = f"alert queue overflow: {n} alerts not delivered (queue of {size})"
        log.warning("%s", text)
        assert last is not None
        self._deliver(Alert(last.time, last.probe, Priority.HIGH, OVERFLOW_REASON, text))

    def _deliver_all(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self._deliver(alert)

    def _deliver(self, alert: Alert) -> None:
        actions = list(self._routes.of(alert.priority))
        for action in actions:
            before = getattr(action, "failures", 0)
            ok = self._call(action, "notify", alert) and \
                getattr(action, "failures", 0) == before
            tally = self._tally.setdefault(_label(action), [0, 0])
            tally[0 if ok else 1] += 1
        if actions:
            self.handed += 1

    def _notice(self, text: str) -> None:
        for action in self._routes.unique():
            if callable(getattr(action, "notice", None)):
                self._call(action, "notice", text)

    def _call(self, action: Action, method: str, *args: object) -> bool:
        """One action's hook; an error is logged in one line (False)."""
        try:
            getattr(action, method)(*args)
        except Exception as exc:  # one broken action must not stop the others
            log.error("alert action %s.%s failed: %s: %s", type(action).__name__,
                      method, type(exc).__name__, exc)
            return False
        return True


def _routed(routes: Routes) -> frozenset[Priority]:
    """The priorities with at least one action in ``routes``."""
    return frozenset(priority for priority in Priority if routes.of(priority))


def _label(action: Action) -> str:
    """An action's name in the exit summary (its ``label``, else its class name)."""
    return getattr(action, "label", None) or type(action).__name__


def _take_over(action: Action, running: Iterable[Action]) -> None:
    """SIGHUP: a new action may take state over from the running one of its type (the
    syslog client: a warning already given)."""
    take_over = getattr(action, "take_over", None)
    if not callable(take_over):
        return
    for old in running:
        if type(old) is type(action):
            take_over(old)
            return
