"""Alert delivery: the mail body, the dispatcher (routing, dedupe, overflow, reconfigure),
reverse DNS, and exec_pipe_program / syslog / mail against small real peers."""

from __future__ import annotations

import json
import logging
import os
import shlex
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from ndpmon.alerts import budget, dedupe
from ndpmon.alerts.action import Action
from ndpmon.alerts.mail import Mail, mail_message, recipients, subject
from ndpmon.alerts.mailbody import ReverseDns, _resolve, body_for, mail_body
from ndpmon.alerts.pipe import Pipe
from ndpmon.alerts.syslog import Syslog, start_text
from ndpmon.checks.alert import Alert, Priority
from ndpmon.alerts.dispatch import Dispatcher, Routes, build_actions
from ndpmon.config.model import ActionSet, Delivery, Settings

MAC = bytes.fromhex("006666666666")
MAC2 = bytes.fromhex("00005e005366")
LLA = bytes.fromhex("fe800000000000000000000000000666")
HOSTILE = "evil\n\"quoted\" 'single' `touch {x}` $(touch {x}) ; touch {x} \\ end"


def alert(message: str = "wrong ipv6 router fe80::666", priority: Priority = Priority.HIGH,
          reason: str = "wrong ipv6 router", **fields) -> Alert:
    """An alert from probe eth0 at 2026-01-01T00:00:00Z."""
    values = dict(mac=MAC, mac2=None, ipv6=LLA)
    values.update(fields)
    return Alert(1767225600.0, "eth0", priority, reason, message, **values)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recording(Action):
    """Keeps what it is given; ``log`` may be shared to check the order across actions."""

    def __init__(self, log: list | None = None) -> None:
        self.alerts: list[Alert] = []
        self.notices: list[str] = []
        self.log = log if log is not None else []
        self.started = self.stopped = 0

    def start(self) -> None:
        self.started += 1

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.log.append(("alert", alert.message))

    def notice(self, text: str) -> None:
        self.notices.append(text)
        self.log.append(("notice", text))

    def stop(self) -> None:
        self.stopped += 1

    def messages(self) -> list[str]:
        return [a.message for a in self.alerts]


class Blocking(Recording):
    """Holds the worker inside notify until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def notify(self, alert: Alert) -> None:
        self.entered.set()
        assert self.release.wait(10), "never released"
        super().notify(alert)


class Broken(Action):
    """Raises on every alert."""

    def notify(self, alert: Alert) -> None:
        raise RuntimeError("broken on purpose")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until true; fail after a generous ``timeout``."""
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


def settings(window: float = 0.0, queue_size: int = 100, burst: int = 20, **kw) -> Settings:
    """Settings with the given dedupe window, queue size and burst."""
    return Settings(delivery=Delivery(dedupe_window=window, queue_size=queue_size,
                                      burst=burst), **kw)


def dispatcher(routes: Routes, window: float = 0.0, queue_size: int = 100,
               clock: FakeClock | None = None, burst: int = 20) -> Dispatcher:
    """A started Dispatcher over fixed fake routes, waking every 20 ms."""
    d = Dispatcher(settings(window, queue_size, burst), clock=clock or FakeClock(),
                   actions_factory=lambda s: routes, tick=0.02)
    d.start()
    return d


# -- the mail body -------------------------------------------------------------------------

def test_body_is_ndpmons_text():
    """COMPATIBILITY.md §5.3's verified sample, byte for byte."""
    assert mail_body(alert()) == ("Reason:  wrong ipv6 router\n"
                                  "MAC:     0:66:66:66:66:66\n"
                                  "MAC2:    n/a\n"
                                  "IPv6:    fe80::666\n"
                                  "DNS:     n/a\n")


def test_body_second_mac_and_dns():
    """MAC2 in ether_ntoa form, a DNS name, and long labels still get their space."""
    text = mail_body(alert(mac2=MAC2, ipv6=bytes.fromhex("20010db8" + "0" * 23 + "1")),
                     "host.example")
    assert text.splitlines() == ["Reason:  wrong ipv6 router", "MAC:     0:66:66:66:66:66",
                                 "MAC2:    0:0:5e:0:53:66", "IPv6:    2001:db8::1",
                                 "DNS:     host.example"]


