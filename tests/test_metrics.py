"""Prometheus metrics (``<metrics listen>``, ndpmon.run.metrics), without a network namespace.

The config element and its errors; the live loop publishing a snapshot on its tick (not per
frame) that a scrape reads; the HTTP endpoint (text format by prometheus_client, 404
elsewhere, a busy port a one-line config error); ``promtool check metrics`` on the output;
the contrib/ rules (``promtool check rules`` and their unit tests) and the Grafana
dashboard naming only metrics ndpmon exposes. Prometheus scraping a live ndpmon:
tests/test_metrics_live.py.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import generator
from needs import need_tool
from services import wait_for
from test_monitor import build, rogue_ra

from ndpmon.commands.main import main
from ndpmon.config import loader
from ndpmon.config.model import Metrics
from ndpmon.errors import ConfigError
from ndpmon.run import metrics
from ndpmon.run.live import DROPS_EVERY

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "contrib" / "prometheus"
DASHBOARD = REPO / "contrib" / "grafana" / "ndpmon.json"

CONFIG = """\
<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>{metrics}
  </settings>
  <probes><probe name="lan0" type="interface"/></probes>
</config_ndpmon>
"""

gen = generator()


def write(tmp_path: Path, metrics_xml: str) -> Path:
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(CONFIG.format(metrics="\n    " + metrics_xml if metrics_xml else ""))
    return path


# -- the config ---------------------------------------------------------------------------------

@pytest.mark.parametrize("xml, wanted", [
    ('<metrics/>', Metrics("127.0.0.1", 9464)),
    ('<metrics listen="9100"/>', Metrics("127.0.0.1", 9100)),
    ('<metrics listen="0.0.0.0:9464"/>', Metrics("0.0.0.0", 9464)),
    ('<metrics listen=" [::1]:8080 "/>', Metrics("::1", 8080)),
    ('', None),
])
def test_metrics_element(tmp_path, xml, wanted):
    """``<metrics>`` is optional (old configs stay valid); ``listen`` defaults to
    127.0.0.1:9464; its line is kept for errors."""
    settings = loader.load(str(write(tmp_path, xml))).settings
    assert settings.metrics == wanted
    if wanted is not None:
        assert settings.metrics.line == 9


def test_loading_a_config_with_metrics_does_not_import_prometheus_client(tmp_path):
    """prometheus_client is imported only when the metrics are served."""
    path = write(tmp_path, '<metrics listen="127.0.0.1:9100"/>')
    code = ("import sys; from ndpmon.config import loader; import ndpmon.run.session, "
            "ndpmon.commands.main; c = loader.load(sys.argv[1]); "
            "assert c.settings.metrics.port == 9100, c; "
            "assert 'prometheus_client' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("listen, what", [
    ("localhost:9464", "an IP address, not a host name"),
    ("127.0.0.1:0", "the port 1-65535"),
    ("127.0.0.1:65536", "the port 1-65535"),
    ("[::1]", "IPv4:PORT, [IPv6]:PORT or PORT"),
    ("[127.0.0.1]:80", "IPv4:PORT, [IPv6]:PORT or PORT"),
])
def test_a_bad_listen_address_is_a_one_line_error_exit_2(tmp_path, capsys, listen, what):
    path = write(tmp_path, f'<metrics listen="{listen}"/>')
    code = main(["-f", str(path), "-g", str(tmp_path / "cache.xml"), "--check-config"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"ndpmon: {path}:9: <metrics listen>: not a listen address (")
    assert what in err and err.endswith(f": '{listen}'\n") and err.count("\n") == 1


def test_metrics_comes_last_in_settings(tmp_path):
    """The DTD puts ``<metrics>`` after ``<store>``: a config with both loads."""
    path = write(tmp_path, '<store url="postgresql://db/ndpmon"/>\n    <metrics/>')
    settings = loader.load(str(path)).settings
    assert settings.store is not None and settings.metrics == Metrics()


# -- the snapshot and the collector -------------------------------------------------------------

class Lanes:
    """A capture's lane_stats(): what it would count, fixed."""

    ports = {"lan0": None}

    def lane_stats(self):
        return {"lan0": {"router": (12, 0), "extension": (0, 0), "neighbor": (30, 4)}}


