"""The exit summary's delivery counts say what they count, per action (issue 18, item 4).

"N delivered" counted alerts handed to the worker, whatever the actions did with them;
the failure count included syslog's start and stop notices (a run with 0 alerts said
``2 failures``); the missing-syslog-socket warning came again at every SIGHUP. Here
real actions (syslog on a real or a missing socket, a pipe program that exits 0 or 1)
run behind a real Dispatcher.
"""

from __future__ import annotations

import logging
import socket
import time

from ndpmon.alerts.dispatch import Dispatcher
from ndpmon.checks.alert import Alert, Priority
from ndpmon.config.model import ActionSet, Delivery, Settings

MAC = bytes.fromhex("006666666666")


def alert(message: str = "wrong ipv6 router fe80::666") -> Alert:
    return Alert(1767225600.0, "eth0", Priority.HIGH, "wrong ipv6 router", message, mac=MAC)


def settings(sock: str, pipe: str = "") -> Settings:
    high = ActionSet(syslog=True, exec_pipe_program=pipe)
    return Settings(actions_high=high, actions_low=ActionSet(),
                    delivery=Delivery(syslog_socket=sock, dedupe_window=0))


def run(config: Settings, *alerts: Alert, reload: Settings | None = None) -> Dispatcher:
    """A dispatcher started, fed, reloaded once if asked (SIGHUP), and stopped."""
    d = Dispatcher(config, tick=0.02)
    d.start()
    for one in alerts:
        d.notify(one)
    if reload is not None:
        d.reconfigure(reload)
    d.stop()
    return d


def test_no_alert_counts_no_failure_even_without_a_syslog_socket(tmp_path):
    """A run with 0 alerts and no syslog daemon: the start and stop notices failed, but they are
    not alerts: ``syslog: 0 sent, 0 failed`` (it said ``2 failures``)."""
    d = run(settings(str(tmp_path / "missing.sock")))
    assert d.failures == 0
    assert d.by_action() == {"syslog": (0, 0)}
    assert d.summary() == ("syslog: 0 sent, 0 failed; 0 held back (repeats, burst), "
                           "0 dropped (queue full), 0 still queued")


def test_each_action_counts_what_it_sent_and_what_failed(tmp_path):
    """Two alerts to a live syslog socket and a pipe that exits 1: syslog 2 sent; the pipe 2
    failed. A missing socket: syslog 2 failed. "Handed" is what the worker passed on."""
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        d = run(settings(path, pipe="/bin/false"), alert("a"), alert("b"))
    assert d.by_action() == {"pipe /bin/false": (0, 2), "syslog": (2, 0)}
    assert (d.handed, d.failures) == (2, 2)
    d = run(settings(str(tmp_path / "missing.sock"), pipe="/bin/true"), alert("a"), alert("b"))
    assert d.by_action() == {"pipe /bin/true": (2, 0), "syslog": (0, 2)}


def test_missing_syslog_socket_is_logged_once_across_sighup(tmp_path, caplog):
    """The README says a missing socket is logged once: a SIGHUP (new actions, same socket) does
    not log it again, nor do the alerts after it."""
    config = settings(str(tmp_path / "missing.sock"))
    with caplog.at_level(logging.WARNING, "ndpmon"):
        d = Dispatcher(config, tick=0.02)
        d.start()
        d.notify(alert("a"))
        time.sleep(0.1)
        d.reconfigure(config)
        d.reconfigure(config)
        d.notify(alert("b"))
        d.stop()
    warnings = [r.getMessage() for r in caplog.records if "syslog socket" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert d.by_action() == {"syslog": (0, 2)}