def test_body_not_available_values():
    """An all-zero MAC2, the address ``::`` and no MAC at all are ``n/a``."""
    text = mail_body(alert(mac=None, mac2=bytes(6), ipv6=bytes(16)))
    assert text.splitlines()[1:4] == ["MAC:     n/a", "MAC2:    n/a", "IPv6:    n/a"]
    assert mail_body(alert(ipv6=None)).splitlines()[3] == "IPv6:    n/a"


def test_body_control_characters_are_visible():
    """A control character cannot add a line to the body."""
    text = mail_body(alert(reason="odd\nDNS: forged"), "name\x1b[2J")
    assert text.splitlines() == ["Reason:  odd\\x0aDNS: forged", "MAC:     0:66:66:66:66:66",
                                 "MAC2:    n/a", "IPv6:    fe80::666",
                                 "DNS:     name\\x1b[2J"]


def test_body_for_uses_reverse_dns_only_when_on():
    """The DNS line is ``n/a`` without a resolver, the name with one."""
    dns = ReverseDns(5, resolver=lambda addr: f"name-of-{addr}")
    assert body_for(alert(), None).endswith("DNS:     n/a\n")
    assert body_for(alert(), dns).endswith("DNS:     name-of-fe80::666\n")
    assert body_for(alert(ipv6=bytes(16)), dns).endswith("DNS:     n/a\n")


# -- reverse DNS ---------------------------------------------------------------------------

class FakeResolver:
    """Answers from a dict (``None``: no name) and counts calls; can be held."""

    def __init__(self, names: dict[str, str | None]) -> None:
        self.names = names
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, addr: str) -> str:
        self.calls.append(addr)
        assert self.gate.wait(10)
        name = self.names.get(addr)
        if name is None:
            raise OSError("no name")
        return name


def addr(n: int) -> bytes:
    """2001:db8::n."""
    return bytes.fromhex("20010db8" + "0" * 16) + n.to_bytes(4, "big")


@pytest.mark.parametrize("answers, expected, ttl", [
    ({"2001:db8::1": "one.example"}, "one.example", 3600),  # names are kept an hour
    ({}, "<Unknown host>", 300),  # no name: asked again after five minutes
])
def test_reverse_dns_cache_lifetimes(answers, expected, ttl):
    """A second lookup is answered from the cache until its lifetime is over."""
    clock = FakeClock()
    resolver = FakeResolver(answers)
    dns = ReverseDns(5, resolver=resolver, clock=clock)
    assert dns.lookup(addr(1)) == expected
    clock.now += ttl - 1
    assert dns.lookup(addr(1)) == expected
    assert len(resolver.calls) == 1
    clock.now += 2
    assert dns.lookup(addr(1)) == expected
    assert len(resolver.calls) == 2


def test_reverse_dns_timeout_then_late_answer():
    """A hung lookup gives ``<timeout>`` (once waited for), and its late answer is kept."""
    resolver = FakeResolver({"2001:db8::3": "late.example"})
    resolver.gate.clear()
    dns = ReverseDns(0.2, resolver=resolver)
    assert dns.lookup(addr(3)) == "<timeout>"
    assert dns.lookup(addr(3)) == "<timeout>"  # from the cache: no second wait
    assert resolver.calls == ["2001:db8::3"]
    resolver.gate.set()
    wait_for(lambda: dns.lookup(addr(3)) == "late.example")
    assert resolver.calls == ["2001:db8::3"]


def test_reverse_dns_bounds_pending_lookups_and_cache():
    """Beyond ``max_pending`` hung lookups nothing new starts; the cache keeps ``size``."""
    resolver = FakeResolver({})
    resolver.gate.clear()
    dns = ReverseDns(0.05, resolver=resolver, max_pending=2, size=2)
    assert [dns.lookup(addr(n)) for n in (1, 2, 3)] == ["<timeout>"] * 3
    assert len(resolver.calls) == 2
    resolver.gate.set()
    wait_for(lambda: dns.lookup(addr(3)) == "<Unknown host>")
    dns.lookup(addr(4))
    calls = len(resolver.calls)
    dns.lookup(addr(1))  # evicted by 3 and 4
    assert len(resolver.calls) == calls + 1


