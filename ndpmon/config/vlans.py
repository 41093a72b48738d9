"""Probe names for the VLANs of a trunk port: ``<probe name="eth0.105">`` is VLAN 105 on eth0.

One monitor on a switch's trunk (or mirror) port sees the ND of every VLAN the port
carries, each VLAN a link of its own: the same link-local addresses and router MACs may
be on several of them. A probe per VLAN keeps them apart, and its name says which: the
interface, a dot and the VLAN id, as Linux names a VLAN sub-interface (``ip link add link
eth0 name eth0.105 type vlan id 105``) and as ``ndpmon upgrade-config`` names the VLANs of
the 802.1Q fork's ``<vlan_id>``.

A name is a VLAN probe's when it ends in a dot and a VLAN id written in decimal without
leading zeros, 1 to 4094 (0 marks a priority tag on an untagged frame, 4095 is
reserved), and what stands before the dot does not end that way itself (one level: a
QinQ frame belongs to the VLAN of its outer tag). Every other name is an interface's.
How the frames of a VLAN probe are read (tagged, from the trunk, or untagged, from a
sub-interface of that name) is ndpmon.run.session's ``capture_plan``; which probe a frame
feeds is ndpmon.engine's routing.
"""

from __future__ import annotations

__all__ = ["split", "join", "label", "MAX_VID"]

#: VLAN ids 1..MAX_VID name VLANs (IEEE 802.1Q: 0 is a priority tag, 4095 reserved).
MAX_VID = 4094


def _vid(text: str) -> int | None:
    """``text`` as a VLAN id (canonical decimal, 1..4094), or None."""
    if not text or not text.isascii() or not text.isdigit() or text[0] == "0":
        return None
    vid = int(text)
    return vid if vid <= MAX_VID else None


def split(name: str) -> tuple[str, int] | None:
    """``(interface, VLAN id)`` for a VLAN probe's name (``eth0.105``), else None."""
    iface, dot, tail = name.rpartition(".")
    vid = _vid(tail)
    if not dot or not iface or vid is None:
        return None
    inner, dot, tail = iface.rpartition(".")
    if dot and inner and _vid(tail) is not None:
        return None  # eth0.7.5: one level only
    return iface, vid


def join(iface: str, vid: int) -> str:
    """The name of VLAN ``vid``'s probe on ``iface``."""
    return f"{iface}.{vid}"


def label(name: str) -> str | None:
    """The prefix of a VLAN probe's alert messages, the 802.1Q fork's ``VLAN<n>: ``."""
    parts = split(name)
    return None if parts is None else f"VLAN{parts[1]}: "
