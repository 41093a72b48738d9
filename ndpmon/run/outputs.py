"""The outputs of a run, built from its RunOptions: what ``ndpmon`` and ``ndpmon
central`` hand every alert to.

Alerts on stderr (unless ``-q``), JSON lines (``--json-alerts``), alerts.xml (unless
``--no-alerts-xml``; rotated at ``<delivery alerts_xml_size>``) and, when the run
delivers, the config's syslog, mail and pipe actions behind the delivery queue
(ndpmon.alerts.dispatch). The first three write in the capture thread and are guarded
(ndpmon.alerts.guard): one that cannot write is logged, and the run goes on. They sit
behind one shared summariser (ndpmon.alerts.summary), so a flood is summarised there as
for mail and syslog; ``--json-alerts-all`` gives the JSON lines every alert. Learning
raises no alert, so it has no output.
"""

from __future__ import annotations

from ndpmon.alerts.action import Action
from ndpmon.alerts.console import Console
from ndpmon.alerts.dispatch import Dispatcher
from ndpmon.alerts.guard import Guarded
from ndpmon.alerts.jsonlines import JsonLines
from ndpmon.alerts.summary import Summarised
from ndpmon.alerts.xmlfile import AlertsXmlAction
from ndpmon.config.model import Config
from ndpmon.run.options import RunOptions

__all__ = ["build_outputs"]


def build_outputs(options: RunOptions, config: Config) -> list[Action]:
    """The actions of a run with ``options`` and ``config``, in the order they get
    each alert."""
    if options.learn:
        return []  # learning raises no alerts (COMPATIBILITY.md §6.3)
    delivery = config.settings.delivery
    local: list[tuple[str, Action]] = []  # behind the summariser
    every: list[Action] = []  # every alert
    if not options.quiet:
        local.append(("stderr", Guarded(Console(), "alerts on stderr", stdio=True)))
    if options.json_alerts:
        json = Guarded(JsonLines(options.json_alerts), "JSON alerts",
                       stdio=options.json_alerts == "-")
        if options.json_alerts_all:
            every.append(json)
        else:
            local.append(("JSON alerts", json))
    if options.alerts_path is not None:
        xml = AlertsXmlAction(options.alerts_path, delivery.alerts_xml_size,
                              delivery.alerts_xml_files)
        local.append(("alerts.xml", Guarded(xml, "alerts.xml")))
    actions: list[Action] = []
    if local:
        names = ", ".join(name for name, _ in local)
        actions.append(Summarised([sink for _, sink in local], delivery.dedupe_window,
                                  delivery.burst, names=names))
    actions += every
    if options.delivers:
        actions.append(Dispatcher(config.settings))
    return actions