def test_resolver_error_text_is_hstrerror(monkeypatch):
    """``gethostbyaddr``'s error becomes NDPMon's ``<hstrerror text>``."""
    def unknown(addr: str):
        raise socket.herror(1, "Unknown host")
    monkeypatch.setattr(socket, "gethostbyaddr", unknown)
    assert _resolve("2001:db8::1") == "<Unknown host>"
    monkeypatch.setattr(socket, "gethostbyaddr", lambda a: ("h.example", [], [a]))
    assert _resolve("2001:db8::1") == "h.example"


# -- routing -------------------------------------------------------------------------------

def test_each_priority_goes_to_its_own_actions():
    """High alerts reach the high actions only, low ones the low actions only."""
    high, low = Recording(), Recording()
    d = dispatcher(Routes(high=[high], low=[low]))
    d.notify(alert("h1"))
    d.notify(alert("l1", Priority.LOW))
    d.notify(alert("h2"))
    d.stop()
    assert high.messages() == ["h1", "h2"]
    assert low.messages() == ["l1"]
    assert d.handed == 3
    assert (high.started, high.stopped) == (1, 1)


def test_high_alert_is_mailed_with_low_sendmail_off():
    """NDPMon mailed a high alert only if the low sendmail was on too (COMPATIBILITY.md §7.6)."""
    routes = build_actions(Settings(actions_high=ActionSet(sendmail=True),
                                    actions_low=ActionSet()))
    assert [type(a) for a in routes.high] == [Mail]
    assert routes.low == []
    routes = build_actions(Settings(actions_high=ActionSet(),
                                    actions_low=ActionSet(sendmail=True, syslog=True)))
    assert routes.high == []
    assert [type(a) for a in routes.low] == [Mail, Syslog]


def test_build_actions_order_and_sharing():
    """Pipe, mail, syslog in NDPMon's order; one mailer and one syslog client shared."""
    both = ActionSet(sendmail=True, syslog=True, exec_pipe_program="/bin/true -x")
    routes = build_actions(Settings(actions_high=both, actions_low=both))
    assert [type(a) for a in routes.high] == [Pipe, Mail, Syslog]
    assert routes.high[0] is not routes.low[0]
    assert routes.high[1] is routes.low[1] and routes.high[2] is routes.low[2]
    assert len(routes.unique()) == 4
    assert routes.high[0].argv == ["/bin/true", "-x"]


def test_alert_without_actions_for_its_priority_is_not_queued():
    """Low alerts with nothing configured for low take no queue space."""
    high = Recording()
    d = dispatcher(Routes(high=[high], low=[]), queue_size=1)
    for n in range(5):
        d.notify(alert(f"low {n}", Priority.LOW))
    d.stop()
    assert d.overflow == 0 and d.handed == 0


def test_a_failing_action_does_not_stop_the_others(caplog):
    """An exception is logged on one line and counted; the next action still runs."""
    after = Recording()
    d = dispatcher(Routes(high=[Broken(), after]))
    with caplog.at_level(logging.ERROR, "ndpmon"):
        d.notify(alert("one"))
        d.notify(alert("two"))
        d.stop()
    assert after.messages() == ["one", "two"]
    assert d.failures == 2
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "alert action Broken.notify failed: RuntimeError: broken on purpose"
    assert all(r.exc_info is None for r in caplog.records)


def test_start_and_stop_notices_frame_the_alerts():
    """The start notice comes before any alert, the stop notice after the last."""
    shared: list = []
    action = Recording(shared)
    d = dispatcher(Routes(high=[action], low=[action]))
    d.notify(alert("a"))
    d.stop()
    assert shared == [("notice", start_text()), ("alert", "a"),
                      ("notice", "NDPMon stopped.")]
    assert action.stopped == 1


# -- dedupe --------------------------------------------------------------------------------

