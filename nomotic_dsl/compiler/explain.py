"""Rules in plain words, for compliance readers.

Input: compiled ``InvariantSpec`` objects and ``BehavioralContract`` objects
(what ``compile_source`` returns). Output: sentences, such as "The
write-to-read ratio must stay below 0.3, measured over the last 100 actions.",
and a JSON-clean document of them. Stage: after lowering; ``nomo explain``
renders it. The phrases are those of ``nomotic_dsl.runtime.interpreter.detail``, so an
explanation and a runtime result's detail describe a rule in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nomotic_dsl.ir import BehavioralContract
from nomotic_dsl.ir.describe import (
    actions_phrase,
    format_duration,
    format_number,
    requirement_of,
    subject_of,
)
from nomotic_dsl.ir.spec import EVERY_TERM, RATE_GROWTH, InvariantSpec, parse_temporal_metric

# What each drift distribution compares, for the reader who has not seen the seed.
_DRIFT_MEANING = {
    "action": "how far the mix of actions has moved from the expected one",
    "target": "how far the mix of targets has moved from the expected one",
    "temporal": "how far the agent's hours of activity have moved from the usual ones",
    "outcome": "how far the mix of allow, deny, modify and escalate verdicts has moved",
    "semantic": "how far the meaning of the agent's actions has moved from its anchors",
    "overall": "the weighted mean of the other drift scores",
}


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    """One invariant: its id, the author's description and the plain-words sentence."""

    invariant_id: str
    description: str
    sentence: str

    def to_dict(self) -> dict[str, str]:
        """JSON-clean form."""
        return {
            "invariant_id": self.invariant_id,
            "description": self.description,
            "explanation": self.sentence,
        }


