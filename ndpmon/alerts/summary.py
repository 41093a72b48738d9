"""One summariser in front of the local outputs: the console, alerts.xml and JSON lines.

Under a flood these outputs got every alert: a 5 s NA flood at 100k/s wrote 0.5 GB
(issue 16). They now follow the flood rule mail, syslog and the pipe follow
(ndpmon.alerts.budget): per probe and reason and ``dedupe_window``, the first alert of
each new source goes out (up to 100 sources: a new rogue router or prefix is never
hidden), then ``burst`` more; the rest become one summary when the window closes, with
their count, the busiest sources, and the first and last alert held back. Repeats of one
message within the budget still go out, each with its time: these files are the record,
and only a flood is summarised there (mail and syslog also fold repeats,
ndpmon.alerts.dedupe). One ``Budget`` decides for all three outputs, once per alert, so
they get the same alerts and the same summaries; ``--json-alerts-all`` takes the JSON
lines out from behind it (a SIEM wants every alert).

Time: the windows run on the alerts' own time, the capture time (the latest seen, so
that it never goes back), so a replay summarises exactly as the live run did. The
pipeline moves that time on with its frames and the live loop with the wall clock
(``expire``), so a window closes, and its summary is written, when its time is up, not
only when the next alert comes. A clock that jumps back by more than a window (the
system clock set back, a pcap's time stamps) closes every window and starts again from
there.
"""

from __future__ import annotations

import logging
from typing import Sequence

from ndpmon.alerts.action import Action
from ndpmon.alerts.budget import Budget
from ndpmon.checks.alert import Alert
from ndpmon.config.model import Settings

__all__ = ["Summarised"]

log = logging.getLogger("ndpmon")


class Summarised(Action):
    """``sinks`` (each an Action, usually Guarded) behind one Budget of ``window``
    seconds (0: every alert goes out) and ``burst`` alerts; ``names`` says which outputs
    they are, in the log."""

    def __init__(self, sinks: Sequence[Action], window: float, burst: int,
                 names: str = "local outputs") -> None:
        self.sinks = list(sinks)
        self.names = names
        self.budget = Budget(window, burst, emit=self._summary)
        self.now = float("-inf")  # the latest alert or frame time seen
        self.summaries = 0  # summaries passed on, in all

    @property
    def held_back(self) -> int:
        """Alerts held back (each counted in a summary)."""
        return self.budget.held_back

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()

    def notify(self, alert: Alert) -> None:
        if alert.time > self.now:
            self.now = alert.time
        if self.budget.window <= 0 or self.budget.admit(alert, self.now):
            self._pass(alert)

    def expire(self, now: float) -> bool:
        """The time is ``now`` (a frame's capture time; live: the wall clock): close the
        windows that end by then. True if a summary was passed on (flush then)."""
        before = self.summaries
        if now + self.budget.window < self.now:  # the clock went back
            self.budget.close_all()
            self.now = now
        elif now > self.now:
            self.now = now
        self.budget.close_expired(self.now)
        return self.summaries != before

    def flush(self) -> None:
        """Pass on the summaries of the windows whose time is up, then write."""
        self.budget.close_expired(self.now)
        for sink in self.sinks:
            sink.flush()

    def take_reports(self) -> list[Alert]:
        """The sinks' ``output failure`` alerts (ndpmon.alerts.guard)."""
        return [report for sink in self.sinks
                for report in getattr(sink, "take_reports", list)()]

    def reconfigure(self, settings: Settings) -> None:
        """SIGHUP: the new ``<delivery>`` window and burst, and the sinks' settings."""
        self.budget.configure(settings.delivery.dedupe_window, settings.delivery.burst)
        for sink in self.sinks:
            reconfigure = getattr(sink, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(settings)

    def reopen(self) -> None:
        """SIGHUP: the sinks open their files again (after a log rotation)."""
        for sink in self.sinks:
            reopen = getattr(sink, "reopen", None)
            if reopen is not None:
                reopen()

    def stop(self) -> None:
        """Pass on the summaries of every open window, then stop every sink (all of
        them, even if one fails; the first error is raised after)."""
        self.budget.close_all()
        error: BaseException | None = None
        for sink in self.sinks:
            try:
                sink.stop()
            except BaseException as exc:  # raised again below, after the others stopped
                error = error or exc
        if self.held_back:
            log.info("%s: %d alerts held back, in %d summaries", self.names,
                     self.held_back, self.summaries)
        if error is not None:
            raise error

    def _summary(self, alert: Alert) -> None:
        self.summaries += 1
        self._pass(alert)

    def _pass(self, alert: Alert) -> None:
        for sink in self.sinks:
            sink.notify(alert)