def test_repeats_are_held_back_and_summarised_when_the_window_closes():
    """Same alert three times in 60 s: one delivery, then one summary after the window,
    whose fields say how many were held back."""
    clock = FakeClock()
    high = Recording()
    d = dispatcher(Routes(high=[high]), window=60, clock=clock)
    msg = "new IP 0:1:2:3:4:5 2001:db8::1\n"
    d.notify(alert(msg))
    clock.now += 30
    d.notify(alert(msg))
    d.notify(alert("other"))
    clock.now += 29
    d.notify(alert(msg))
    wait_for(lambda: len(high.alerts) == 2)
    assert d.held_back == 2
    clock.now += 2
    wait_for(lambda: len(high.alerts) == 3)
    summary = high.alerts[2]
    assert summary.message == "new IP 0:1:2:3:4:5 2001:db8::1 (repeated 2 more times in 60 s)"
    assert summary._replace(message=msg, extra={}) == alert(msg)
    assert summary.extra == {"repeated": 2}
    d.notify(alert(msg))  # a new window
    d.stop()
    assert high.messages()[3] == msg
    assert len(high.alerts) == 4


def test_a_flood_of_one_kind_is_summarised_with_its_count():
    """10,000 new-station alerts from 10,000 sources in one window: the first ``NEW_SOURCES``
    sources' alerts go out, then ``burst`` more, then one summary per kind when the window
    closes, naming sources with counts; another kind is not held back by it."""
    clock = FakeClock()
    low = Recording()
    d = dispatcher(Routes(low=[low], high=[low]), window=60, clock=clock, burst=3,
                   queue_size=1000)
    for n in range(10_000):
        station = bytes.fromhex("001800000000")[:4] + n.to_bytes(2, "big")
        d.notify(alert(f"new station 0:18:0:0:{n >> 8:x}:{n & 255:x} fe80::{n:x}",
                       Priority.LOW, "new station", mac=station, ipv6=None))
    d.notify(alert())  # wrong ipv6 router: its own kind
    sent = budget.NEW_SOURCES + 3
    wait_for(lambda: len(low.alerts) == sent + 1)
    assert d.held_back == 10_000 - sent
    clock.now += 61
    wait_for(lambda: len(low.alerts) == sent + 2)
    summary = low.alerts[-1]
    assert summary.reason == "new station" and summary.priority == Priority.LOW
    head, _, tail = summary.message.partition("; by source: ")
    assert head == f"new station: {10_000 - sent} more alerts held back in 60 s"
    assert tail.count(" x1, ") == 4  # the table keeps the latest sources (LRU)
    assert tail.endswith(" x1 and 9995 more sources (the first: new station 0:18:0:0:0:67 "
                         "fe80::67; the last: new station 0:18:0:0:27:f fe80::270f)")
    d.notify(alert("new station 0:18:0:0:0:0 fe80::", Priority.LOW, "new station"))
    d.stop()
    assert len(low.alerts) == sent + 3  # a new window sends again


def test_open_kind_windows_are_summarised_at_stop():
    """Alerts held back over a reason's burst are summarised when the dispatcher stops, even though
    their window has not closed. One source: its first alert is free, the next takes the burst."""
    high = Recording()
    d = dispatcher(Routes(high=[high]), window=60, burst=1)
    for n in range(5):
        d.notify(alert(f"wrong ipv6 router {n}"))
    d.stop()
    assert high.messages() == ["wrong ipv6 router 0", "wrong ipv6 router 1",
                               "wrong ipv6 router: 3 more alerts held back in 60 s; by source: "
                               "0:66:66:66:66:66 fe80::666 x5 (the first: wrong ipv6 router 2; "
                               "the last: wrong ipv6 router 4)"]


def test_window_counts_from_the_first_alert_not_the_last():
    """Repeats do not extend the window (clock, not alert time)."""
    clock = FakeClock()
    high = Recording()
    d = dispatcher(Routes(high=[high]), window=10, clock=clock)
    for _ in range(3):
        d.notify(alert())
        clock.now += 4
    d.notify(alert())  # t=12: the first window has closed
    d.stop()
    assert high.messages() == ["wrong ipv6 router fe80::666",
                               "wrong ipv6 router fe80::666 (repeated 2 more times in 10 s)",
                               "wrong ipv6 router fe80::666"]


