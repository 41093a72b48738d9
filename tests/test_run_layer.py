"""The run layer's seams: SIGHUP with a store, outputs that cannot write, report and
query on a FIFO, one policy for failing plugin hooks, RunOptions as the one home of
what a run writes.

The command-line cases run ``python -m ndpmon`` as a subprocess, with a timeout: a
hang (a FIFO opened with plain ``open()``) fails the test instead of blocking the suite.
"""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from plugkit import REPO, config_text, load

from ndpmon.engine.engine import Engine
from ndpmon.engine.plugin import Plugin
from ndpmon.run.options import RunOptions
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.plugins import LOG_EVERY, PluginGuard, load_all

STORE = '<store url="postgresql://ndpmon@localhost/ndpmon"/>\n  </settings>'
TIMEOUT = 30
LIMIT = 2**20  # RLIMIT_FSIZE of the run whose JSON alerts cannot grow


def ndpmon(*args: str) -> subprocess.CompletedProcess:
    """``ndpmon ARGS`` from the repository root; stdin closed, a timeout against hangs."""
    return subprocess.run([sys.executable, "-m", "ndpmon", *args], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT)


# -- SIGHUP with a <store> ---------------------------------------------------------------


def test_sighup_with_a_store_keeps_quiet_about_plugins(tmp_path, caplog):
    """With ``<store>`` the store plugin runs beside the config's plugins: a SIGHUP with
    the same config does not claim the plugins changed (it did on every SIGHUP)."""
    pytest.importorskip("psycopg")
    config = load(tmp_path, config_text().replace("</settings>", STORE))
    pipeline = Pipeline(Engine(config, plugins=load_all(config)), [])
    assert [p.name for p in pipeline.engine.plugins] == ["store"]
    caplog.set_level(logging.INFO, "ndpmon")
    pipeline.reload(config)
    assert "plugins changed" not in caplog.text


def test_sighup_still_sees_a_new_plugin_beside_the_store(tmp_path, caplog):
    """The store is not a blind spot: a plugin switched on in the new config (beside
    the store) is still reported as needing a restart."""
    pytest.importorskip("psycopg")
    config = load(tmp_path, config_text().replace("</settings>", STORE))
    pipeline = Pipeline(Engine(config, plugins=load_all(config)), [])
    more = load(tmp_path, config_text('    <plugin name="mac_resolv"/>').replace(
        "</settings>", STORE))
    caplog.set_level(logging.INFO, "ndpmon")
    pipeline.reload(more)
    assert "SIGHUP: the plugins changed; restart ndpmon to load them (running: store)" \
        in caplog.text


# -- an output that cannot write ---------------------------------------------------------


def test_json_alerts_that_cannot_grow_log_one_line_and_the_run_goes_on(tmp_path):
    """``--json-alerts`` on a file already at the process's size limit (RLIMIT_FSIZE:
    every append fails with EFBIG, as on a full disk): no traceback; one line names the
    file and the error, one ``output failure`` alert tells the other outputs (here the
    console), one line at the end counts the alerts lost; the replay still ends normally
    (exit 0, its summary, the cache and alerts.xml). (This used /dev/full: a device is
    no longer an output, issue 14.)"""
    cache, jsonl = tmp_path / "cache.xml", tmp_path / "alerts.jsonl"
    jsonl.write_bytes(b"\n" * LIMIT)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    out = subprocess.run([sys.executable, "-m", "ndpmon", "-r", "samples/demo.pcap", "-f",
                          "config_ndpmon.xml", "-g", str(cache), "--json-alerts", str(jsonl)],
                         cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=TIMEOUT, preexec_fn=limit)
    assert "Traceback" not in out.stderr
    named = [line for line in out.stderr.splitlines() if "JSON alerts" in line]
    why = f"JSON alerts: {jsonl}: cannot write: File too large; its alerts are dropped " \
          "until it works again"
    assert named == [f"ndpmon: output {why}",
                     f"2026-01-01T00:00:09Z eth0 high: output failure: {why}",
                     "ndpmon: output JSON alerts: 11 alerts not written in all (1 failed "
                     "writes)"]
    assert out.returncode == 0
    assert "samples/demo.pcap: 10 frames" in out.stderr
    assert cache.exists() and (tmp_path / "alerts.xml").exists()


