"""Which interfaces a live run captures for its probes, VLAN probes included.

A probe named for a VLAN, ``eth0.105`` (ndpmon.config.vlans), is read in one of two ways:

* from its trunk ``eth0``, tagged: the engine gives each tagged frame to the probe of its
  VLAN. This is how it is read when the trunk is captured anyway (a probe ``eth0``, or
  another VLAN probe of ``eth0`` read this way) or when no interface ``eth0.105`` exists;
* from the interface ``eth0.105`` itself when it exists (a Linux VLAN sub-interface) and
  nothing else needs ``eth0``: the kernel hands its frames over untagged, and they feed
  the probe of that name, as with any interface. A config written before VLAN probes
  existed, naming a sub-interface, keeps working unchanged.

Never both: a VLAN's frames read from the trunk and from its sub-interface would be
checked twice. The packet socket on the trunk sees every VLAN's frames whether or not
sub-interfaces exist (Linux delivers to it before the VLAN device takes the frame); a
NIC that filters VLANs in hardware must be told not to (``ethtool -K eth0
rx-vlan-filter off``) for VLANs without a sub-interface.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from typing import Callable, Sequence

from ndpmon.config import vlans

__all__ = ["capture_plan", "exists", "log_plan", "log_unmonitored", "is_fed"]

log = logging.getLogger("ndpmon")

#: At most this many VLANs are named one by one in the end-of-run log of frames that
#: no probe was for.
LOG_VLANS = 20


def exists(iface: str) -> bool:
    """Is there an interface ``iface`` (in this process's network namespace)?"""
    try:
        socket.if_nametoindex(iface)
    except (OSError, ValueError):
        return False
    return True


def capture_plan(names: Sequence[str],
                 present: Callable[[str], bool] = exists) -> list[str]:
    """The interfaces to capture for the interface probes ``names``, in order, each
    once: a VLAN probe's trunk or its own interface (the module docstring's rule),
    every other probe's interface. ``present`` says whether an interface exists."""
    trunks = set()
    for name in names:
        parts = vlans.split(name)
        if parts is not None and (parts[0] in names or not present(name)):
            trunks.add(parts[0])
    plan: dict[str, None] = {}
    for name in names:
        parts = vlans.split(name)
        plan[parts[0] if parts is not None and parts[0] in trunks else name] = None
    return list(plan)


def log_plan(probes: Sequence[str], captured: Sequence[str]) -> None:
    """Say, at the start of a live run, how each VLAN probe is read."""
    for name in probes:
        parts = vlans.split(name)
        if parts is not None and name not in captured and parts[0] in captured:
            log.info("probe %s: VLAN %d, read tagged from %s", name, parts[1], parts[0])


def is_fed(name: str, captured: Sequence[str]) -> bool:
    """Do frames reach probe ``name`` from the interfaces ``captured``: its own, or
    (a VLAN probe) its trunk's?"""
    parts = vlans.split(name)
    return name in captured or (parts is not None and parts[0] in captured)


def log_unmonitored(counts: Counter) -> None:
    """The end of a run: how many ND frames no probe was for, per interface and VLAN
    (``Engine.unmonitored``), the LOG_VLANS largest counts one by one."""
    if not counts:
        return
    for (iface, vid), frames in counts.most_common(LOG_VLANS):
        what = "untagged" if vid is None else f"of VLAN {vid}"
        log.warning("%s: %d ND frames %s were not checked: no probe %s", iface, frames, what,
                    iface if vid is None else vlans.join(iface, vid))
    if len(counts) > LOG_VLANS:
        rest = counts.most_common()[LOG_VLANS:]
        log.warning("and %d ND frames of %d more VLANs without a probe",
                    sum(n for _key, n in rest), len(rest))