def test_stop_flushes_open_windows():
    """Summaries still pending at stop are delivered before the stop notice."""
    shared: list = []
    action = Recording(shared)
    d = dispatcher(Routes(high=[action], low=[action]), window=3600)
    d.notify(alert("x", Priority.LOW))
    d.notify(alert("x", Priority.LOW))
    d.notify(alert("y", Priority.LOW))
    d.stop()
    assert [a.priority for a in action.alerts] == [Priority.LOW] * 3
    assert shared[-2:] == [("alert", "x (repeated 1 more times in 3600 s)"),
                           ("notice", "NDPMon stopped.")]


def test_dedupe_off_and_distinct_probes():
    """Window 0 sends every alert; the same text from two probes is two facts."""
    high = Recording()
    d = dispatcher(Routes(high=[high]), window=0)
    for _ in range(3):
        d.notify(alert())
    d.stop()
    assert len(high.alerts) == 3 and d.held_back == 0
    high = Recording()
    d = dispatcher(Routes(high=[high]), window=60)
    d.notify(alert())
    d.notify(alert()._replace(probe="eth1"))
    d.stop()
    assert [a.probe for a in high.alerts] == ["eth0", "eth1"]


def test_window_table_is_bounded(monkeypatch):
    """Beyond the cap the oldest window closes early, with its summary."""
    monkeypatch.setattr(dedupe, "MAX_WINDOWS", 2)
    high = Recording()
    d = dispatcher(Routes(high=[high]), window=60)
    for text in ("a", "a", "b", "c"):
        d.notify(alert(text))
    wait_for(lambda: len(high.alerts) == 4)
    assert high.messages() == ["a", "b", "a (repeated 1 more times in 60 s)", "c"]
    d.stop()


# -- overflow ------------------------------------------------------------------------------

def test_overflow_is_counted_and_reported_once_there_is_room(caplog):
    """A stuck action never blocks notify; the dropped alerts are reported in one alert."""
    blocked = Blocking()
    d = dispatcher(Routes(high=[blocked], low=[blocked]), queue_size=2)
    d.notify(alert("a1"))
    assert blocked.entered.wait(10)
    with caplog.at_level(logging.WARNING, "ndpmon"):
        for n in range(2, 7):
            d.notify(alert(f"a{n}", Priority.LOW))
        assert d.overflow == 3
        blocked.release.set()
        d.stop()
    text = "alert queue overflow: 3 alerts not delivered (queue of 2)"
    assert blocked.messages() == ["a1", text, "a2", "a3"]
    report = blocked.alerts[1]
    assert (report.priority, report.reason) == (Priority.HIGH, "alert queue overflow")
    assert text in [r.getMessage() for r in caplog.records]
    assert d.counters() == {"handed": 4, "overflow": 3, "held_back": 0, "failures": 0,
                            "queued": 0}


def test_a_dropped_alert_opens_no_dedupe_window():
    """An alert lost to overflow is not "repeated": its next copy is news, not held back."""
    blocked = Blocking()
    d = dispatcher(Routes(high=[blocked]), window=60, queue_size=1)
    d.notify(alert("a"))
    assert blocked.entered.wait(10)
    d.notify(alert("b"))
    d.notify(alert("c"))
    d.notify(alert("c"))
    assert (d.overflow, d.held_back) == (2, 0)
    blocked.release.set()
    d.notify(alert("c"))  # taken when there is room, or counted: never held back
    d.stop()
    assert d.held_back == 0
    assert "c (repeated" not in " ".join(blocked.messages())


def test_stop_gives_up_after_its_timeout(caplog):
    """A stuck action cannot hold stop(): what is queued is dropped and said so."""
    blocked = Blocking()
    d = dispatcher(Routes(high=[blocked]))
    d.notify(alert("stuck"))
    assert blocked.entered.wait(10)
    d.notify(alert("queued 1"))
    d.notify(alert("queued 2"))
    with caplog.at_level(logging.WARNING, "ndpmon"):
        d.stop(timeout=0.1)
    assert "alert delivery did not finish in 0.1 s: 2 queued alerts dropped" in [
        r.getMessage() for r in caplog.records]
    blocked.release.set()
    wait_for(lambda: blocked.stopped == 1)
    assert blocked.messages() == ["stuck"]
    assert blocked.notices == [start_text()]
    d.stop()  # a second stop does nothing
    assert blocked.stopped == 1


