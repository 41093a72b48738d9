"""Reason names are constants (ndpmon.checks.reasons), and every one is raised by something.

Plugins key on reasons (the countermeasures plugin answers ``wrong prefix`` and a dozen
more), so a reason renamed in a check without the plugin would silently switch a
countermeasure off. These tests tie the three together: the constants, the reasons the
checks declare, and the reasons the shipped plugins key on.
"""

from __future__ import annotations

import ast
from pathlib import Path

from plugkit import config_text, engine_for, load

from ndpmon.checks import fragments, reasons, registry
from ndpmon.plugin import reasons as plugin_reasons

ROOT = Path(__file__).resolve().parent.parent
CONSTANTS = {name: value for name, value in vars(reasons).items()
             if name.isupper() and isinstance(value, str)}
#: Raised by the engine itself rather than by a registered check.
ENGINE_REASONS = {reasons.CACHE_LIMIT, reasons.UNMONITORED_VLAN, *fragments.REASONS}


def declared() -> set[str]:
    """Every reason some registered check declares, and the engine's own."""
    return {r for chk, _types in registry() for r in chk.reasons} | ENGINE_REASONS


def referenced() -> set[str]:
    """The constants named as ``reasons.NAME`` in ndpmon/ and plugins/ (reasons.py aside)."""
    found = set()
    for path in [*(ROOT / "ndpmon").rglob("*.py"), *(ROOT / "plugins").glob("*.py")]:
        if path.name == "reasons.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "reasons"):
                found.add(node.attr)
    return found


def test_plugins_get_the_same_constants():
    """``from ndpmon.plugin import reasons`` is the checks' own module."""
    assert plugin_reasons is reasons


def test_constants_are_distinct():
    """No two constants name the same reason text (each reason has one home)."""
    assert len(set(CONSTANTS.values())) == len(CONSTANTS)


def test_every_declared_reason_is_a_constant():
    """A check declares only reasons that reasons.py lists (no stray literal)."""
    assert sorted(declared() - set(CONSTANTS.values())) == []


def test_every_constant_is_raised_by_something():
    """Each constant is declared by a check (so tests/test_samples.py wants a sample for
    it) or used by name where an alert is raised; an unused constant is a stale name."""
    unused = {name for name, value in CONSTANTS.items()
              if value not in declared() and name not in referenced()}
    assert sorted(unused) == []
    assert sorted(set(referenced()) - set(CONSTANTS)) == []


def test_every_countermeasure_keys_on_a_declared_reason(tmp_path):
    """Each reason the countermeasures plugin answers is one some check raises: renaming
    a reason cannot silently switch a countermeasure off."""
    engine = engine_for(load(tmp_path, config_text('<plugin name="countermeasures"/>')))
    [plugin] = engine.plugins
    keys = set(plugin.handlers)
    assert reasons.WRONG_PREFIX in keys
    assert sorted(keys - declared()) == []
