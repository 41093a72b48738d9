"""The webreport plugin: the HTML pages follow every cache save, through the CLI too."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from plugkit import (REPO, ROGUE_LLA, ROGUE_MAC, config_text, engine_for, load, ns, ra,
                     write_config)
from services import wait_for

from ndpmon.commands.main import main
from ndpmon.engine.plugin import PluginError
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.session import save_cache

WEB = '    <plugin name="webreport"><param name="out" value="web"/></plugin>'


def test_pages_follow_each_save_and_the_last_render_is_synchronous(tmp_path):
    """The webreport pages are rendered after each cache save, and the save at exit renders before
    it returns."""
    engine = engine_for(load(tmp_path, config_text(WEB)))
    (plugin,) = engine.plugins
    pipeline = Pipeline(engine, [])
    pipeline.start()
    cache = str(tmp_path / "neighbor_list.xml")
    pipeline.feed("lan0", [(1.0, ns("00:bb:00:00:00:02", "fe80::2bb:ff:fe00:2", "fe80::1"))])
    save_cache(engine, cache)
    worker = plugin._worker
    if worker is not None:
        worker.join(30)
    assert "0:bb:0:0:0:2" in (tmp_path / "web" / "neighbors.html").read_text()
    pipeline.feed("lan0", [(2.0, ns("00:bb:00:00:00:03", "fe80::2bb:ff:fe00:3", "fe80::1"))])
    pipeline.stop()
    save_cache(engine, cache)  # the save at exit: rendered before save_cache returns
    assert "0:bb:0:0:0:3" in (tmp_path / "web" / "neighbors.html").read_text()


def test_replay_writes_the_report_with_the_alert(tmp_path):
    """A replay with the webreport plugin writes the pages, the rogue RA's alert in alerts.html."""
    from scapy.utils import wrpcap

    path = write_config(tmp_path, config_text(WEB))
    pcap = tmp_path / "rogue.pcap"
    from scapy.layers.l2 import Ether

    wrpcap(str(pcap), [Ether(ra(ROGUE_MAC, ROGUE_LLA))])
    assert main(["-f", path, "-g", str(tmp_path / "neighbor_list.xml"), "-r", str(pcap),
                 "-q"]) == 0
    alerts = (tmp_path / "web" / "alerts.html").read_text()
    assert "wrong ipv6 router" in alerts and "0:66:66:66:66:66" in alerts
    assert (tmp_path / "web" / "index.html").exists()


@pytest.mark.parametrize("params, message", [
    ("", "<param name=\"out\"> (the directory of the pages) is missing"),
    ('<param name="out" value="w"/><param name="colour" value="red"/>',
     "unknown <param name='colour'>"),
])
def test_bad_parameters_are_one_line_errors(tmp_path, params, message):
    """A missing ``out`` or an unknown ``<param>`` of webreport is a one-line PluginError naming the
    plugin."""
    text = config_text(f'    <plugin name="webreport">{params}</plugin>')
    with pytest.raises(PluginError) as err:
        engine_for(load(tmp_path, text))
    assert "webreport" in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


# -- the render as a child process (issue 15, item 2) ------------------------------------


def vm_kib(field: str) -> int:
    """This process's VmRSS or VmHWM in KiB."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def web_plugin(tmp_path, params: str = ""):
    """The webreport plugin of a config in ``tmp_path``, and a saved (empty) cache."""
    web = f'    <plugin name="webreport"><param name="out" value="web"/>{params}</plugin>'
    (plugin,) = engine_for(load(tmp_path, config_text(web))).plugins
    cache = str(tmp_path / "neighbor_list.xml")
    save_cache(engine_for(load(tmp_path, config_text(""))), cache)
    return plugin, cache


def test_the_render_never_grows_the_monitor(tmp_path):
    """The plugin renders in a child process: with an 80 MB alerts.xml beside the cache,
    the monitor's peak RSS (VmHWM, reset before) grows by far less than a parse of that
    file takes (about 850 MiB when the render ran in the monitor), and the pages are
    written."""
    from test_report import big_alerts_file

    plugin, cache = web_plugin(tmp_path)
    big_alerts_file(tmp_path / "alerts.xml", 200_000)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    before = vm_kib("VmRSS")
    plugin.render(cache)
    grown = vm_kib("VmHWM") - before
    assert grown < 100 * 1024, f"the monitor grew by {grown // 1024} MiB"
    assert "the newest alert" in (tmp_path / "web" / "alerts.html").read_text()


def test_a_render_over_its_memory_limit_is_stopped_and_logged(tmp_path, caplog):
    """A render that needs more than ``memory_limit`` MiB (a cache of 20,000 neighbours
    in 128 MiB) fails in its child: one line is logged, no page is written."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_report import write_cache

    plugin, cache = web_plugin(tmp_path, '<param name="memory_limit" value="128"/>')
    write_cache(cache, 20_000)
    plugin.render(cache)
    assert f"webreport: {tmp_path / 'web'}: not written: out of memory (over " \
           "--memory-limit 128 MiB)" in caplog.text
    assert not (tmp_path / "web" / "index.html").exists()


def slow_child(plugin, tmp_path) -> Path:
    """Make ``plugin`` start a child that sleeps a minute (a render that hangs) and
    writes its pid into the returned file."""
    pidfile = tmp_path / "child.pid"
    code = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); " \
           "time.sleep(60)"
    plugin.command = lambda cache: [sys.executable, "-c", code, str(pidfile)]
    return pidfile


def gone(pidfile: Path) -> bool:
    """The process whose pid is in ``pidfile`` has ended (and was reaped)."""
    return not Path(f"/proc/{pidfile.read_text()}").exists()


def test_the_render_at_exit_is_stopped_after_its_time_limit(tmp_path, caplog, monkeypatch):
    """Live, the render at exit waits at most EXIT_SECONDS (10 s, well within systemd's
    TimeoutStopSec=30; 1 s here), whatever ``time_limit`` says: a hanging child is
    killed, one line is logged."""
    plugin, cache = web_plugin(tmp_path)
    module = sys.modules[type(plugin).__module__]
    assert module.EXIT_SECONDS <= 10 and plugin.time_limit > module.EXIT_SECONDS
    monkeypatch.setattr(module, "EXIT_SECONDS", 1)
    plugin.engine.live = True
    pidfile = slow_child(plugin, tmp_path)
    plugin.stop()
    plugin.cache_saved(cache)  # the save at exit
    assert gone(pidfile)
    assert f"webreport: {tmp_path / 'web'}: not written: the report took more than 1 s; " \
           "stopped" in caplog.text


def test_a_render_is_stopped_after_time_limit(tmp_path, caplog):
    """Any render (here one in a replay's exit) is killed after ``time_limit`` seconds."""
    plugin, cache = web_plugin(tmp_path, '<param name="time_limit" value="1"/>')
    pidfile = slow_child(plugin, tmp_path)
    plugin.render(cache)
    assert gone(pidfile)
    assert "the report took more than 1 s; stopped" in caplog.text


def test_stop_kills_a_running_render(tmp_path):
    """A render still running in the background when ndpmon stops is killed by ``stop``
    (the save at exit renders again), so it cannot hold up the stop."""
    plugin, cache = web_plugin(tmp_path)
    pidfile = slow_child(plugin, tmp_path)
    plugin.cache_saved(cache)
    wait_for(pidfile.exists)
    plugin.stop()
    assert gone(pidfile) and plugin._worker is None