# -- reconfigure ---------------------------------------------------------------------------

def test_reconfigure_keeps_queued_alerts():
    """Alerts queued before SIGHUP are delivered by the new actions; old ones stop."""
    old, new = Blocking(), Recording()
    tables = {"old@x": Routes(high=[old]), "new@x": Routes(high=[new])}
    d = Dispatcher(settings(admin_mail="old@x"), clock=FakeClock(),
                   actions_factory=lambda s: tables[s.admin_mail], tick=0.02)
    d.start()
    d.notify(alert("first"))
    assert old.entered.wait(10)
    d.notify(alert("second"))
    d.notify(alert("third"))
    d.reconfigure(settings(admin_mail="new@x"))
    assert new.started == 1
    old.release.set()
    d.stop()
    assert old.messages() == ["first"]
    assert new.messages() == ["second", "third"]
    assert (old.stopped, new.stopped) == (1, 1)


def test_a_dispatcher_without_actions_is_idle_until_sighup_gives_it_one():
    """With no mail, syslog or pipe the dispatcher says it is idle (the pipeline then
    skips it); a SIGHUP that configures an action makes it take alerts again, from the
    next alert on, and one that removes them makes it idle again."""
    new = Recording()
    tables = {"none@x": Routes(), "low@x": Routes(low=[new])}
    d = Dispatcher(settings(admin_mail="none@x"), clock=FakeClock(),
                   actions_factory=lambda s: tables[s.admin_mail], tick=0.02)
    d.start()
    assert d.idle
    d.notify(alert("dropped", Priority.LOW))
    d.reconfigure(settings(admin_mail="low@x"))
    assert not d.idle
    d.notify(alert("high: no action", Priority.HIGH))
    d.notify(alert("delivered", Priority.LOW))
    wait_for(lambda: new.messages() == ["delivered"])
    d.reconfigure(settings(admin_mail="none@x"))
    assert d.idle
    d.stop()
    assert new.messages() == ["delivered"]


# -- exec_pipe_program ---------------------------------------------------------------------

RECORDER = """
import json, os, sys, time
out = sys.argv[1]
if os.environ.get("NDPMON_MESSAGE") == "hang":
    time.sleep(60)
env = {k: v for k, v in os.environ.items() if k.startswith("NDPMON_")}
data = {"argv": sys.argv[1:], "stdin": sys.stdin.read(), "env": env}
with open(out, "a") as f:
    f.write(json.dumps(data) + "\\n")
"""


def recorder(tmp_path: Path) -> tuple[str, Path]:
    """An exec_pipe_program string running RECORDER, and the file it writes."""
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    out = tmp_path / "calls.jsonl"
    return shlex.join([sys.executable, str(script), str(out)]), out


def calls(out: Path) -> list[dict]:
    """What the recorder saw, one dict per run."""
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_pipe_stdin_and_environment(tmp_path):
    """stdin is the mail body plus a blank line; the fields are in NDPMON_* variables."""
    command, out = recorder(tmp_path)
    pipe = Pipe(command + " 'two words'", timeout=30)
    pipe.notify(alert(mac2=MAC2))
    pipe.notify(alert(priority=Priority.LOW, mac=None, ipv6=None))
    first, second = calls(out)
    assert first["argv"] == [str(out), "two words"]
    assert first["stdin"] == mail_body(alert(mac2=MAC2)) + "\n"
    assert first["env"] == {
        "NDPMON_REASON": "wrong ipv6 router", "NDPMON_PRIORITY": "high",
        "NDPMON_MESSAGE": "wrong ipv6 router fe80::666", "NDPMON_MAC": "0:66:66:66:66:66",
        "NDPMON_MAC2": "0:0:5e:0:53:66", "NDPMON_IPV6": "fe80::666", "NDPMON_PROBE": "eth0"}
    assert second["env"]["NDPMON_PRIORITY"] == "low"
    assert (second["env"]["NDPMON_MAC"], second["env"]["NDPMON_MAC2"],
            second["env"]["NDPMON_IPV6"]) == ("", "", "")
    assert pipe.failures == 0


