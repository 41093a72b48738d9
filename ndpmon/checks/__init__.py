"""The ordered check registry: NDPMon's watcher table and its stop-on-error rule.

NDPMon 2.1 runs its watchers in the order of ``src/extensions.c`` (COMPATIBILITY.md §3.1); a
watcher runs when the ICMPv6 type matches, and when one registered STOP_ON_ERROR returns 2
the rest are skipped for that packet. Which alerts a packet gives depends on this order
(a rogue RA gives ``wrong ipv6 router`` and no ``new station``), so ``ORDER`` below pins it
and a test compares it with the original table. Five checks are new: three that apply to
every message run first (floods, extension headers, malformed messages), and two run
beside the checks they refine (``watch_na_proxy`` before ``new_station`` for NAs,
``watch_rd_target`` after ``watch_rd_src``).

A check (ndpmon.checks.registry) is ``func(msg, ctx) -> PASS | STOP`` and declares the
reasons it can raise, so that a test can require a sample for each. This package imports
the check modules (which register themselves) and runs them: ``run_checks``.
"""

from __future__ import annotations

from typing import Iterable

from ndpmon.checks import general, na, neighbors, proxy, ra, rates, redirect
from ndpmon.checks.alert import Alert
from ndpmon.checks.context import Context
from ndpmon.checks.registry import HIGH, LOW, PASS, STOP, Check, CheckFunc, checks_by_name
from ndpmon.codec.addr import UNSPECIFIED
from ndpmon.codec.message import NA, NS, RA, REDIRECT, RS, ND_TYPES, NdMessage
from ndpmon.state.probe import ProbeState

__all__ = ["Check", "ORDER", "registry", "run_checks", "Plans", "Context", "ProbeState",
           "PASS", "STOP", "LOW", "HIGH", "MODULES"]

NO_ALERTS: list[Alert] = []  # returned for the (common) packet without alerts: never append
#: The modules whose checks ORDER names (imported above: importing registers them).
MODULES = (general, na, neighbors, proxy, ra, rates, redirect)


#: Run order: (registered name, ICMPv6 types it runs for in this slot).
#: Mirrors NDPMon 2.1's extensions.c:38-93 (COMPATIBILITY.md §3.1 rows 5-19); ``new_station``
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
    ("watch_na_proxy", frozenset((NA,))),     # new: declared and undeclared ND proxies
    ("new_station", frozenset((NA,))),        # 17
    ("watch_R_flag", frozenset((NA,))),       # 18
    ("watch_rd_src", frozenset((REDIRECT,))), # 19
    ("watch_rd_target", frozenset((REDIRECT,))),  # new: redir6 in the router's name
)


def registry() -> list[tuple[Check, frozenset[int]]]:
    """The checks in run order, each with the types its slot runs for."""
    by_name = checks_by_name()
    return [(by_name[name], types) for name, types in ORDER]


def plan(icmp_type: int) -> list[Check]:
    """The checks that run for one ICMPv6 type, in order."""
    return [c for c, types in registry() if icmp_type in types & c.types]


Step = tuple[CheckFunc, bool]  # (func, stop_on_error)


class Plans:
    """Per ICMPv6 type and kind of source, the steps to run, built at first use: the core
    checks in ORDER, with the checks of plugins (ndpmon.engine.plugin.PluginCheck)
    inserted before the core check they name, and those that name none in a tail that
    runs only when no check stopped the packet (NDPMon's rules, COMPATIBILITY.md §3.1 row
    21). A message from ``::`` has its own plans, without the checks that skip it. The
    hot loop reads plain tuples rather than attributes."""

    def __init__(self, extra: Iterable = ()) -> None:
        self.extra = tuple(extra)
        #: the ICMPv6 type (negated for a source ``::``) -> (main steps, tail steps)
        self.by_type: dict[int, tuple[tuple[Step, ...], tuple[Step, ...]]] = {}

    def build(self, key: int) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
        """The (main, tail) steps for one ICMPv6 type (negated: from ``::``)."""
        icmp_type, unspecified = abs(key), key < 0
        main: list[Step] = []
        for core, types in registry():
            if icmp_type not in types & core.types:
                continue
            main.extend(_step(x) for x in self.extra
                        if x.before == core.name and icmp_type in x.types & types
                        and not (unspecified and x.skip_unspecified))
            if not (unspecified and core.skip_unspecified):
                main.append((core.func, core.stop_on_error))
        tail = tuple(_step(x) for x in self.extra
                     if x.before is None and icmp_type in x.types
                     and not (unspecified and x.skip_unspecified))
        steps = self.by_type[key] = (tuple(main), tail)
        return steps


def _step(extra) -> Step:
    return (extra.func, extra.stop_on_error)


CORE = Plans()


def run_checks(msg: NdMessage, state: ProbeState, now: float,
               plans: Plans = CORE) -> list[Alert]:
    """Run every check for ``msg`` in order, honouring stop-on-error; return the alerts."""
    key = -msg.type if msg.src == UNSPECIFIED else msg.type
    steps = plans.by_type.get(key) or plans.build(key)
    ctx = state.context
    if ctx is None:
        ctx = state.context = Context(state)
    ctx.msg, ctx.now, ctx.alerts = msg, now, None
    halt = STOP  # a local: read once per check
    for func, stop in steps[0]:
        if func(msg, ctx) == halt and stop:
            break
    else:
        for func, stop in steps[1]:
            if func(msg, ctx) == halt and stop:
                break
    return ctx.alerts or NO_ALERTS
