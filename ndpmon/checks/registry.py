"""How a check is declared: the ``check`` decorator, its record, and what it returns.

A check is ``func(msg, ctx) -> int``: it raises its alerts with ``ctx.alert`` and returns
``STOP`` when the packet is an attack or a fault that the later checks should not see
(NDPMon's 2), ``PASS`` otherwise, whether it raised an alert or not. STOP stops the packet
only if the check is registered ``stop_on_error`` (NDPMon's STOP_ON_ERROR, COMPATIBILITY.md
§3.1); for the others the value is not read. Any value other than STOP counts as PASS,
so plugins that still return NDPMon's 1 ("alerted") keep working; core checks return
only PASS or STOP.

Each check declares the reasons it can raise (constants of ndpmon.checks.reasons), so
that a test can require a sample capture for each. The check modules import this
module, and the package (ndpmon.checks) imports them: no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ndpmon.checks.alert import Priority
from ndpmon.codec.message import ND_TYPES, NdMessage

__all__ = ["Check", "check", "checks_by_name", "CheckFunc", "PASS", "STOP", "LOW", "HIGH"]

#: A check's verdicts: go on with the next check, or stop this packet if the check is
#: registered ``stop_on_error``.
PASS, STOP = 0, 2
LOW, HIGH = Priority.LOW, Priority.HIGH

#: ``func(msg, ctx)``, ctx an ndpmon.checks.context.Context (which imports this module)
CheckFunc = Callable[[NdMessage, Any], int]


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


def checks_by_name() -> dict[str, Check]:
    """Every registered check by name (those of the modules imported so far)."""
    return dict(_BY_NAME)
