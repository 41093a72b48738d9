"""The ordered check registry: NDPMon's watcher table and its stop-on-error rule.

NDPMon 2.1 runs its watchers in the order of ``src/extensions.c`` (REFERENCE §1.2); a
watcher runs when the ICMPv6 type matches, and when one registered STOP_ON_ERROR returns 2
the rest are skipped for that packet. Which alerts a packet gives depends on this order
(a rogue RA gives ``wrong ipv6 router`` and no ``new station``), so ``ORDER`` below pins it
and a test compares it with the original table. Our two new checks run first.

A check is ``func(msg, ctx) -> int`` (0 nothing, 1 alert, 2 alert that may stop) and
declares the reasons it can raise, so that a test can require a sample for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..alert import Alert, Priority
from ..ndmsg import NA, NS, RA, REDIRECT, RS, ND_TYPES, NdMessage
from .context import Context, ProbeState

__all__ = ["Check", "check", "ORDER", "registry", "run_checks", "Context", "ProbeState"]

CheckFunc = Callable[[NdMessage, Context], int]
NO_ALERTS: list[Alert] = []  # returned for the (common) packet without alerts: never append
ZERO16 = bytes(16)


@dataclass(frozen=True, slots=True)
class Check:
    """One entry of the registry."""

    name: str
    func: CheckFunc
    types: frozenset[int]
    stop_on_error: bool
    reasons: tuple[str, ...]
    skip_unspecified: bool = False


_BY_NAME: dict[str, Check] = {}


def check(name: str, types: Iterable[int] = ND_TYPES, *, stop_on_error: bool = False,
          reasons: tuple[str, ...] = (), skip_unspecified: bool = False
          ) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` under ``name`` (its place in the run order is set by ORDER)."""

    def register(func: CheckFunc) -> CheckFunc:
        if name in _BY_NAME:
            raise ValueError(f"check {name!r} registered twice")
        _BY_NAME[name] = Check(name, func, frozenset(types), stop_on_error, reasons,
                               skip_unspecified)
        return func

    return register


#: Run order: (registered name, ICMPv6 types it runs for in this slot).
#: Mirrors NDPMon 2.1's extensions.c:38-93 (REFERENCE §1.2 rows 5-19); ``new_station``
#: appears once per message type, as there.
ORDER: tuple[tuple[str, frozenset[int]], ...] = (
    ("watch_rates", ND_TYPES),                # new: RFC 6583 §4 floods
    ("watch_ext_headers", ND_TYPES),          # new: RFC 6980 / RFC 7113
    ("watch_malformed", ND_TYPES),            # new: RFC 4861 validity rules
    ("watch_eth_mismatch", ND_TYPES),         # 5
    ("watch_eth_broadcast", ND_TYPES),        # 6
    ("watch_ip_broadcast", ND_TYPES),         # 7
    ("watch_bogon", ND_TYPES),                # 8
    ("watch_hop_limit", ND_TYPES),            # 9
    ("new_station", frozenset((RS,))),        # 10
    ("watch_ra", frozenset((RA,))),           # 11
    ("new_station", frozenset((RA,))),        # 12
    ("new_station", frozenset((NS,))),        # 13
    ("watch_dad", frozenset((NS,))),          # 14
    ("watch_dad_dos", frozenset((NA,))),      # 15
    ("watch_na_target", frozenset((NA,))),    # 16
    ("new_station", frozenset((NA,))),        # 17
    ("watch_R_flag", frozenset((NA,))),       # 18
    ("watch_rd_src", frozenset((REDIRECT,))), # 19
    ("watch_rd_target", frozenset((REDIRECT,))),  # new: redir6 in the router's name
)


def registry() -> list[tuple[Check, frozenset[int]]]:
    """The checks in run order, each with the types its slot runs for."""
    _load()
    return [(_BY_NAME[name], types) for name, types in ORDER]


def _load() -> None:
    from . import general, neighbors, ra, na, rates, redirect  # noqa: F401  (they register)


def plan(icmp_type: int) -> list[Check]:
    """The checks that run for one ICMPv6 type, in order."""
    return [c for c, types in registry() if icmp_type in types & c.types]


#: Per ICMPv6 type, (func, stop_on_error, skip_unspecified) in run order: the hot loop
#: reads plain tuples rather than attributes.
_PLANS: dict[int, tuple[tuple[CheckFunc, bool, bool], ...]] = {}


def run_checks(msg: NdMessage, state: ProbeState, now: float) -> list[Alert]:
    """Run every check for ``msg`` in order, honouring stop-on-error; return the alerts."""
    steps = _PLANS.get(msg.type)
    if steps is None:
        steps = _PLANS[msg.type] = tuple(
            (c.func, c.stop_on_error, c.skip_unspecified) for c in plan(msg.type))
    ctx = state.context
    ctx.msg, ctx.now, ctx.alerts = msg, now, None
    unspecified = msg.src == ZERO16
    for func, stop, skip in steps:
        if skip and unspecified:
            continue
        if func(msg, ctx) == 2 and stop:
            break
    return ctx.alerts or NO_ALERTS


LOW, HIGH = Priority.LOW, Priority.HIGH
