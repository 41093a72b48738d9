"""The webreport plugin: the HTML pages follow every cache save, through the CLI too."""

from __future__ import annotations


import pytest
from plugkit import ROGUE_LLA, ROGUE_MAC, config_text, engine_for, load, ns, ra, write_config

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
