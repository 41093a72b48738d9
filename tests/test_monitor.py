"""The live loop with hand-written fakes: a scripted capture, a fake clock, a recorder.

What ndpmon.run.live.Monitor promises: frames reach the engine and the actions; kernel drops
raise an alert; SIGHUP swaps in a valid config and keeps the old one on a broken one;
SIGUSR1 and the periodic timer save the cache; ``--learn-for`` ends learning; the signal
handlers only set flags and wake the capture.
"""

from __future__ import annotations

import logging
import signal

import pytest

from conftest import generator, make_config, make_engine
from ndpmon.alerts.action import Action
from ndpmon.errors import ConfigError
from ndpmon.run.live import SAVE_EVERY, Flags, Monitor
from ndpmon.run.pipeline import Pipeline

gen = generator()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedCapture:
    """Each read() plays one step: a list of (iface, frames) batches, or a callable."""

    def __init__(self, steps, clock: FakeClock, monitor_ref: list) -> None:
        self.steps, self.clock, self.monitor_ref = list(steps), clock, monitor_ref
        self.dropped: dict[str, int] = {}
        self.woken = 0

    def read(self, timeout: float):
        self.clock.now += timeout
        if not self.steps:
            self.monitor_ref[0].flags.stop = True
            return []
        step = self.steps.pop(0)
        return step() if callable(step) else step

    def drops_since_last(self) -> dict[str, dict[str, int]]:
        dropped, self.dropped = self.dropped, {}
        return dropped

    def wake(self) -> None:
        self.woken += 1


class Recorder(Action):
    def __init__(self) -> None:
        self.alerts, self.flushes = [], 0

    def notify(self, alert) -> None:
        self.alerts.append(alert)

    def flush(self) -> None:
        self.flushes += 1


def rogue_ra() -> bytes:
    return gen.ra(gen.R + 7)


def build(steps, *, reload_config=None, learn_for=None, learning=False):
    clock, ref, saves = FakeClock(), [], []
    engine = make_engine({"routers": [gen.ROUTER1]})
    engine.learning = learning
    recorder = Recorder()
    capture = ScriptedCapture(steps, clock, ref)
    monitor = Monitor(Pipeline(engine, [recorder]), capture,
                      save_cache=lambda: saves.append(clock.now),
                      reload_config=reload_config, clock=clock, wallclock=clock,
                      learn_until=None if learn_for is None else clock.now + learn_for)
    ref.append(monitor)
    return monitor, recorder, saves, capture


def test_frames_reach_the_actions_and_are_counted():
    """A captured rogue RA reaches the actions as ``wrong ipv6 router`` and is counted once."""
    monitor, recorder, _, _ = build([[("lan0", [(1.0, rogue_ra())])]])
    assert monitor.run() == "stopped by "
    assert [a.reason for a in recorder.alerts] == ["wrong ipv6 router"]
    assert sum(monitor.alerts.values()) == 1


def test_frames_queued_before_the_stop_signal_are_still_checked():
    """Frames already read when SIGTERM arrives are still checked before the loop stops."""
    def term():
        monitor.flags._handle(signal.SIGTERM, None)
        return []

    monitor, recorder, _, _ = build([term, [("lan0", [(2.0, rogue_ra())])]])
    assert monitor.run() == "stopped by SIGTERM"
    assert [a.reason for a in recorder.alerts] == ["wrong ipv6 router"]


def test_kernel_drops_raise_a_high_alert(caplog):
    """Frames the kernel dropped give one high ``capture drops`` alert on that interface, with the
    count per lane, also logged as a warning, and flushed to the outputs at once (no frame
    may come to flush it)."""
    steps = [lambda: [], lambda: []]
    monitor, recorder, _, capture = build(steps)
    capture.dropped = {"lan0": {"neighbor": 40, "router": 2}}
    with caplog.at_level(logging.WARNING, "ndpmon"):
        monitor.run()
    (alert,) = recorder.alerts
    assert (alert.reason, alert.priority.label, alert.probe) == ("capture drops", "high", "lan0")
    assert alert.message == ("capture drops on lan0: the kernel dropped 42 frames "
                             "(42 since start; by lane: neighbor 40, router 2)")
    assert alert.extra["lanes"] == {"neighbor": 40, "router": 2}
    assert alert.message in caplog.text
    assert recorder.flushes == 1