def scrape(source: metrics.Source, up=lambda name: name == "lan0") -> dict:
    """``{(name, labels...): value}`` of the collector's families as prometheus_client
    writes them (label values in label-name order)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    registry = CollectorRegistry()
    registry.register(metrics.Collector(source, up))
    text = generate_latest(registry).decode()
    return {(s.name, *(v for _k, v in sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def monitored(steps):
    """A Monitor over a scripted capture with lane counters, and its metrics source."""
    monitor, recorder, _saves, capture = build(steps)
    capture.lane_stats = Lanes().lane_stats
    capture.ports = Lanes.ports
    source = metrics.Source(monitor)
    monitor.observe = source.publish
    return monitor, source


def test_the_loop_publishes_what_it_counted_on_its_tick():
    """Frames, alerts by reason and priority, lanes, neighbours: the scrape reads what the
    loop counted, as published on its tick."""
    not_nd = b"\x00" * 20  # too short for IPv6: counted, not ND
    na = gen.na(gen.A, gen.lla(gen.A), gen.lla(gen.A))
    monitor, source = monitored([[("lan0", [(1.0, rogue_ra()), (1.1, not_nd), (1.2, na)])]])
    before = scrape(source)
    assert before[("ndpmon_frames_total",)] == 0
    monitor.run()
    after = scrape(source)
    assert after[("ndpmon_frames_total",)] == 3
    assert after[("ndpmon_alerts_total", "high", "wrong ipv6 router")] == 1
    assert sum(v for k, v in after.items() if k[0] == "ndpmon_alerts_total") == \
        sum(monitor.alerts.values())
    assert sum(v for k, v in after.items() if k[0] == "ndpmon_frames_not_nd_total") == 1
    assert after[("ndpmon_capture_frames_total", "lan0", "neighbor")] == 30
    assert after[("ndpmon_capture_drops_total", "lan0", "neighbor")] == 4
    assert after[("ndpmon_neighbors", "lan0")] == len(monitor.pipeline.engine.probes["lan0"]
                                                      .neighbors) == 1
    assert after[("ndpmon_probe_messages_total", "lan0")] == 2  # the RA and the NA
    assert after[("ndpmon_interface_up", "lan0")] == 1
    assert ("ndpmon_build_info", metrics.__version__) in after


def test_publishing_is_per_tick_not_per_frame():
    """A read of many frames publishes at most once; scrapes in between see the last
    snapshot, the same object (nothing is computed per scrape from live state)."""
    frames = [(1.0 + i * 1e-3, gen.na(gen.A, gen.lla(gen.A), gen.lla(gen.A))) for i in range(200)]
    monitor, source = monitored([[("lan0", frames)]] * 3)
    ticks = []
    monitor.observe = lambda: ticks.append(source.publish())
    monitor.run()
    assert 1 <= len(ticks) <= 4  # one per read at most (the fake clock moves 1 s a read)
    snap = source.snapshot
    assert scrape(source)[("ndpmon_frames_total",)] == 600
    assert source.snapshot is snap
    assert DROPS_EVERY <= 0.5


def test_delivery_and_held_back_alerts_are_exposed():
    """The summariser's held back alerts and each action's delivered and failed alerts."""
    from ndpmon.alerts.summary import Summarised
    from ndpmon.alerts.dispatch import Dispatcher

    monitor, source = monitored([[("lan0", [(1.0, rogue_ra())])]])

    class Tally(Dispatcher):
        def __init__(self):
            pass

        held_back, overflow = 5, 2

        def by_action(self):
            return {"mail": (3, 1), "syslog": (4, 0), "pipe /usr/local/bin/high": (2, 1),
                    "pipe /usr/local/bin/low": (5, 0)}

        def counters(self):
            return {"overflow": 2, "queued": 6}

    summarised = Summarised([], 60, 1)
    summarised.budget.held_back, summarised.summaries = 9, 2
    monitor.pipeline.actions = [summarised, Tally()]
    source.publish()
    got = scrape(source)
    assert got[("ndpmon_alerts_held_back_total", "local")] == 9
    assert got[("ndpmon_alerts_held_back_total", "delivery")] == 5
    assert got[("ndpmon_alert_summaries_total",)] == 2
    assert got[("ndpmon_delivery_sent_total", "mail")] == 3
    assert got[("ndpmon_delivery_failed_total", "mail")] == 1
    assert got[("ndpmon_delivery_sent_total", "pipe")] == 7  # both programs, no path shown
    assert got[("ndpmon_delivery_failed_total", "pipe")] == 1
    assert got[("ndpmon_delivery_queue_length",)] == 6
    assert got[("ndpmon_delivery_overflow_total",)] == 2


def test_the_last_cache_save_is_exposed(tmp_path):
    """The time of the last save written, in the background or at once; none before."""
    from ndpmon.run.cachesave import CacheSaver

    monitor, _source = monitored([])
    saver = CacheSaver(monitor.pipeline.engine, str(tmp_path / "cache.xml"))
    source = metrics.Source(monitor, saver)
    assert ("ndpmon_cache_last_save_timestamp_seconds",) not in scrape(source)
    saver.save_in_background()
    wait_for(lambda: saver.outcome()[0] == 1)
    source.publish()
    first = scrape(source)[("ndpmon_cache_last_save_timestamp_seconds",)]
    assert first == saver.saved_at and (tmp_path / "cache.xml").exists()
    saver.save()
    source.publish()
    assert scrape(source)[("ndpmon_cache_last_save_timestamp_seconds",)] >= first


def test_a_reload_that_changes_metrics_says_it_needs_a_restart(caplog):
    monitor, source = monitored([])
    engine = monitor.pipeline.engine
    source.listening = Metrics()
    engine.config = replace(engine.config, settings=replace(engine.config.settings,
                                                            metrics=Metrics()))
    with caplog.at_level(logging.WARNING, logger="ndpmon"):
        source.publish()  # the same <metrics>: nothing to say
        assert "restart" not in caplog.text
        engine.config = replace(engine.config, settings=replace(engine.config.settings,
                                                                metrics=Metrics(port=9100)))
        source.publish()
    assert "SIGHUP: <metrics> changed; restart ndpmon" in caplog.text


def test_interface_up():
    assert metrics.interface_up("lo")
    assert not metrics.interface_up("nosuch0")


# -- the HTTP endpoint ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.fixture
def served():
    """A Server on a free localhost port over a monitor that ran one rogue RA."""
    monitor, source = monitored([[("lan0", [(1.0, rogue_ra())])]])
    monitor.run()
    settings = Metrics("127.0.0.1", free_port())
    server = metrics.Server(settings, source)
    server.serve()
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.close()


def test_the_endpoint_serves_the_text_format(served):
    status, kind, text = get(served + "/metrics")
    assert status == 200 and kind.startswith("text/plain; version=0.0.4")
    assert 'ndpmon_alerts_total{priority="high",reason="wrong ipv6 router"} 1.0' in text
    assert "process_resident_memory_bytes " in text  # prometheus_client's process collector
    assert get(served + "/etc/passwd")[0] == 404


def test_promtool_check_metrics_passes(served):
    promtool = need_tool("promtool")["promtool"]
    text = get(served + "/metrics")[2]
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_busy_port_is_a_config_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monitor, source = monitored([])
        with pytest.raises(ConfigError) as caught:
            metrics.Server(Metrics("127.0.0.1", port, line=12), source, "config_ndpmon.xml")
    assert str(caught.value) == (f"config_ndpmon.xml:12: <metrics listen>: cannot listen on "
                                 f"127.0.0.1:{port}: Address already in use")


def test_a_non_loopback_address_is_warned_about(caplog):
    monitor, source = monitored([])
    with caplog.at_level(logging.WARNING, logger="ndpmon"):
        server = metrics.Server(Metrics("0.0.0.0", free_port()), source)
    server.close()
    assert "reachable from other hosts" in caplog.text
    assert metrics.is_loopback("::1") and metrics.is_loopback("127.0.0.2")
    assert not metrics.is_loopback("::")


def test_start_binds_and_hooks_the_tick_only_with_metrics():
    monitor, _source = monitored([])
    monitor.observe = None
    assert metrics.start(monitor, None) is None and monitor.observe is None
    engine = monitor.pipeline.engine
    settings = replace(engine.config.settings, metrics=Metrics("127.0.0.1", free_port()))
    engine.config = replace(engine.config, settings=settings)
    server = metrics.start(monitor, None)
    try:
        assert server is not None and monitor.observe is not None
    finally:
        server.close()


# -- contrib/: the alerting rules and the dashboard ---------------------------------------------

def test_rules_pass_promtool_check_and_their_unit_tests():
    promtool = need_tool("promtool")["promtool"]
    for args in (["check", "rules", "ndpmon-rules.yml"],
                 ["test", "rules", "ndpmon-rules.test.yml"]):
        done = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def exposed_names(text: str) -> set[str]:
    """Every metric and sample name in an exposition text (families without samples
    too: their TYPE line)."""
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return names | {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines()
                    if line and not line.startswith("#")}


def dashboard_queries(node) -> list[str]:
    """The PromQL of every panel target and template variable, recursively."""
    if isinstance(node, dict):
        own = [node[key] for key in ("expr", "definition") if isinstance(node.get(key), str)]
        return own + [q for value in node.values() for q in dashboard_queries(value)]
    if isinstance(node, list):
        return [q for value in node for q in dashboard_queries(value)]
    return []


def test_dashboard_and_rules_name_only_metrics_ndpmon_exposes(served):
    exposed = exposed_names(get(served + "/metrics")[2])
    dashboard = json.loads(DASHBOARD.read_text())
    queries = dashboard_queries(dashboard["panels"]) + dashboard_queries(dashboard["templating"])
    rules = re.findall(r"^\s*expr: (.*(?:\n\s{10}\S.*)*)", (RULES / "ndpmon-rules.yml").read_text(),
                       re.M)
    assert len(queries) > 20 and len(rules) > 10
    used = {name for query in queries + rules
            for name in re.findall(r"\b((?:ndpmon|process)_[a-z_]+)\b", query)}
    assert "ndpmon_capture_frames_total" in used and "ndpmon_interface_up" in used
    assert used - exposed == set()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert all(p["targets"] and p["datasource"]["uid"] == "${datasource}" for p in panels)
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
