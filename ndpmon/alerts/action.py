"""Actions: what happens to an alert once raised. Small classes with one method.

Every action has ``notify(alert)``, plus ``start()``/``stop()`` hooks that do nothing by
default (fail2ban's action model). The replay and monitor loops hand each alert to every
action of its priority; the always-on outputs (alerts.xml, JSON lines) are actions too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ndpmon.checks.alert import Alert

__all__ = ["Action"]


class Action(ABC):
    """Base class of every action."""

    def start(self) -> None:
        """Called once before the first alert."""

    @abstractmethod
    def notify(self, alert: Alert) -> None:
        """Deliver one alert."""

    @property
    def idle(self) -> bool:
        """True while ``notify`` would ignore every alert: the pipeline then does not
        call it for the batch (a dispatcher with no action configured)."""
        return False

    def flush(self) -> None:
        """Called after each batch of frames that raised alerts: make them visible."""

    def stop(self) -> None:
        """Called once at the end; flush and release resources."""
