"""The alert value object: what every check produces and every action receives.

An alert is immutable and carries the same fields NDPMon's ``alert_raise`` had (COMPATIBILITY.md
§2.1): priority, probe, reason, message, the packet's MAC, a second MAC, the IPv6 source,
plus the decoded fields that explain it (``extra``) and the time, given by the caller: the
capture time of the frame that raised it. An alert raised well after that (a live run
working through a backlog) also carries the time it was raised (``raised``, else None).
"""

from __future__ import annotations

import datetime as _dt
from enum import IntEnum
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

from ndpmon.codec.addr import ip_short, mac_str

__all__ = ["Priority", "Alert", "AlertFields", "Text"]


class Priority(IntEnum):
    """NDPMon's two priorities: they select ``actions_low_priority`` or ``_high_``."""

    LOW = 1
    HIGH = 2

    @property
    def label(self) -> str:
        """``low`` or ``high``, as JSON output spells it."""
        return self.name.lower()


_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


class Text:
    """An alert message made on first use: ``render(*args)``, then kept.

    An NA flood from random sources raises a ``new station`` per frame, and formatting
    its addresses costs more than the rest of the alert; when an output holds the alert
    back (a summary, a dedupe window) nobody reads it. Compares, hashes and prints as
    the text, so an Alert holding one equals one holding the string.
    """

    __slots__ = ("render", "args", "text")

    def __init__(self, render: Callable[..., str], *args: Any) -> None:
        self.render: Callable[..., str] | None = render
        self.args = args
        self.text: str | None = None

    def __str__(self) -> str:
        text = self.text
        if text is None:
            text = self.text = self.render(*self.args)  # type: ignore[misc]
            self.render, self.args = None, ()
        return text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, Text)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return repr(str(self))


class AlertFields(NamedTuple):
    """What an Alert stores; ``message`` may be held as a Text (read it as
    ``Alert.message``, always a str)."""

    time: float
    probe: str
    priority: Priority
    reason: str
    message: str
    mac: bytes | None = None
    mac2: bytes | None = None
    ipv6: bytes | None = None
    extra: Mapping[str, Any] = _NO_EXTRA
    raised: float | None = None


class Alert(AlertFields):
    """One detection. ``str(alert)`` is the NDPMon message text.

    A NamedTuple rather than a frozen dataclass: just as immutable, and four times cheaper
    to build (an NA flood raises one alert per frame; see bench/). The message may be
    given as a Text, made when first read.
    """

    __slots__ = ()

    @property
    def message(self) -> str:  # type: ignore[override]
        """The message text."""
        text = self[4]
        return text if type(text) is str else str(text)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``--json-alerts``: one per alert."""
        out: dict[str, Any] = {
            "time": _iso(self.time),
            "probe": self.probe,
            "priority": self.priority.label,
            "reason": self.reason,
            "message": self.message.removesuffix("\n"),  # NDPMon's, on new IP and new lla
            "mac": mac_str(self.mac) if self.mac else None,
            "mac2": mac_str(self.mac2) if self.mac2 else None,
            "ipv6": ip_short(self.ipv6) if self.ipv6 else None,
            "fields": {key: _jsonable(value) for key, value in self.extra.items()},
        }
        if self.raised is not None:
            out["raised"] = _iso(self.raised)
        return out


def _iso(when: float) -> str:
    """``when`` as ISO 8601 UTC with a Z, as JSON output writes times."""
    stamp = _dt.datetime.fromtimestamp(when, _dt.timezone.utc)
    return stamp.isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """Addresses kept as bytes in ``extra`` become their text forms."""
    if isinstance(value, bytes):
        if len(value) == 16:
            return ip_short(value)
        if len(value) == 6:
            return mac_str(value)
        return value.hex()
    return value
