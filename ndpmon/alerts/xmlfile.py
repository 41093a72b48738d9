"""alerts.xml as an action: NDPMon appends every alert there (COMPATIBILITY.md §4.7).

The file format (writer, reader, renderer) is ndpmon.formats.alertsxml; this is only
the action that opens it at start, collects the alerts of a batch of frames and writes
them at the batch's ``flush`` (one write per batch, whole or not at all), and closes it
at the end. Its failures are the guard's (ndpmon.alerts.guard); the first write after a
failed one opens the file again, so that an alerts.xml the admin removed or moved away
to make room is not written on, unseen, while its space stays taken. The file is
rotated at ``<delivery alerts_xml_size>``, ``alerts_xml_files`` kept (issue 16); SIGHUP
takes new values and opens the file again.
"""

from __future__ import annotations

from ndpmon.alerts.action import Action
from ndpmon.alerts.guard import NotReady
from ndpmon.checks.alert import Alert
from ndpmon.config.model import Settings
from ndpmon.formats.alertsxml import AlertsXml

__all__ = ["AlertsXmlAction"]


class AlertsXmlAction(Action):
    """Append each batch of alerts to the alerts.xml ``path`` (opened at start: a file
    that cannot be opened stops the run before the first frame, in one line; one that
    was opened but could not be written, on a full disk, is NotReady). Rotated before
    a write would take it over ``size`` bytes (None: never), ``files`` kept in all."""

    def __init__(self, path: str, size: int | None = None, files: int = 5) -> None:
        self.path = path
        self.size, self.files = size, files
        self._xml: AlertsXml | None = None
        self._batch: list[Alert] = []
        self._failed = False

    def start(self) -> None:
        self._xml = AlertsXml(self.path, self.size, self.files)
        if self._xml.unwritten is not None:
            raise NotReady(self.path, self._xml.unwritten.message)

    def reconfigure(self, settings: Settings) -> None:
        """SIGHUP: the new ``<delivery>`` rotation settings."""
        delivery = settings.delivery
        self.size, self.files = delivery.alerts_xml_size, delivery.alerts_xml_files
        if self._xml is not None:
            self._xml.limit(self.size, self.files)

    def reopen(self) -> None:
        """SIGHUP: open the file again (if that fails, the next write tries again)."""
        if self._xml is None:
            return
        self._failed = True
        self._xml.reopen()
        self._failed = self._xml.unwritten is not None

    def notify(self, alert: Alert) -> None:
        assert self._xml is not None, "start() first"
        self._batch.append(alert)

    def flush(self) -> None:
        """Write the batch; on failure it is dropped (the guard counts it)."""
        batch, self._batch = self._batch, []
        if not batch or self._xml is None:
            return
        self._failed, failed = True, self._failed
        if failed:
            self._xml.reopen()
        self._xml.write(batch)
        self._failed = False

    def stop(self) -> None:
        try:
            self.flush()
        finally:
            if self._xml is not None:
                self._xml.close()
