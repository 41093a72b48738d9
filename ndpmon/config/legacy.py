"""The config formats ndpmon does not run as they are: refuse them loudly, or run an NDPMon
2.1 file with a warning for each fault, as NDPMon 2.1 did.

NDPMon 1.4's flat config (COMPATIBILITY.md §4.5), plain or from the 802.1Q fork, is valid
against its own DTD, which an in-place upgrade leaves beside it: validated that way, ndpmon
would monitor with no router and no action, and say nothing. So the root's content is
checked before any DTD (``refuse_foreign``), and a file that is not ndpmon's is refused
with one line that names its format and ``ndpmon upgrade``.

NDPMon 2.1 printed DTD errors and ran anyway. A 2.1 file whose only faults are elements
out of order, or missing ones NDPMon did without, runs here too, with a warning for each
(``lenient``, used by ndpmon.config.loader when the DTD refuses the file); ``ndpmon
upgrade`` rewrites it in order (ndpmon.config.upgrade). Any other fault stays an error.

``start_warnings`` lists what a config asks for that no longer works: NDPMon's SOAP, and
remote probes without a ``<store>`` to read them from (README "Distributed monitoring").
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass

from lxml import etree

from ndpmon.config.model import COUNTERMEASURES, Config
from ndpmon.errors import ConfigError

__all__ = ["ORDER", "MISSING", "Fault", "identify", "refuse_foreign", "lenient",
           "reorder", "fill", "soap_warnings", "start_warnings", "upgrade_hint"]

Element = etree._Element

#: The children of each element ndpmon's DTD puts in order, in that order (pinned against
#: ndpmon/data/config_ndpmon.dtd by tests/test_upgrade.py).
ORDER: dict[str, tuple[str, ...]] = {
    "config_ndpmon": ("settings", "probes", "countermeasures", "plugins"),
    "settings": ("actions_high_priority", "actions_low_priority", "admin_mail",
                 "ignor_autoconf", "syslog_facility", "use_reverse_hostlookups", "soap",
                 "limits", "delivery", "store", "metrics"),
    "probe": ("countermeasures_enabled", "routers", "rules", "proxies", "last_dad_address"),
    "router": ("mac", "lla", "param_curhoplimit", "param_flags_reserved",
               "param_router_lifetime", "param_reachable_timer", "param_retrans_timer",
               "param_mtu", "params_volatile", "addresses", "prefixes", "rdnss", "dnssl",
               "routes"),
    "prefix": ("address", "mask", "param_flags_reserved", "param_valid_time",
               "param_preferred_time"),
    "route": ("address", "mask", "param_pref_reserved", "lifetime"),
    "countermeasures": COUNTERMEASURES,
}

_OFF = {"sendmail": "0", "syslog": "0", "exec_pipe_program": ""}

#: Elements NDPMon 2.1 did without, by parent: a stand-in (attributes, text) that means
#: what a missing one meant to NDPMon, and what that is.
MISSING: dict[str, dict[str, tuple[dict[str, str], str, str]]] = {
    "settings": {
        "actions_high_priority": (_OFF, "", "no mail, syslog or program for high priority"),
        "actions_low_priority": (_OFF, "", "no mail, syslog or program for low priority"),
        "admin_mail": ({}, "root@localhost", "mail goes to root@localhost"),
        "ignor_autoconf": ({}, "0", "the kernel's settings are left alone"),
        "syslog_facility": ({}, "LOG_USER", "syslog facility LOG_USER, as NDPMon's"),
        "use_reverse_hostlookups": ({}, "0", "no reverse lookups"),
    },
    "router": {"addresses": ({}, "", "none"), "prefixes": ({}, "", "none")},
}

#: What NDPMon 1.4 had directly in its root (REFERENCE §2.8).
_V14_ROOT = frozenset(["ignor_autoconf", "syslog_facility", "admin_mail", "actions_low_pri",
                       "actions_high_pri", "use_reverse_hostlookups", "routers",
                       "countermeasures"])

NDPMON, V14, V14_DOT1Q, FOREIGN = "ndpmon", "NDPMon 1.4", "NDPMon 1.4 (802.1Q fork)", "foreign"


@dataclass(frozen=True)
class Fault:
    """A difference from the DTD that NDPMon 2.1 ran with: its line and what it is."""

    line: int | None
    text: str
    #: the stand-in inserted for a missing element, as XML (ndpmon upgrade prints it)
    added: str | None = None


def _elements(parent: Element) -> list[Element]:
    return [child for child in parent if isinstance(child.tag, str)]


# -- which format ------------------------------------------------------------------------


def identify(root: Element) -> str:
    """NDPMON (ndpmon's or NDPMon 2.1's root content), V14, V14_DOT1Q or FOREIGN."""
    tags = {child.tag for child in _elements(root)}
    if tags <= set(ORDER["config_ndpmon"]):
        return NDPMON
    if tags <= _V14_ROOT and "routers" in tags | {"actions_low_pri", "actions_high_pri"}:
        return V14_DOT1Q if root.find("routers/router/vlan_id") is not None else V14
    return FOREIGN


def upgrade_hint(path: str, iface: bool = False) -> str:
    """The command that converts ``path``, to paste."""
    option = " -i IFACE" if iface else ""
    return f"`ndpmon upgrade {shlex.quote(path)}{option} -o NEW.xml`"


def refuse_foreign(path: str, root: Element) -> None:
    """Raise ConfigError unless the root's content is ndpmon's, whatever DTD accepts it."""
    kind = identify(root)
    if kind == NDPMON:
        return
    if kind == FOREIGN:
        strange = next(c for c in _elements(root) if c.tag not in ORDER["config_ndpmon"])
        allowed = ", ".join(f"<{tag}>" for tag in ORDER["config_ndpmon"])
        raise ConfigError(path, strange.sourceline,
                          f"<{strange.tag}> does not belong in <config_ndpmon>, which holds "
                          f"{allowed}: not a config of ndpmon or NDPMon 2.1")
    what = ("an NDPMon 1.4 config of the 802.1Q fork (<vlan_id> in its routers)"
            if kind == V14_DOT1Q else
            "an NDPMon 1.4 config (flat <config_ndpmon>: settings and <routers> directly "
            "inside, no <probes>)")
    raise ConfigError(path, None, f"{what}: ndpmon does not run it; convert it with "
                                  f"{upgrade_hint(path, iface=True)} (IFACE: the interface "
                                  "NDPMon listened on)")


# -- NDPMon 2.1's faults: order and missing elements ---------------------------------------


def reorder(parent: Element) -> list[Fault]:
    """Put ``parent``'s children in DTD order; comments travel with the element after them,
    the whitespace between children stays where it was. Unknown elements go last."""
    order = ORDER[parent.tag]
    rank = {tag: i for i, tag in enumerate(order)}
    faults, groups, pending, top = [], [], [], None
    for child in parent:
        if not isinstance(child.tag, str):
            pending.append(child)
            continue
        here = rank.get(child.tag, len(order))
        if top is not None and here < rank.get(top, len(order)):
            faults.append(Fault(child.sourceline,
                                f"<{child.tag}> comes after <{top}> in <{parent.tag}>"))
        elif top is None or here > rank.get(top, len(order)):
            top = child.tag
        groups.append((here, pending + [child]))
        pending = []
    if faults:
        tails = [child.tail for child in parent]
        groups.sort(key=lambda group: group[0])
        parent[:] = [node for _, nodes in groups for node in nodes] + pending
        for child, tail in zip(parent, tails, strict=True):
            child.tail = tail
    return faults


def fill(parent: Element, keep_out: frozenset[str] = frozenset()) -> list[Fault]:
    """Insert the stand-in of each element of MISSING that ``parent`` lacks, where the DTD
    wants it; those in ``keep_out`` are left missing, without a fault."""
    faults = []
    for tag, (attrs, text, meaning) in MISSING.get(parent.tag, {}).items():
        if tag in keep_out or parent.find(tag) is not None:
            continue
        node = etree.Element(tag, attrs)
        node.text = text or None
        added = etree.tostring(node, encoding="unicode")
        faults.append(Fault(parent.sourceline, f"<{parent.tag}> has no <{tag}>: {meaning}",
                            added))
        _insert(parent, _position(parent, tag), node)
    return faults


def _position(parent: Element, tag: str) -> int:
    """Where ``tag`` goes: after the last child the DTD puts before it."""
    order = ORDER[parent.tag]
    before = set(order[:order.index(tag)])
    index = 0
    for i, child in enumerate(parent):
        if isinstance(child.tag, str) and child.tag in before:
            index = i + 1
    return index


def _insert(parent: Element, index: int, node: Element) -> None:
    """Insert ``node`` with the indentation its neighbours have."""
    if index == 0:
        node.tail = parent.text
    else:
        before = parent[index - 1]
        node.tail = before.tail
        before.tail = parent[index - 2].tail if index > 1 else parent.text
    parent.insert(index, node)


def lenient(root: Element) -> tuple[Element, list[Fault]]:
    """A copy of ``root`` in DTD order with stand-ins for missing elements, and the faults
    that took. The caller validates the copy, and converts the original."""
    fixed = copy.deepcopy(root)
    faults: list[Fault] = []
    for parent in list(fixed.iter(*ORDER)):
        faults += reorder(parent) + fill(parent)
    return fixed, faults


# -- what no longer works ------------------------------------------------------------------


def soap_warnings(path: str, root: Element) -> list[str]:
    """``<soap>``: NDPMon's SOAP distributed monitoring, which ndpmon does not have."""
    return [f"{path}:{el.sourceline}: <soap> does nothing in ndpmon: NDPMon's SOAP "
            "distributed monitoring is gone; use <store> (README \"Distributed monitoring\")"
            for el in root.iterfind("settings/soap")]


def start_warnings(config: Config) -> list[str]:
    """The config's warnings, and remote probes that nothing can report to (no store)."""
    lines = list(config.warnings)
    remote = [p.name for p in config.probes if p.type == "remote"]
    if remote and config.settings.store is None:
        names = ", ".join(remote)
        lines.append(f"{config.path}: remote probe{'s' * (len(remote) > 1)} {names}: "
                     "nothing reports to it without a <store> (NDPMon's SOAP is gone); "
                     "add one: README \"Distributed monitoring\"")
    return lines
