"""What a check is given: the per-packet context, over one probe's state.

``Context`` collects the alerts of one packet and gives the checks the probe's state
(ndpmon.state.probe.ProbeState) and the packet's time; checks never do I/O.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ndpmon.checks.alert import Alert, Priority, Text
from ndpmon.checks.registry import STOP
from ndpmon.codec.addr import ip_full, mac_str
from ndpmon.codec.message import TYPE_NAMES, NdMessage
from ndpmon.state.probe import ProbeState

__all__ = ["Context", "unknown_pair"]

#: Builds an Alert from its ten fields in order, without the NamedTuple's Python-level
#: ``__new__`` (one alert per frame of a flood).
_new_alert = tuple.__new__


class Context:
    """One packet's run through the checks: the probe state, the time, the alerts.

    One per probe, reused for every packet (``run_checks`` sets ``msg`` and ``now``);
    ``alerts`` is created at the first alert, so a quiet packet allocates nothing here.
    """

    __slots__ = ("state", "msg", "now", "alerts")

    def __init__(self, state: ProbeState) -> None:
        self.state = state
        self.msg: NdMessage | None = None
        self.now = 0.0
        self.alerts: list[Alert] | None = None

    def alert(self, priority: Priority, reason: str, message: str | Text, *,
              mac2: bytes | None = None, ipv6: bytes | None = None,
              **extra: Any) -> None:
        """Raise an alert about the current packet (mac = its Ethernet source).

        ``extra`` gets the message type, destination, target and VLAN; addresses stay
        bytes here and are formatted only if an output asks (``Alert.to_json``), as is
        a ``message`` given as a Text.
        """
        msg = self.msg
        extra["type"] = TYPE_NAMES[msg.type]
        extra["dst"] = msg.dst
        if msg.target is not None:
            extra["target"] = msg.target
        if msg.vlan is not None:
            extra["vlan"] = msg.vlan
        alert = _new_alert(Alert, (self.now, self.state.name, priority, reason, message,
                                   msg.eth_src, mac2, msg.src if ipv6 is None else ipv6,
                                   MappingProxyType(extra), None))
        if self.alerts is None:
            self.alerts = [alert]
        else:
            self.alerts.append(alert)


def unknown_pair(msg: NdMessage, ctx: Context, reasons: tuple[str, str, str, str],
                 texts: tuple[str, str, str, str], **extra: Any) -> int:
    """Alert on a router message from a (MAC, LLA) pair that is not configured.

    Which half of the pair is known picks the reason: both (but not together), only the
    MAC, only the LLA, neither; ``texts`` are the message formats, with ``{}`` for
    ``<mac> <src>`` (NDPMon's ``watch_ra`` and ``watch_rd_src`` share this logic).
    ``extra``: the alert's fields (an RA: what it advertised).
    """
    state, mac, src = ctx.state, msg.eth_src, msg.src
    known_mac, known_lla = mac in state.router_macs, src in state.router_llas
    index = 0 if known_mac and known_lla else 1 if known_mac else 2 if known_lla else 3
    ctx.alert(Priority.HIGH, reasons[index], Text(_pair_text, texts[index], mac, src),
              **extra)
    return STOP


def _pair_text(text: str, mac: bytes, src: bytes) -> str:
    """``text`` with ``<mac> <src>`` (made when read: an RA flood from random routers
    raises one per frame)."""
    return text.format(f"{mac_str(mac)} {ip_full(src)}")
