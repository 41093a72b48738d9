"""NDPMon 1.4's flat config, plain or from the 802.1Q fork, as a tree of ndpmon's format.

1.4 (REFERENCE §2.8, COMPATIBILITY.md §4.5) had its settings directly in the root, the
actions as child elements, one global ``<routers>`` list for the interface given with
``-i``, ``prefixes`` before ``addresses`` and four guards. The fork (ayourtch/ndpmon-dot1q)
adds a leading ``<vlan_id>`` to each router: 4095, or none, means untagged. Each VLAN's
routers become a probe named ``<interface>.<vlan>`` (``eth0.105``), the name Linux gives
that VLAN's interface and the one ndpmon's VLAN probes use.

The old elements are moved, not copied: they keep their comments and their line numbers,
so an error in a value names the line of the old file. Pure: a tree in, a tree out.
"""

from __future__ import annotations

import os

from lxml import etree

from ndpmon.config import legacy
from ndpmon.config import values as convert
from ndpmon.errors import ConfigError

__all__ = ["from_v14", "UNTAGGED"]

Element = etree._Element

#: The fork's VLAN number of untagged frames (``is_ipv6_pkt``), and of a router without
#: ``<vlan_id>``.
UNTAGGED = 4095
_SETTINGS = ("admin_mail", "ignor_autoconf", "syslog_facility", "use_reverse_hostlookups")
#: ndpmon's action elements, and 1.4's.
_OLD_ACTIONS = {"actions_high_priority": "actions_high_pri",
                "actions_low_priority": "actions_low_pri"}
#: Router parameters 1.4 did not check when the learned value was 0 (1.4
#: monitoring_ra.c:363-392, the MTU only when learned non-zero); ndpmon checks every one
#: the config gives, and none it leaves out.
_ZERO_UNCHECKED = ("param_curhoplimit", "param_router_lifetime", "param_reachable_timer",
                   "param_retrans_timer", "param_mtu")
_OLD_SCRIPTS = ("create_html_table.py", "alerts_to_xml.py")
#: 1.4's order in every router, reported once for all.
_PREFIXES_FIRST = "<addresses> comes after <prefixes> in <router>"


def _elements(parent: Element) -> list[Element]:
    return [child for child in parent if isinstance(child.tag, str)]


def _sub(parent: Element, tag: str, line: int | None, attrib: dict | None = None) -> Element:
    node = etree.SubElement(parent, tag, attrib or {})
    if line:
        node.sourceline = line
    return node


def from_v14(path: str, root: Element, iface: str) -> tuple[Element, list[str]]:
    """The ndpmon config of the 1.4 ``root`` for interface ``iface``, and what changed."""
    new = etree.Element("config_ndpmon")
    new.sourceline = root.sourceline
    settings = _sub(new, "settings", root.sourceline)
    probes = _sub(new, "probes", root.sourceline)
    changes = ["settings: moved into <settings>; the <actions_*_pri> elements became "
               "<actions_*_priority> attributes"]
    groups, trailing = _groups(root)
    for tag in legacy.ORDER["settings"]:
        old = _OLD_ACTIONS.get(tag, tag)
        if old in groups and (tag in _SETTINGS or old != tag):
            comments, element = groups[old]
            settings.extend(comments)
            settings.extend(_actions(element, tag, changes) if old != tag else [element])
    if "routers" in groups:
        probes.extend(groups["routers"][0])
    changes += _routers(path, groups.get("routers", ([], None))[1], probes, iface)
    if "countermeasures" in groups:
        comments, guards = groups["countermeasures"]
        new.extend(comments + [guards])
        changes += _guards_note(guards)
    new.extend(trailing)
    return new, changes


def _groups(parent: Element) -> tuple[dict[str, tuple[list, Element]], list]:
    """Each child element by tag with the comments before it; the comments after the last."""
    groups: dict[str, tuple[list, Element]] = {}
    pending: list = []
    for child in list(parent):
        if isinstance(child.tag, str):
            groups[child.tag] = (pending, child)
            pending = []
        else:
            pending.append(child)
    return groups, pending


def _actions(old: Element, tag: str, changes: list[str]) -> list:
    """``<actions_low_pri><sendmail>1</sendmail>...`` as ``<actions_low_priority
    sendmail="1" .../>`` (on only for exactly "1", as 1.4 read them), after the comments
    the old element held."""
    values = {child.tag: "".join(child.itertext()).strip() for child in _elements(old)}
    attrib = {name: "1" if values.get(name) == "1" else "0" for name in ("sendmail", "syslog")}
    program = attrib["exec_pipe_program"] = values.get("exec_pipe_program", "")
    node = etree.Element(tag, attrib)
    node.sourceline = old.sourceline
    for name in ("sendmail", "syslog"):
        if values.get(name, "") not in ("0", "1"):
            changes.append(f"line {old.sourceline}: <{old.tag}><{name}> "
                           f"{convert.quote(values.get(name, ''))} read as 0 (off), as "
                           "NDPMon 1.4 did")
    if os.path.basename(program) in _OLD_SCRIPTS:
        changes.append(f"line {old.sourceline}: note: {program} is NDPMon's own script "
                       "for alerts.xml (Python 2); ndpmon writes alerts.xml itself and "
                       "`ndpmon report` renders it: remove it if it no longer runs")
    return [c for c in old.iter(etree.Comment)] + [node]