def test_pipe_hostile_text_runs_nothing(tmp_path):
    """Quotes, backticks and ``$(...)`` in packet text arrive verbatim and run nothing."""
    command, out = recorder(tmp_path)
    pwned = tmp_path / "pwned"
    text = HOSTILE.format(x=pwned)
    Pipe(command, timeout=30).notify(alert(text, reason=text))
    (seen,) = calls(out)
    assert not pwned.exists()
    assert seen["env"]["NDPMON_MESSAGE"] == text
    assert seen["env"]["NDPMON_REASON"] == text
    assert seen["stdin"].splitlines()[0] == "Reason:  " + text.replace("\n", "\\x0a")


def test_pipe_strips_nul_from_the_environment(tmp_path):
    """A NUL cannot be in an environment variable: it is dropped, the program still runs."""
    command, out = recorder(tmp_path)
    Pipe(command, timeout=30).notify(alert("a\0b"))
    assert calls(out)[0]["env"]["NDPMON_MESSAGE"] == "ab"


def test_hanging_program_is_killed_and_the_next_alert_delivered(tmp_path, caplog):
    """A program past exec_timeout is killed; the dispatcher goes on with the next alert."""
    command, out = recorder(tmp_path)
    pipe = Pipe(command, timeout=2)
    d = dispatcher(Routes(high=[pipe]))
    with caplog.at_level(logging.WARNING, "ndpmon"):
        d.notify(alert("hang"))
        d.notify(alert("after"))
        d.stop(timeout=30)
    assert [c["env"]["NDPMON_MESSAGE"] for c in calls(out)] == ["after"]
    assert pipe.failures == 1 and d.failures == 1
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == f"exec_pipe_program {sys.executable}: killed after 2 s " \
                   "(alert 'wrong ipv6 router')"


def test_timeout_kills_the_whole_process_group(tmp_path):
    """A child the program started is killed with it."""
    pidfile = tmp_path / "child.pid"
    script = tmp_path / "spawn.sh"
    script.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {shlex.quote(str(pidfile))}\n"
                      "wait\n")
    script.chmod(0o755)
    Pipe(shlex.quote(str(script)), timeout=2).notify(alert())
    pid = int(pidfile.read_text())

    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        return state in ("Z", "X")
    wait_for(gone)


def test_failing_and_missing_programs_are_logged(tmp_path, caplog):
    """A nonzero exit (with its stderr), a missing program and bad quoting: logged only."""
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/sh\necho 'no such user' >&2\nexit 3\n")
    script.chmod(0o755)
    with caplog.at_level(logging.WARNING, "ndpmon"):
        failing = Pipe(str(script))
        failing.notify(alert())
        missing = Pipe(str(tmp_path / "absent") + " -v")
        missing.notify(alert())
        unbalanced = Pipe("prog 'open")
        unbalanced.notify(alert())
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"exec_pipe_program {script}: exit status 3: no such user (alert 'wrong ipv6 router')",
        f"exec_pipe_program {tmp_path / 'absent'}: cannot run: No such file or directory",
        "exec_pipe_program \"prog 'open\": No closing quotation; not run"]
    assert (failing.failures, missing.failures, unbalanced.failures) == (1, 1, 1)


# -- syslog --------------------------------------------------------------------------------

@pytest.fixture
def dgram_server(tmp_path):
    """A datagram UNIX socket standing in for /dev/log."""
    path = str(tmp_path / "log")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(10)
    yield path, server
    server.close()


