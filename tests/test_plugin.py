"""The plugin contract (ndpmon.engine.plugin): loading, one-line failures, and every hook.

The example plugin of plugins/README.md is taken from the README itself, so the
documented code is the tested code.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from ndpmon.checks.alert import Alert, Priority
from ndpmon.checks import CORE
from ndpmon.commands.main import main
from ndpmon.codec.message import NS
from ndpmon.engine.plugin import Plugin, PluginCheck, PluginError
from ndpmon.run.plugins import load_plugins, plugin_dirs
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.session import save_cache
from plugkit import (FIXTURES, REPO, ROGUE_LLA, ROGUE_MAC, config_text, engine_for, load,
                     ns, ra, write_config)

README = REPO / "plugins" / "README.md"


def readme_example() -> str:
    """The one python block of plugins/README.md."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1
    return blocks[0]


def example_config(tmp_path: Path, value: str = "1000") -> str:
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "long_lifetime.py").write_text(readme_example())
    return config_text(f'    <plugin name="long_lifetime"><param name="max_lifetime" '
                       f'value="{value}"/></plugin>')


def test_readme_example_plugin_loads_and_alerts(tmp_path):
    """The README's example, dropped into plugins/ beside the config, raises its alert
    on a known router's RA with a long lifetime, and not on a short one."""
    config = load(tmp_path, example_config(tmp_path))
    engine = engine_for(config)
    assert [p.name for p in engine.plugins] == ["long_lifetime"]
    alerts = engine.handle("lan0", 1.0, ra(lifetime=1800))
    assert [(a.reason, a.message, a.priority) for a in alerts] == [
        ("new station", "new station 0:11:22:33:44:55 fe80::1", Priority.LOW),
        ("long router lifetime", "router lifetime 1800 > 1000", Priority.LOW)]
    assert engine.handle("lan0", 2.0, ra(lifetime=600)) == []
    assert [a.reason for a in engine.handle("lan0", 3.0, ra(lifetime=1001))] == [
        "long router lifetime"]


def test_tail_checks_do_not_run_after_stop_on_error(tmp_path):
    """A plugin check without ``before`` runs only if no core check stopped the packet:
    a rogue RA gives ``wrong ipv6 router`` alone (NDPMon's rules, COMPATIBILITY.md §3.1)."""
    engine = engine_for(load(tmp_path, example_config(tmp_path)))
    alerts = engine.handle("lan0", 1.0, ra(ROGUE_MAC, ROGUE_LLA, lifetime=1800))
    assert [a.reason for a in alerts] == ["wrong ipv6 router"]


def test_bad_parameter_is_one_line_naming_plugin_and_line(tmp_path):
    """A parameter the plugin rejects: ``plugin NAME: FILE:LINE: what``."""
    config = load(tmp_path, example_config(tmp_path, "soon"))
    with pytest.raises(PluginError) as info:
        load_plugins(config)
    line = config.plugins[0].line
    assert str(info.value) == (f"plugin long_lifetime: {config.path}:{line}: max_lifetime: "
                               "not a number of seconds: 'soon'")


