# ndpmon.plugin.description = the <rules> of each probe: user defined rule matched alerts
"""rules: NDPMon's user-defined rules (COMPATIBILITY.md §4.9), switched on with
``<plugin name="rules"/>``.

Each probe's ``<rules>`` holds ``<rule description="...">`` elements of ``<no-match>``
and ``<match field="..." value="..."/>`` clauses (fields: ndpmon.config.rulefields, checked
when the config is loaded). A rule matches an ND message when every ``<match>`` holds
and no ``<no-match>`` does (NDPMon ignored ``<no-match>``, COMPATIBILITY.md §7.12); each matching
rule raises ``user defined rule matched`` (low) with its description as the message. The
rules run last, and only when no check stopped the message (COMPATIBILITY.md §3.1 row 21).
"""

from __future__ import annotations

from ndpmon.checks.alert import Priority
from ndpmon.plugin import PASS, Plugin as Base, PluginCheck, known_params, reasons
from ndpmon.config.rulefields import test

REASON = reasons.USER_RULE


class Rules(Base):
    description = "user defined rules of each probe"

    def __init__(self, params, config):
        super().__init__(params, config)
        known_params(params, ())

    def checks(self):
        return [PluginCheck("rule_match_all", self.check)]

    def check(self, msg, ctx) -> int:
        """Raise one alert per rule of this probe that ``msg`` matches."""
        for rule in ctx.state.probe.rules:
            if all(test(c.field, c.operand, msg) is (not c.negate) for c in rule.clauses):
                ctx.alert(Priority.LOW, REASON, rule.description)
        return PASS


Plugin = Rules