def _drops_then(steps_after, drops_at):
    """Steps that report kernel drops (``drops_at``: step index -> drops per lane)."""
    def step(i, then):
        def run():
            if i in drops_at:
                capture.dropped = {"lan0": drops_at[i]}
            return then() if callable(then) else then
        return run

    steps = [step(i, then) for i, then in enumerate(steps_after)]
    monitor, recorder, saves, capture = build(steps)
    return monitor, recorder


def test_the_first_drop_is_reported_before_the_next_batch_is_handled():
    """Drops seen after the loop's first check are reported at the next check, which
    comes before the frames read a second later (it came every 10 s: frames, and a
    rogue RA among them, were handled first, and a run ending within 10 s said nothing)."""
    ra_batch = [("lan0", [(1003.0, rogue_ra())])]
    monitor, recorder = _drops_then([[], [], ra_batch], {1: {"neighbor": 7}})
    monitor.run()
    assert [a.reason for a in recorder.alerts] == ["capture drops", "wrong ipv6 router"]


def test_later_drops_are_summed_once_per_window():
    """After the first ``capture drops`` alert, drops are reported at most once per rate
    window (10 s), with every lane's drops since the previous alert."""
    drops = {1: {"neighbor": 5}, 2: {"neighbor": 6}, 3: {"router": 1, "neighbor": 2}}
    monitor, recorder = _drops_then([[]] * 16, drops)
    monitor.run()
    assert [a.message for a in recorder.alerts] == [
        "capture drops on lan0: the kernel dropped 5 frames (5 since start; by lane: "
        "neighbor 5)",
        "capture drops on lan0: the kernel dropped 9 frames (14 since start; by lane: "
        "neighbor 8, router 1)"]
    first, second = (a.time for a in recorder.alerts)
    assert second - first >= 10


def test_alerts_raised_late_carry_the_time_they_were_raised():
    """An alert raised more than a second after its frame's capture time (a backlog) keeps
    the capture time and carries the time it was raised, also in JSON; one raised at
    once carries none."""
    batches = [("lan0", [(1.0, rogue_ra())]), ("lan0", [(1000.5, gen.ra(gen.R + 8))])]
    monitor, recorder, _, _ = build([batches])
    monitor.run()
    late, timely = recorder.alerts
    assert (late.time, late.raised) == (1.0, 1001.0)
    assert (timely.time, timely.raised) == (1000.5, None)
    assert late.to_json()["raised"] == "1970-01-01T00:16:41Z"
    assert late.to_json()["time"] == "1970-01-01T00:00:01Z"
    assert "raised" not in timely.to_json()


def test_the_time_spent_handling_frames_is_measured():
    """The monitor adds up the time spent handling frames (the exit summary divides the
    frames by it, not by the whole run, which is mostly waiting)."""
    monitor, _, _, _ = build([[("lan0", [(1.0, rogue_ra())])], [], []])
    monitor.run()
    assert 0 < monitor.busy < 1.0


def test_the_exit_summary_gives_the_rate_while_busy():
    """A live run's summary gives frames/s over the time it was busy; a replay's over
    the whole run."""
    from ndpmon.run.session import Summary

    live = Summary("live: lan0", frames=1000, nd=1000, seconds=100.0, busy=0.5)
    assert "in 100.00 s (busy 0.50 s, 2,000 frames/s while busy)" in str(live)
    assert "in 100.00 s (10 frames/s)" in str(Summary("x.pcap", 1000, 1000, seconds=100.0))


def test_reload_swaps_a_valid_config_and_keeps_the_old_on_error(caplog):
    """SIGHUP with a broken config logs the one-line error and keeps the running config; the next
    SIGHUP with a valid one swaps it in (the routers change)."""
    configs = [ConfigError("config_ndpmon.xml", 7, "<mac>: not a MAC address: 'zz'"),
               make_config({"routers": []})]

    def reload_config():
        item = configs.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def hup():
        monitor.flags.reload = True
        return []

    monitor, _, _, _ = build([hup, hup], reload_config=reload_config)
    engine = monitor.pipeline.engine
    before = engine.probes["lan0"].routers
    with caplog.at_level(logging.INFO, "ndpmon"):
        monitor.run()
    assert "SIGHUP: config_ndpmon.xml:7: <mac>: not a MAC address: 'zz'; keeping the " \
           "running config" in caplog.text
    assert "SIGHUP: reloaded <test> (1 probes, 0 routers)" in caplog.text
    assert before and engine.probes["lan0"].routers == ()