@dataclass(frozen=True, slots=True)
class ContractExplanation:
    """One contract: a heading, its settings in words, and its rules."""

    heading: str
    settings: tuple[str, ...]
    rules: tuple[RuleExplanation, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-clean form."""
        return {
            "contract": self.heading,
            "settings": list(self.settings),
            "invariants": [rule.to_dict() for rule in self.rules],
        }


def explain_spec(spec: InvariantSpec) -> str:
    """The rule of one spec as a sentence ending in a full stop."""
    if spec.type == "rate" and spec.metric == RATE_GROWTH and spec.window_seconds is not None:
        return _growth_sentence(spec, spec.window_seconds)
    if spec.type == "temporal" and spec.operator == "eq" and spec.threshold == 0.0:
        hours = parse_temporal_metric(spec.metric)
        sentence = (
            f"No action may fall outside the allowed hours {_hours_label(hours.start, hours.end)}"
        )
        sentence += f" ({hours.zone or 'UTC'})"
    else:
        sentence = f"The {_subject(spec)} {_requirement(spec)}"
    return f"{sentence}{_where(spec)}{_warmup(spec)}."


def explain_rule(spec: InvariantSpec) -> RuleExplanation:
    """The explanation of one spec, with its id and description."""
    return RuleExplanation(spec.invariant_id, spec.description, explain_spec(spec))


def explain_contract(contract: BehavioralContract) -> ContractExplanation:
    """A contract's identity, settings and invariants in words."""
    heading = f'contract "{contract.agent_id}" version {contract.version}'
    rules = tuple(explain_rule(InvariantSpec.from_dict(item)) for item in contract.invariants)
    return ContractExplanation(heading, tuple(contract_settings(contract)), rules)


def contract_settings(contract: BehavioralContract) -> list[str]:
    """The contract's non-rule fields as short sentences, in the seed's field order."""
    lines = [f"Archetype: {contract.archetype}."]
    if contract.certificate_id:
        lines.append(f"Bound to birth certificate {contract.certificate_id}.")
    lines.extend(_scope_lines(contract.authorized_scope))
    lines.append(
        f"Trust starts at {format_number(contract.initial_trust)} and stays between "
        f"{format_number(contract.trust_floor)} and {format_number(contract.trust_ceiling)}."
    )
    for kind, shares in (
        ("actions", contract.expected_action_distribution),
        ("targets", contract.expected_target_distribution),
        ("outcomes", contract.expected_outcome_distribution),
    ):
        if shares:
            lines.append(f"Expected {kind}: {_shares(shares)}.")
    lines.extend(_anchor_line(anchor) for anchor in contract.semantic_anchors)
    lines.extend(_drift_lines(contract.drift_thresholds))
    return lines


def explanation_document(
    invariants: Sequence[InvariantSpec], contracts: Sequence[BehavioralContract]
) -> dict[str, Any]:
    """The JSON document ``nomo explain --format json`` prints."""
    explained = [explain_contract(contract) for contract in contracts]
    return {
        "invariants": [explain_rule(spec).to_dict() for spec in free_rules(invariants, contracts)],
        "contracts": [item.to_dict() for item in explained],
    }


def free_rules(
    invariants: Sequence[InvariantSpec], contracts: Iterable[BehavioralContract]
) -> list[InvariantSpec]:
    """The file-level rules no contract carries (contract rules are explained with it)."""
    carried = {item["invariant_id"] for contract in contracts for item in contract.invariants}
    return [spec for spec in invariants if spec.invariant_id not in carried]


def render_text(
    invariants: Sequence[InvariantSpec], contracts: Sequence[BehavioralContract]
) -> str:
    """The text ``nomo explain`` prints: free rules, then each contract."""
    blocks: list[str] = []
    rules = [explain_rule(spec) for spec in free_rules(invariants, contracts)]
    if rules:
        blocks.append("\n".join(["Rules:", *_rule_lines(rules, "  ")]))
    for contract in contracts:
        explained = explain_contract(contract)
        lines = [explained.heading, *(f"  {line}" for line in explained.settings)]
        if explained.rules:
            lines.append("  Invariants:")
            lines.extend(_rule_lines(explained.rules, "    "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "No rules or contracts."


# ---- phrases ----------------------------------------------------------------


def _subject(spec: InvariantSpec) -> str:
    if spec.type == "drift":
        return f"{spec.metric} drift ({_DRIFT_MEANING.get(spec.metric, 'a drift score')})"
    if spec.type == "semantic" and spec.metric == EVERY_TERM:
        return (
            "lowest semantic fidelity of any anchor term (1 minus how far the term has "
            "shifted from its baseline; the term is named in each result)"
        )
    if spec.type == "semantic":
        return f'semantic fidelity of "{spec.metric}" (1 minus its semantic drift)'
    if spec.type == "rate":
        return "action rate"
    return subject_of(spec)


def _requirement(spec: InvariantSpec) -> str:
    text = requirement_of(spec)
    if spec.type == "rate":
        return f"{text} actions per second{_per_hour(spec)}"
    if spec.type == "distribution" and spec.metric != "target_count":
        return f"{text} ({_percent(spec.threshold)}{_upper_percent(spec)} of activity)"
    return text


def _where(spec: InvariantSpec) -> str:
    if spec.type == "drift":  # drift reads the state's score, whatever window a spec names
        return ", as reported in the agent's behavioral state"
    session = " of the current session" if spec.per_session else ""
    verb = "averaged" if spec.type == "semantic" else "measured"
    if spec.window is not None:
        unit = "action" if spec.window == 1 else f"{spec.window} actions"
        return f", {verb} over the last {unit}{session}"
    if spec.window_seconds is not None:
        duration = format_duration(spec.window_seconds).removeprefix("1 ")
        return f", measured over the last {duration}{session}"
    if spec.per_session:
        return f", {verb} over the actions of the current session"
    if spec.type in ("drift", "semantic"):
        return ", as reported in the agent's behavioral state"
    return ", over the agent's whole recorded history"


def _growth_sentence(spec: InvariantSpec, seconds: float) -> str:
    window = format_duration(seconds).removeprefix("1 ")
    session = " of the current session" if spec.per_session else ""
    bound = requirement_of(spec)
    return (
        f"The number of actions in the last {window}{session}, divided by the number in the "
        f"{window} before, {bound} (the agent's own earlier rate is the baseline); it is not "
        f"measured until the recorded actions reach back {format_duration(2 * seconds)} and "
        f"the {window} before holds an action{_warmup(spec)}."
    )


def _warmup(spec: InvariantSpec) -> str:
    if spec.min_actions is None:
        return ""
    needed = actions_phrase(spec.min_actions)
    if spec.window is None and spec.window_seconds is None:
        return f"; it is not measured until {needed} are recorded"
    return f"; it is not measured until the window holds {needed}"


def _per_hour(spec: InvariantSpec) -> str:
    per_hour = spec.threshold * 3600
    if spec.operator == "between" and spec.threshold_upper is not None:
        upper = spec.threshold_upper * 3600
        return (
            f" ({format_number(round(per_hour, 2))} to {format_number(round(upper, 2))} per hour)"
        )
    return f" ({format_number(round(per_hour, 2))} per hour)"


def _percent(share: float) -> str:
    return f"{format_number(round(share * 100, 4))}%"


def _upper_percent(spec: InvariantSpec) -> str:
    if spec.operator == "between" and spec.threshold_upper is not None:
        return f" to {_percent(spec.threshold_upper)}"
    return ""


def _hours_label(start: int, end: int) -> str:
    return f"{start:02d}:00-{end:02d}:00"


def _shares(shares: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {_percent(value)}" for name, value in shares.items())


def _scope_lines(scope: Mapping[str, Any]) -> list[str]:
    lines = []
    for kind in ("actions", "targets"):
        names = scope.get(kind)
        if names:
            lines.append(f"Authorized {kind}: {', '.join(names)}.")
    if not lines:
        lines.append("No authorized scope is declared.")
    return lines


def _anchor_line(anchor: Mapping[str, Any]) -> str:
    actions = ", ".join(anchor.get("actions", ())) or "no actions"
    line = f'Semantic anchor "{anchor.get("term", "")}" covers {actions}'
    description = anchor.get("description")
    return f"{line}: {description}." if description else f"{line}."


def _drift_lines(thresholds: Mapping[str, float]) -> list[str]:
    if not thresholds:
        return []
    parts = [f"{key} above {format_number(value)}" for key, value in thresholds.items()]
    return [f"Drift is flagged when {', '.join(parts)}."]


def _rule_lines(rules: Iterable[RuleExplanation], indent: str) -> list[str]:
    lines = []
    for rule in rules:
        lines.append(f"{indent}{rule.invariant_id}: {rule.sentence}")
        if rule.description:
            lines.append(f"{indent}    As written: {rule.description}")
    return lines