def fixture_config(tmp_path: Path, name: str) -> str:
    """A config switching on plugin ``name`` from tests/data/plugins."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures", dirs_exist_ok=True)
    return config_text(f'  <plugins dir="fixtures">\n    <plugin name="{name}"/>\n'
                       f'  </plugins>')


@pytest.mark.parametrize("name, message", [
    ("no_class", "fixtures/no_class.py: module has no 'Plugin' class"),
    ("not_subclass", "fixtures/not_subclass.py: 'Plugin' is not a subclass of "
                     "ndpmon.plugin.Plugin"),
    ("import_fails", "fixtures/import_fails.py: ModuleNotFoundError: No module named "
                     "'ndpmon_no_such_module'"),
    ("init_bug", "failed to start: KeyError: 'oops'"),
])
def test_broken_plugins_are_one_line_errors(tmp_path, name, message):
    """Each way a plugin can be broken gives one line that names it."""
    config = load(tmp_path, fixture_config(tmp_path, name))
    with pytest.raises(PluginError) as info:
        load_plugins(config)
    text = str(info.value).replace(str(tmp_path) + "/", "")
    assert text == f"plugin {name}: {message}"
    assert "\n" not in text


def test_syntax_error_names_the_line(tmp_path):
    """A plugin that does not compile: the file and its line."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "typo.py").write_text('"""x"""\n\ndef f(:\n    pass\n')
    config = load(tmp_path, config_text('    <plugin name="typo"/>'))
    with pytest.raises(PluginError) as info:
        load_plugins(config)
    assert str(info.value).startswith(f"plugin typo: {tmp_path}/plugins/typo.py: line 3: ")


def test_unknown_plugin_says_where_it_looked(tmp_path):
    """A plugin found nowhere: the folders searched and the entry point group."""
    config = load(tmp_path, config_text('    <plugin name="nosuch"/>'))
    with pytest.raises(PluginError) as info:
        load_plugins(config)
    dirs = ", ".join(str(d) for d in plugin_dirs(config))
    assert str(info.value) == (f"plugin nosuch: not found (no nosuch.py in {dirs}, and no "
                               "'ndpmon.plugins' entry point of that name)")


def test_check_config_reports_a_broken_plugin(tmp_path, capsys):
    """``ndpmon --check-config`` loads the plugins: exit 2 and one line on stderr."""
    path = write_config(tmp_path, fixture_config(tmp_path, "no_class"))
    rc = main(["--check-config", "-f", path, "-g", str(tmp_path / "cache.xml")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == (f"ndpmon: plugin no_class: {tmp_path}/fixtures/no_class.py: module has "
                   "no 'Plugin' class\n")


def test_plugin_name_twice_is_a_config_error(tmp_path, capsys):
    """The same plugin switched on twice is a config error with both lines."""
    text = config_text('    <plugin name="rules"/>\n    <plugin name="rules"/>')
    path = write_config(tmp_path, text)
    rc = main(["--check-config", "-f", path, "-g", str(tmp_path / "cache.xml")])
    err = capsys.readouterr().err
    lines = text.splitlines()
    first = lines.index('    <plugin name="rules"/>') + 1
    assert rc == 2
    assert err == (f"ndpmon: {path}:{first + 1}: <plugin name>: plugin 'rules' is already "
                   f"switched on on line {first}\n")


def test_entry_point_plugin(tmp_path, monkeypatch):
    """A plugin installed as a package is found through the ``ndpmon.plugins`` group."""
    site = tmp_path / "site"
    (site / "ep_demo-1.0.dist-info").mkdir(parents=True)
    (site / "ep_demo-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ep-demo\nVersion: 1.0\n")
    (site / "ep_demo-1.0.dist-info" / "entry_points.txt").write_text(
        "[ndpmon.plugins]\nep_demo = ep_demo_mod:Demo\n")
    (site / "ep_demo_mod.py").write_text(
        "from ndpmon.engine.plugin import Plugin\n\nclass Demo(Plugin):\n"
        "    description = 'from an entry point'\n")
    monkeypatch.syspath_prepend(str(site))
    config = load(tmp_path, config_text('    <plugin name="ep_demo"/>'))
    plugins = load_plugins(config)
    assert [(p.name, p.description) for p in plugins] == [("ep_demo", "from an entry point")]
    sys.modules.pop("ep_demo_mod", None)


class Recorder(Plugin):
    """Records every hook call; enriches alerts with a field; drops frames it is told to."""

    def __init__(self, params, config):
        super().__init__(params, config)
        self.calls: list[str] = []
        self.drop: set[bytes] = set()
        self.seen_before: list[bool] = []

    def checks(self):
        return [PluginCheck("before_station", self.before_station, frozenset((NS,)),
                            before="new_station", skip_unspecified=True)]

    def before_station(self, msg, ctx):
        """Runs before new_station: is the sender already in the cache?"""
        self.seen_before.append(msg.eth_src in ctx.state.neighbors.by_mac)
        return 0

    def frame(self, probe, now, frame):
        return frame in self.drop

    def enrich(self, alert):
        return alert._replace(extra={**alert.extra, "tag": "x"})

    def notify(self, alert):
        self.calls.append(f"notify {alert.reason} {alert.extra.get('tag')}")

    def on_cache_save(self, engine):
        self.calls.append(f"save {sum(len(s.neighbors) for s in engine.probes.values())}")

    def start(self):
        self.calls.append("start")

    def stop(self):
        self.calls.append("stop")


class Outputs:
    """An action recording what the outputs saw."""

    def __init__(self):
        self.alerts: list[Alert] = []

    def start(self):
        pass

    def notify(self, alert):
        self.alerts.append(alert)

    def flush(self):
        pass

    def stop(self):
        pass


def test_every_hook_in_order(tmp_path):
    """start; a check before new_station sees the cache before it learns the sender;
    outputs get the enriched alert, then the plugin's notify; a dropped frame reaches
    no check; on_cache_save before the save; stop."""
    from ndpmon.engine.engine import Engine

    config = load(tmp_path, config_text())
    rec = Recorder({}, config)
    rec.name = "recorder"
    engine = Engine(config, plugins=[rec])
    outputs = Outputs()
    pipeline = Pipeline(engine, [outputs])
    pipeline.start()
    frame = ns("00:bb:00:00:00:02", "fe80::2bb:ff:fe00:2", "fe80::1")
    raised = pipeline.feed("lan0", [(1.0, frame), (2.0, frame)])
    assert rec.seen_before == [False, True]
    assert [a.reason for a in raised] == ["new station"]
    assert outputs.alerts[0].extra["tag"] == "x" and raised[0].extra["tag"] == "x"
    rec.drop.add(frame)
    assert pipeline.feed("lan0", [(3.0, frame)]) == []
    assert rec.seen_before == [False, True] and engine.dropped == 1
    save_cache(engine, str(tmp_path / "cache.xml"))
    pipeline.stop()
    assert rec.calls == ["start", "notify new station x", "save 1", "stop"]


def test_started_comes_after_the_drop_and_before_the_actions(tmp_path):
    """Pipeline.start: every plugin's ``start`` (live: as root), then ``between`` (where
    ``--user`` drops root), then every plugin's ``started`` (threads, connections: as the
    user), then the actions."""
    from ndpmon.engine.engine import Engine

    calls: list[str] = []

    class Order(Plugin):
        def start(self):
            calls.append(f"start {self.name}")

        def started(self):
            calls.append(f"started {self.name}")

    class Action(Outputs):
        def start(self):
            calls.append("action")

    config = load(tmp_path, config_text())
    plugins = [Order({}, config), Order({}, config)]
    plugins[0].name, plugins[1].name = "a", "b"
    pipeline = Pipeline(Engine(config, plugins=plugins), [Action()])
    pipeline.start(lambda: calls.append("drop"))
    assert calls == ["start a", "start b", "drop", "started a", "started b", "action"]


def test_plugin_checks_do_not_run_while_learning(tmp_path):
    """Learning mode (-L) runs the core checks alone (they fill the neighbour cache):
    a plugin's check is not called, as plugins/README.md says."""
    from ndpmon.engine.engine import Engine

    config = load(tmp_path, config_text())
    rec = Recorder({}, config)
    engine = Engine(config, learning=True, plugins=[rec])
    frame = ns("00:bb:00:00:00:02", "fe80::2bb:ff:fe00:2", "fe80::1")
    assert engine.handle("lan0", 1.0, frame) == []
    assert rec.seen_before == []
    assert len(engine.probes["lan0"].neighbors) == 1


