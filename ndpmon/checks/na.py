"""Neighbor Solicitation and Advertisement checks: ``monitoring_ns.c`` and ``monitoring_na.c``.

``watch_dad`` remembers DAD probes (NS from ``::``, RFC 4862 §5.4.2); ``watch_dad_dos``
raises ``dad dos`` when someone else answers one (RFC 4862 §5.4.4: an NA for a tentative
address makes its owner give it up, a denial of service when forged). NDPMon kept one
slot per probe, never cleared, and ignored who had probed, so a host that had finished DAD
and later answered for its own new address was a ``dad dos`` (COMPATIBILITY.md §7.10). Here the
table keeps every recent probe with its MAC, bounded, and only another station answering within
``DAD_WINDOW`` of the probe counts.
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import UNSPECIFIED, ip_full, mac_str
from ndpmon.codec.message import NA, NA_OVERRIDE, NA_ROUTER, NS, NdMessage
from ndpmon.checks.registry import HIGH, LOW, PASS, STOP, check
from ndpmon.checks.context import Context
from ndpmon.state.probe import MAX_DAD

#: How long after a DAD probe an NA for its target counts as an answer to it (seconds).
#: RFC 4862 §5.4: DupAddrDetectTransmits (1) x RetransTimer (1 s), after a random delay
#: of up to MAX_RTR_SOLICITATION_DELAY (1 s); 10 s leaves room for slow hosts.
DAD_WINDOW = 10.0


@check("watch_dad", (NS,), reasons=())
def watch_dad(msg: NdMessage, ctx: Context) -> int:
    """RFC 4862 §5.4.2: remember the target of a DAD probe and who sent it."""
    if msg.src != UNSPECIFIED:
        return PASS
    dad = ctx.state.dad
    dad.pop(msg.target, None)
    dad[msg.target] = (msg.eth_src, ctx.now)
    while len(dad) > MAX_DAD:
        dad.popitem(last=False)
    return PASS


@check("watch_dad_dos", (NA,), stop_on_error=True, reasons=(reasons.DAD_DOS,))
def watch_dad_dos(msg: NdMessage, ctx: Context) -> int:
    """RFC 4862 §5.4.4: an NA for an address under DAD, from another station."""
    probe = ctx.state.dad.get(msg.target)
    if probe is None:
        return PASS
    prober, when = probe
    if ctx.now - when > DAD_WINDOW or msg.eth_src == prober:
        return PASS
    owner = ctx.state.neighbors.by_mac.get(msg.eth_src)
    if owner is not None and (msg.target == owner.lla or msg.target in owner.addresses):
        return PASS
    ctx.alert(HIGH, reasons.DAD_DOS, f"dad dos {mac_str(msg.eth_src)} {ip_full(msg.src)}",
              target=ip_full(msg.target), prober=mac_str(prober))
    return STOP


def _rfc2526_anycast(addr: bytes) -> bool:
    """RFC 2526 subnet anycast: interface identifier fdff:ffff:ffff:ff80/121 (EUI-64 form)."""
    return addr[8:15] == b"\xfd\xff\xff\xff\xff\xff\xff" and addr[15] >= 0x80


@check("watch_na_target", (NA,), stop_on_error=True,
       reasons=(reasons.NA_MULTICAST_TARGET, reasons.NA_OVERRIDE_FLAG))
def watch_na_target(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §7.1.2 (multicast target) and §7.2.6/§7.2.7 (Override on proxies, anycast).

    As NDPMon's ``monitoring_na.c``, a multicast target does not end the checks: an
    Override flag without a Target Link-Layer option is reported too.
    """
    target, result = msg.target, PASS
    if target[0] == 0xFF:
        ctx.alert(HIGH, reasons.NA_MULTICAST_TARGET, f"NA multicast target {_who(msg)}")
        result = STOP
    if not msg.na_flags & NA_OVERRIDE:
        return result
    if target != msg.src and _unicast(target):
        ctx.alert(LOW, reasons.NA_OVERRIDE_FLAG, f"NA Override flag {_who(msg)}",
                  anycast=_rfc2526_anycast(target))
        result = STOP
    if msg.tlla is None:
        ctx.alert(LOW, reasons.NA_OVERRIDE_FLAG, f"NA Override flag {_who(msg)}", tlla=None)
        result = STOP
    return result


_V4_MAPPED = bytes(10) + b"\xff\xff"
_LOOPBACK = bytes(15) + b"\x01"


def _unicast(addr: bytes) -> bool:
    """Not multicast, unspecified, loopback or IPv4-mapped (NDPMon's first Override test)."""
    return addr[0] != 0xFF and any(addr) and addr != _LOOPBACK and addr[:12] != _V4_MAPPED


def _who(msg: NdMessage) -> str:
    """``<mac> <src> <target>`` as the NA messages print them."""
    return f"{mac_str(msg.eth_src)} {ip_full(msg.src)} {ip_full(msg.target)}"


@check("watch_R_flag", (NA,), reasons=(reasons.NA_ROUTER_FLAG,))
def watch_r_flag(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §4.4: only a configured router may set the Router flag.

    As NDPMon's ``monitoring_na.c:39-112``: the MAC must be a router's, and the source
    any router's link-local address or one of the addresses listed for that MAC.
    """
    if not msg.na_flags & NA_ROUTER:
        return PASS
    state, src = ctx.state, msg.src
    routers = state.routers_by_mac.get(msg.eth_src)
    if routers and (src in state.router_llas or any(src in r.addresses for r in routers)):
        return PASS
    ctx.alert(HIGH, reasons.NA_ROUTER_FLAG, f"NA router flag {mac_str(msg.eth_src)} {ip_full(src)}")
    return STOP
