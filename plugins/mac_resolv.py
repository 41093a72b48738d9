# ndpmon.plugin.description = MAC vendors from the OUI database; the unknown mac vendor alert
"""mac_resolv: NDPMon's vendor plugin (COMPATIBILITY.md §4.11), on ieee-data or Wireshark's manuf.

Switched on with ``<plugin name="mac_resolv"/>``; ``<param name="database" value="..."/>``
names an ieee-data folder, one of its CSV files or a manuf file (default: the first of
/usr/share/ieee-data and /usr/share/wireshark/manuf that exists). It

* raises ``unknown mac vendor <mac> <src>`` (low) for a MAC the neighbour cache does not
  know yet and the database has no vendor for, just before ``new station`` and the other
  neighbour checks, as NDPMon did inside ``new_station`` (COMPATIBILITY.md §2.7);
* adds ``vendor`` and ``vendor2`` (``unknown``, or ``n/a`` without a second MAC) to every
  alert, so mails and pipe programs get NDPMon's ``Vendor:`` and ``Vendor2:`` lines;
* writes each neighbour's vendor into the cache (``<mac vendor="...">``).
"""

from __future__ import annotations

import os
from types import MappingProxyType

from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import ip_short, mac_str
from ndpmon.codec.message import NA, NS, RA, RS
from ndpmon.formats.oui import DEFAULT_PATHS, OuiDatabase
from ndpmon.plugin import PASS, Plugin as Base, PluginCheck, known_params, reasons

UNKNOWN = "unknown"
_ZERO_MAC = bytes(6)


class MacResolv(Base):
    description = "MAC vendor names from the OUI database"

    def __init__(self, params, config):
        super().__init__(params, config)
        known_params(params, ("database",))
        path = params.get("database") or _default_database()
        self.db = OuiDatabase.load(path)

    def vendor(self, mac: bytes | None) -> str:
        """The vendor of ``mac``, or ``unknown``."""
        return (self.db.lookup(mac) if mac else None) or UNKNOWN

    def checks(self):
        return [PluginCheck("unknown_mac_vendor", self.check, frozenset((RS, RA, NS, NA)),
                            before="new_station", skip_unspecified=True)]

    def check(self, msg, ctx) -> int:
        """``unknown mac vendor``: a MAC new to the cache, with no vendor (RS, RA, NS, NA
        from a unicast source, where new_station runs; COMPATIBILITY.md §2.7)."""
        mac = msg.eth_src
        if msg.src[0] == 0xFF or mac in ctx.state.neighbors.by_mac:
            return PASS
        if self.db.lookup(mac) is not None:
            return PASS
        ctx.alert(Priority.LOW, reasons.UNKNOWN_MAC_VENDOR,
                  f"unknown mac vendor {mac_str(mac)} {ip_short(msg.src)}")
        return PASS

    def enrich(self, alert: Alert) -> Alert:
        """``vendor`` and ``vendor2`` for the mail body (COMPATIBILITY.md §5.3)."""
        vendor = self.vendor(alert.mac) if alert.mac else "n/a"
        mac2 = alert.mac2
        vendor2 = self.vendor(mac2) if mac2 and mac2 != _ZERO_MAC else "n/a"
        extra = dict(alert.extra, vendor=vendor, vendor2=vendor2)
        return alert._replace(extra=MappingProxyType(extra))

    def on_cache_save(self, engine) -> None:
        """Every neighbour's current vendor goes into the cache file."""
        for state in engine.probes.values():
            for nb in state.neighbors:
                nb.vendor = self.vendor(nb.mac)


def _default_database() -> str:
    for path in DEFAULT_PATHS:
        if os.path.exists(path):
            return path
    raise ValueError("no OUI database: install ieee-data (or libwireshark-data), or "
                     "give <param name=\"database\" value=\"/path/to/manuf\"/>")


Plugin = MacResolv