def test_a_plugin_check_returning_1_does_not_stop_the_packet(tmp_path):
    """A plugin check that returns NDPMon's 1 ("alerted") counts as PASS, even when it
    is stop_on_error: only STOP (2) stops a packet, so new_station still runs."""
    from ndpmon.engine.engine import Engine
    from ndpmon.plugin import STOP

    config = load(tmp_path, config_text())
    for verdict, reasons in ((1, ["new station"]), (STOP, [])):
        rec = Recorder({}, config)
        rec.checks = lambda v=verdict: [PluginCheck(
            "old_style", lambda msg, ctx: v, frozenset((NS,)), before="new_station",
            stop_on_error=True)]
        engine = Engine(config, plugins=[rec])
        frame = ns("00:bb:00:00:00:02", "fe80::2bb:ff:fe00:2", "fe80::1")
        assert [a.reason for a in engine.handle("lan0", 1.0, frame)] == reasons


def test_no_plugins_keep_the_core_plans(tmp_path):
    """Without plugins the engine runs the shared core plans (no per-engine copy)."""
    engine = engine_for(load(tmp_path, config_text()))
    assert engine.plans is CORE and engine.plugins == []


def test_a_failing_plugin_hook_never_stops_the_pipeline(tmp_path, caplog):
    """An exception in notify is logged with the plugin's name; the alert still went
    to the outputs."""
    from ndpmon.engine.engine import Engine

    class Broken(Plugin):
        def notify(self, alert):
            raise RuntimeError("boom")

    config = load(tmp_path, config_text())
    broken = Broken({}, config)
    broken.name = "broken"
    outputs = Outputs()
    pipeline = Pipeline(Engine(config, plugins=[broken]), [outputs])
    frame = ns("00:bb:00:00:00:02", "fe80::2bb:ff:fe00:2", "fe80::1")
    pipeline.feed("lan0", [(1.0, frame)])
    assert [a.reason for a in outputs.alerts] == ["new station"]
    assert "plugin broken: notify failed on 'new station': RuntimeError: boom" in caplog.text


def test_after_hook_gets_the_message_the_engine_decoded(tmp_path):
    """A plugin's ``after`` runs in the pipeline, after the engine, with the very
    message object the engine decoded (``engine.last``: nothing decodes twice); a frame
    a ``frame`` hook dropped reaches no ``after``."""
    from ndpmon.codec.message import NdMessage
    from ndpmon.engine.engine import Engine

    seen = []

    class Watcher(Plugin):
        def frame(self, probe, now, frame):
            return frame == b"drop me"

        def after(self, probe, now, msg):
            seen.append((probe, now, msg, self.engine.last))

    watcher = Watcher({}, load(tmp_path, config_text()))
    watcher.name = "watcher"
    engine = Engine(watcher.config, plugins=[watcher])
    Pipeline(engine, []).feed("lan0", [(1.0, ra()), (2.0, b"drop me")])
    assert [(p, t) for p, t, _, _ in seen] == [("lan0", 1.0)]
    probe, now, msg, last = seen[0]
    assert type(msg) is NdMessage and msg is last
    assert engine.last is None  # the dropped frame was never decoded