def test_syslog_wire_format(dgram_server, monkeypatch):
    """glibc's datagram: ``<PRI>Mmm dd hh:mm:ss NDPMon[pid]:  message `` (local time)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        path, server = dgram_server
        client = Syslog(path, "LOG_LOCAL1", clock=lambda: 1767225600.0 + 5 * 86400 + 3723)
        client.start()
        client.notify(alert())
        client.notice(start_text())
        client.stop()
    finally:
        monkeypatch.undo()
        time.tzset()
    pid = os.getpid()
    assert server.recv(4096) == (b"<142>Jan  6 01:02:03 NDPMon[%d]:  wrong ipv6 router "
                                 b"fe80::666 " % pid)
    assert server.recv(4096) == b"<141>Jan  6 01:02:03 NDPMon[%d]: NDPMon started by user %d" \
        % (pid, os.getuid())


def test_syslog_facility_and_nul(dgram_server):
    """LOG_DAEMON at info is <30>; a NUL is written out, not sent."""
    path, server = dgram_server
    client = Syslog(path, "LOG_DAEMON")
    client.notify(alert("a\0b"))
    data = server.recv(4096)
    assert data.startswith(b"<30>") and data.endswith(b":  a\\x00b ")


def test_syslog_stream_socket_gets_nul_terminated_lines(tmp_path):
    """A stream /dev/log (EPROTOTYPE on a datagram connect) is used as glibc does."""
    path = str(tmp_path / "log")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(10)
    client = Syslog(path)
    client.notify(alert("one"))
    client.notify(alert("two"))
    conn, _ = server.accept()
    conn.settimeout(10)
    data = b""
    while data.count(b"\0") < 2:
        data += conn.recv(4096)
    lines = data.split(b"\0")
    assert lines[0].endswith(b":  one ") and lines[1].endswith(b":  two ")
    client.stop()
    conn.close()
    server.close()


def test_syslog_reconnects_after_daemon_restart(dgram_server):
    """The daemon re-creating its socket costs no line: one reconnect, then resend."""
    path, server = dgram_server
    client = Syslog(path)
    client.notify(alert("before"))
    assert server.recv(4096).endswith(b"before ")
    server.close()
    os.unlink(path)
    again = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    again.bind(path)
    again.settimeout(10)
    client.notify(alert("after"))
    assert again.recv(4096).endswith(b"after ")
    assert client.failures == 0
    again.close()


def test_missing_syslog_socket_warns_once(tmp_path, caplog):
    """No daemon: one warning for many alerts, each counted as a failure."""
    client = Syslog(str(tmp_path / "nothing"))
    with caplog.at_level(logging.WARNING, "ndpmon"):
        client.start()
        for _ in range(3):
            client.notify(alert())
    assert [r.getMessage() for r in caplog.records] == [
        f"syslog socket {tmp_path / 'nothing'}: No such file or directory; "
        "syslog alerts are dropped until it works"]
    assert client.failures == 3


# -- mail ----------------------------------------------------------------------------------

def test_subject_is_one_line():
    """Newlines and other control characters (C0, DEL, C1, U+2028) are written visibly
    as ``\\x0a`` (issue 15 item 7: before, they became spaces, and the reader could not
    tell); a trailing newline is dropped."""
    assert subject("new IP 0:1:2:3:4:5 2001:db8::1\n") == \
        "NDPMon_Security_Alert: new IP 0:1:2:3:4:5 2001:db8::1"
    assert subject("a\r\nBcc: evil@example.com\x00b\x1b[2J\x85\u2028c") == \
        ("NDPMon_Security_Alert: a\\x0d\\x0aBcc: evil@example.com\\x00b\\x1b[2J"
         "\\x85\\u2028c")


def test_mail_message_headers_and_body():
    """To, From, Subject and the body + blank line; no smuggled header."""
    msg = mail_message(alert("x\nBcc: evil@example.com"), "root@localhost, ops@example.com",
                       "ndpmon@example.com", mail_body(alert()))
    assert msg["To"] == "root@localhost, ops@example.com"
    assert msg["From"] == "ndpmon@example.com"
    assert msg["Subject"] == "NDPMon_Security_Alert: x\\x0aBcc: evil@example.com"
    assert msg["Bcc"] is None and msg["Date"]
    assert msg.get_content() == mail_body(alert()) + "\n"
    assert recipients("a@x b@y,c@z") == ["a@x", "b@y", "c@z"]


def test_mail_failure_is_logged_not_raised(caplog):
    """A refused SMTP connection is one warning line and a counted failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mail = Mail(Settings(delivery=Delivery(mail_relay=("127.0.0.1", port), exec_timeout=5)))
    with caplog.at_level(logging.WARNING, "ndpmon"):
        mail.notify(alert())
    assert [r.getMessage() for r in caplog.records] == [
        f"mail alert to root@localhost not sent: SMTP 127.0.0.1:{port}: Connection refused"]
    assert caplog.records[0].exc_info is None
    assert mail.failures == 1