def _vlan(path: str, router: Element) -> int:
    """The router's VLAN (UNTAGGED without ``<vlan_id>``); the element is removed."""
    el = router.find("vlan_id")
    if el is None:
        return UNTAGGED
    router.remove(el)
    text = "".join(el.itertext()).strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= UNTAGGED):
        raise ConfigError(path, el.sourceline, "<vlan_id>: not a VLAN number (1-4094, or "
                                               f"4095: untagged): {convert.quote(text)}")
    return int(text)


def _routers(path: str, routers: Element | None, probes: Element, iface: str) -> list[str]:
    """Each router into the probe of its VLAN (the interface's own probe first)."""
    groups: dict[int, list[Element]] = {UNTAGGED: []}
    pending: list[Element] = []
    changes: list[str] = []
    for child in [] if routers is None else list(routers):
        if not isinstance(child.tag, str):
            pending.append(child)
            continue
        vlan = _vlan(path, child) if child.tag == "router" else UNTAGGED
        changes += _router(child)
        groups.setdefault(vlan, []).extend(pending + [child])
        pending = []
    groups[UNTAGGED].extend(pending)
    if routers is not None and routers.find("router") is not None:
        changes.insert(0, "routers: <addresses> now before <prefixes> (ndpmon's order)")
    fork = len(groups) > 1 or routers is not None and routers.find("router/vlan_id") is not None
    for vlan in sorted(groups, key=lambda v: (v != UNTAGGED, v)):
        changes.append(_probe(probes, iface, vlan, groups[vlan], routers, fork))
    tagged = sorted(v for v in groups if v != UNTAGGED)
    if tagged:
        changes.append(f"note: the VLAN probes ({iface}.{tagged[0]}, ...) read the tagged "
                       f"frames of the trunk {iface} (README \"VLAN trunk ports\")")
    return changes


def _probe(probes: Element, iface: str, vlan: int, nodes: list[Element],
           routers: Element | None, fork: bool) -> str:
    line = None if routers is None else routers.sourceline
    name = iface if vlan == UNTAGGED else f"{iface}.{vlan}"
    if vlan != UNTAGGED:
        probes.append(etree.Comment(f" VLAN {vlan} on {iface} (NDPMon 802.1Q fork: "
                                    f"<vlan_id>{vlan}</vlan_id>) "))
    probe = _sub(probes, "probe", line, {"name": name, "type": "interface"})
    _sub(probe, "routers", line).extend(nodes)
    count = sum(1 for node in nodes if node.tag == "router")
    routers_ = f"{count} router{'s' * (count != 1)}"
    probe_ = f"<probe name=\"{name}\" type=\"interface\">"
    if not fork:
        return f"{routers_} → {probe_} (the interface NDPMon listened on: -i {iface})"
    if vlan == UNTAGGED:
        return f"{routers_} of untagged frames (<vlan_id> {UNTAGGED} or none) → {probe_}"
    return f"{routers_} of VLAN {vlan} → {probe_}"


def _router(router: Element) -> list[str]:
    """1.4's ``prefixes, addresses`` in ndpmon's order; parameters learned as 0 left
    out (1.4 did not check them)."""
    mac = "".join(router.findtext("mac", "")).strip()
    changes = [f"line {router.sourceline}: router {mac}: {fault.text}: put in ndpmon's order"
               for fault in legacy.reorder(router) + legacy.fill(router)
               if fault.text != _PREFIXES_FIRST]
    dropped = []
    for tag in _ZERO_UNCHECKED:
        el = router.find(tag)
        if el is not None and "".join(el.itertext()).strip() == "0":
            router.remove(el)
            dropped.append(tag)
    for el in router.findall("addresses/address"):
        if not "".join(el.itertext()).strip():
            el.getparent().remove(el)
    if dropped:
        changes.append(f"line {router.sourceline}: router {mac}: left out "
                       f"{', '.join(dropped)} = 0 (NDPMon 1.4 did not check a parameter "
                       "learned as 0; ndpmon checks every one the config gives)")
    return changes


def _guards_note(guards: Element) -> list[str]:
    """1.4 sent countermeasures whenever it was built with them; ndpmon asks for more."""
    active = [g.tag for g in _elements(guards) if "".join(g.itertext()).strip() != "SUPPRESS"]
    if not active:
        return []
    return [f"line {guards.sourceline}: note: the guards are kept ({', '.join(active)}); "
            "ndpmon sends countermeasures only on a probe with <countermeasures_enabled>1"
            "</countermeasures_enabled> and with <plugin name=\"countermeasures\"/> on "
            "(README \"Plugins\"): add them to keep NDPMon 1.4's behaviour"]