def test_reload_is_refused_while_learning(caplog):
    """SIGHUP while learning loads nothing and logs that reload is not possible in learning mode."""
    def hup():
        monitor.flags.reload = True
        return []

    monitor, _, _, _ = build([hup], reload_config=lambda: pytest.fail("loaded"),
                             learning=True)
    with caplog.at_level(logging.WARNING, "ndpmon"):
        monitor.run()
    assert "reload is not possible in learning mode" in caplog.text


def test_cache_saved_on_request_and_periodically_only_after_changes():
    """The cache is saved on SIGUSR1 and every SAVE_EVERY seconds, but only when a frame changed it
    since the last save."""
    frame = [("lan0", [(1.0, gen.na(5, gen.lla(5), gen.lla(5), O=1))])]

    def usr1():
        monitor.flags.save = True
        return []

    def later():
        clock.now += SAVE_EVERY
        return []

    monitor, _, saves, capture = build([frame, usr1, later, later, frame, later])
    clock = capture.clock
    monitor.run()
    # after the first frame, on SIGUSR1, and after the second frame (SAVE_EVERY later);
    # the quiet periods in between write nothing
    assert len(saves) == 3


def test_learning_ends_after_learn_for():
    """With ``learn_for`` the learning loop stops by itself once that much time has passed."""
    monitor, _, _, _ = build([lambda: []] * 100, learn_for=5.0, learning=True)
    assert monitor.run() == "learning time is over"


def test_signal_handlers_only_set_flags_and_wake():
    """SIGHUP, SIGUSR1 and SIGTERM only set the reload, save and stop flags (with the reason) and
    wake the capture; nothing else happens in the handler."""
    woken = []
    flags = Flags(wake=lambda: woken.append(1))
    flags._handle(signal.SIGHUP, None)
    flags._handle(signal.SIGUSR1, None)
    assert (flags.reload, flags.save, flags.stop) == (True, True, False)
    flags._handle(signal.SIGTERM, None)
    assert flags.stop and flags.why == "SIGTERM" and len(woken) == 3


def test_sigusr1_logs_one_line_and_asks_the_plugins_for_their_status(caplog):
    """SIGUSR1 saves the cache (written in the background), logs one line saying so (it
    logged nothing), and calls the plugins' ``status`` hook (ndproxy logs its counters
    there), once per signal."""
    from ndpmon.engine.plugin import Plugin

    class Counting(Plugin):
        def __init__(self) -> None:
            super().__init__({}, None)
            self.name, self.calls = "counting", 0

        def status(self) -> None:
            self.calls += 1

    caplog.set_level(logging.INFO, "ndpmon")
    frame = [("lan0", [(1.0, gen.na(5, gen.lla(5), gen.lla(5), O=1))])]

    def usr1():
        monitor.flags.save = True
        return []

    monitor, _, saves, _ = build([frame, usr1, lambda: []])
    plugin = Counting()
    monitor.pipeline.engine.plugins.append(plugin)
    monitor.run()
    assert plugin.calls == 1
    lines = [r.getMessage() for r in caplog.records if "SIGUSR1" in r.getMessage()]
    assert lines == ["SIGUSR1: writing the neighbour cache; 1 frames, 0 high and 1 low "
                     "priority alerts so far"]


class Idle(Recorder):
    """An action that says it would ignore every alert (a dispatcher with no action)."""

    idle = True

    def notify(self, alert) -> None:
        raise AssertionError("an idle action is not called")


def test_an_idle_action_is_skipped_and_the_others_get_every_alert():
    """The pipeline does not call an action that says it is idle; the other actions
    still get the alerts, and the batch still returns them."""
    engine = make_engine({"routers": [gen.ROUTER1]})
    recorder, idle = Recorder(), Idle()
    pipeline = Pipeline(engine, [idle, recorder])
    raised = pipeline.feed("lan0", [(1.0, rogue_ra()), (2.0, gen.ra(gen.R + 8))])
    assert [a.reason for a in recorder.alerts] == ["wrong ipv6 router"] * 2
    assert [a.reason for a in raised] == ["wrong ipv6 router"] * 2
