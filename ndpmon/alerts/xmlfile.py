"""alerts.xml as an action: NDPMon appends every alert there (COMPATIBILITY.md §4.7).

The file format (writer, reader, renderer) is ndpmon.formats.alertsxml; this is only
the action that opens it at start, appends each alert and closes it at the end.
"""

from __future__ import annotations

from ndpmon.alerts.action import Action
from ndpmon.checks.alert import Alert
from ndpmon.formats.alertsxml import AlertsXml

__all__ = ["AlertsXmlAction"]


class AlertsXmlAction(Action):
    """Append each alert to the alerts.xml ``path`` (opened at start: a file that cannot
    be opened stops the run before the first frame, in one line)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._xml: AlertsXml | None = None

    def start(self) -> None:
        self._xml = AlertsXml(self.path)

    def notify(self, alert: Alert) -> None:
        assert self._xml is not None, "start() first"
        self._xml.write((alert,))

    def stop(self) -> None:
        if self._xml is not None:
            self._xml.close()