# -- report and query on a FIFO ----------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def one_line_exit_2(out: subprocess.CompletedProcess, path: Path) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr == f"ndpmon: {path}: cannot read: not a regular file\n"


def test_report_refuses_a_fifo_as_the_cache(tmp_path, fifo):
    """``ndpmon report -g FIFO``: one line, exit 2, no hang (it used plain open())."""
    out = ndpmon("report", "-f", "config_ndpmon.xml", "-g", str(fifo),
                 "--alerts", str(tmp_path / "none.xml"), "--out", str(tmp_path / "w"))
    one_line_exit_2(out, fifo)


def test_report_refuses_a_fifo_as_alerts_xml(tmp_path, fifo):
    """``ndpmon report --alerts FIFO``: one line, exit 2, no hang."""
    cache = tmp_path / "cache.xml"
    cache.write_text("")
    out = ndpmon("report", "-f", "config_ndpmon.xml", "-g", str(cache),
                 "--alerts", str(fifo), "--out", str(tmp_path / "w"))
    one_line_exit_2(out, fifo)


def test_query_refuses_a_fifo_as_the_cache(tmp_path, fifo):
    """``ndpmon query --files -g FIFO``: one line, exit 2, no hang."""
    out = ndpmon("query", "--files", "mac", "00:11:22:33:44:55", "-g", str(fifo),
                 "--alerts", str(tmp_path / "none.xml"))
    one_line_exit_2(out, fifo)


def test_query_refuses_a_fifo_as_alerts_xml(tmp_path, fifo):
    """``ndpmon query --files --alerts FIFO``: one line, exit 2, no hang."""
    cache = tmp_path / "cache.xml"
    cache.write_text("")
    out = ndpmon("query", "--files", "since", "2h", "-g", str(cache), "--alerts", str(fifo))
    one_line_exit_2(out, fifo)


# -- one policy for failing plugin hooks -------------------------------------------------


class Broken(Plugin):
    """Every hook it has raises."""

    def notify(self, alert):
        raise RuntimeError("boom")


def test_each_plugin_and_hook_logs_its_own_first_failure(caplog):
    """Two broken plugins: the first failure of each is logged (one shared counter hid
    the second plugin's), then every LOG_EVERY-th of each with its own count."""
    from ndpmon.checks.alert import Alert, Priority

    first, second = Broken({}, None), Broken({}, None)
    first.name, second.name = "one", "two"
    guard = PluginGuard()
    alert = Alert(0.0, "lan0", Priority.LOW, "test", "test")
    for _ in range(LOG_EVERY + 1):
        for plugin in (first, second):
            assert guard.call(plugin, "notify", alert, about=alert.reason) is None
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "plugin one: notify failed on 'test': RuntimeError: boom (1 failures)",
        "plugin two: notify failed on 'test': RuntimeError: boom (1 failures)",
        f"plugin one: notify failed on 'test': RuntimeError: boom ({LOG_EVERY + 1} failures)",
        f"plugin two: notify failed on 'test': RuntimeError: boom ({LOG_EVERY + 1} failures)"]
    assert guard.total == 2 * (LOG_EVERY + 1)


# -- RunOptions ----------------------------------------------------------------------------


def test_run_options_own_what_a_run_writes():
    """alerts.xml beside the cache unless told; the outputs a run writes, in order."""
    options = RunOptions(cache="var/cache.xml", json_alerts="a.jsonl", pidfile="p.pid")
    assert options.alerts_path == os.path.join(os.path.abspath("var"), "alerts.xml")
    assert options.output_files("c.xml") == [
        "var/cache.xml", options.alerts_path, "a.jsonl", "p.pid"]
    learning = RunOptions(learn=True, no_alerts_xml=True, json_alerts="-")
    assert learning.alerts_path is None
    assert learning.output_files("c.xml") == [learning.cache, "c.xml"]
    assert RunOptions(alerts_xml="x.xml").alerts_path == "x.xml"
