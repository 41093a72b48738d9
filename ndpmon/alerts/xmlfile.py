"""alerts.xml as an action: NDPMon appends every alert there (COMPATIBILITY.md §4.7).

The file format (writer, reader, renderer) is ndpmon.formats.alertsxml; this is only
the action that opens it at start, collects the alerts of a batch of frames and writes
them at the batch's ``flush`` (one write per batch, whole or not at all), and closes it
at the end. Its failures are the guard's (ndpmon.alerts.guard); the first write after a
failed one opens the file again, so that an alerts.xml the admin removed or moved away
to make room is not written on, unseen, while its space stays taken.
"""

from __future__ import annotations

from ndpmon.alerts.action import Action
from ndpmon.alerts.guard import NotReady
from ndpmon.checks.alert import Alert
from ndpmon.formats.alertsxml import AlertsXml

__all__ = ["AlertsXmlAction"]


class AlertsXmlAction(Action):
    """Append each batch of alerts to the alerts.xml ``path`` (opened at start: a file
    that cannot be opened stops the run before the first frame, in one line; one that
    was opened but could not be written, on a full disk, is NotReady)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._xml: AlertsXml | None = None
        self._batch: list[Alert] = []
        self._failed = False

    def start(self) -> None:
        self._xml = AlertsXml(self.path)
        if self._xml.unwritten is not None:
            raise NotReady(self.path, self._xml.unwritten.message)

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
