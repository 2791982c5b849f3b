"""Rule conflicts: rules on the same metric and window that contradict or repeat each other.

Input: the checked rules of one set (a file's top level, or one contract),
as ``(RuleFacts, report, place)`` in source order. Output: diagnostics
through the rules' report functions, at most one of each kind per group of
rules on one metric and window: NMO500 when no value satisfies all of them
together, NMO501 (warning) when some are implied by others. Stage: checking,
after every rule of the set is known.

Near-linear: rules are grouped by everything but their bounds (a dict), and
each group is swept once after sorting, so 10,000 rules on one metric cost a
sort, not 50 million comparisons. In one dimension a family of intervals has
a common value exactly when its tightest lower bound lies below its tightest
upper bound (so a conflict is found from two rules), and a rule is implied by
another exactly when some other interval starts no lower and ends no higher
(found in one sweep by descending lower bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from nomotic_dsl.compiler.semantics.rules import RuleFacts, Values, allowed_values
from nomotic_dsl.compiler.semantics.values import Report

# RuleFacts fields that are the bound itself; every other field (type, metric,
# window and whatever else says what is measured) puts two rules in one group.
_BOUND_FIELDS = frozenset(
    {"operator", "threshold", "threshold_upper", "span", "baseline_multiplier"}
)
# At most this many other rules are named in one message.
_LISTED = 10


@dataclass(frozen=True, slots=True)
class _Member:
    index: int
    facts: RuleFacts
    report: Report
    place: str
    values: Values

    @property
    def low_key(self) -> tuple[float, int]:
        """Larger is tighter: an open lower end is tighter than a closed one."""
        return (self.values.low, 0 if self.values.low_closed else 1)

    @property
    def high_key(self) -> tuple[float, int]:
        """Smaller is tighter: an open upper end is tighter than a closed one."""
        return (self.values.high, 1 if self.values.high_closed else 0)


def group_key(facts: RuleFacts) -> tuple[object, ...]:
    """What a rule measures: rules with equal keys are compared with each other."""
    return tuple(
        getattr(facts, item.name) for item in fields(facts) if item.name not in _BOUND_FIELDS
    )


def find_conflicts(rules: Sequence[tuple[RuleFacts, Report, str]]) -> None:
    """Report, per group of rules on one metric and window, a contradiction or the redundant rules.

    Each entry is the rule's facts, the report function of its file, and where
    it is (``file:line``) so the message can point at the other rules.
    """
    groups: dict[tuple[object, ...], list[_Member]] = {}
    for index, (facts, report, place) in enumerate(rules):
        member = _Member(index, facts, report, place, allowed_values(facts))
        groups.setdefault(group_key(facts), []).append(member)
    for members in groups.values():
        if len(members) > 1 and not _contradiction(members):
            _redundancies(members)


def _contradiction(members: list[_Member]) -> bool:
    """NMO500 on the later of the tightest-low and tightest-high rules when they cannot meet."""
    lowest_high = min(members, key=lambda m: (m.high_key, m.index))
    highest_low = max(members, key=lambda m: (m.low_key, -m.index))
    if highest_low.values.meets(lowest_high.values):
        return False
    later, earlier = sorted((highest_low, lowest_high), key=lambda m: m.index, reverse=True)
    others = len(members) - 2
    more = f" (and {others} more rule{'s' if others != 1 else ''} on it)" if others > 0 else ""
    later.report(
        "NMO500",
        later.facts.span,
        f"no value of {_where(later.facts)} satisfies both this rule and the rule at "
        f"{earlier.place}{more}",
        "remove one of them, or widen the bounds so they overlap",
    )
    return True


def _redundancies(members: list[_Member]) -> None:
    """One NMO501 per group: every rule that another rule of the group already implies."""
    implied: list[tuple[_Member, _Member]] = []
    tightest: _Member | None = None
    order = sorted(members, key=lambda m: (_negated(m.low_key), m.high_key, m.index))
    for member in order:
        if tightest is not None and tightest.high_key <= member.high_key:
            implied.append((member, tightest))
        if tightest is None or member.high_key < tightest.high_key:
            tightest = member
    if not implied:
        return
    implied.sort(key=lambda pair: pair[0].index)
    first, by = implied[0]
    if len(implied) == 1:
        message = (
            f"this rule on {_where(first.facts)} is redundant: "
            f"the rule at {by.place} already implies it"
        )
    else:
        listed = ", ".join(
            f"{rule.place} (by {implier.place})" for rule, implier in implied[1 : 1 + _LISTED]
        )
        rest = len(implied) - 1 - _LISTED
        tail = f" and {rest} more" if rest > 0 else ""
        message = (
            f"this rule on {_where(first.facts)} is redundant (the rule at {by.place} "
            f"already implies it), and so are {len(implied) - 1} more: {listed}{tail}"
        )
    first.report("NMO501", first.facts.span, message, "keep only the stricter rules")


def _negated(key: tuple[float, int]) -> tuple[float, int]:
    return (-key[0], -key[1])


def _where(facts: RuleFacts) -> str:
    window = ""
    if facts.window is not None:
        window = f" over {facts.window} actions"
    elif facts.window_seconds is not None:
        window = f" over {facts.window_seconds:g}s"
    return f"{facts.type} {facts.metric}{window}"
