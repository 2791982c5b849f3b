"""The lower stage: checked program -> InvariantSpecs, BehavioralContracts, ArchetypePriors.

Input: ``CheckedProgram``. Output: ``Lowered`` (specs in source order, imports
first; contracts; priors; diagnostics for anything the IR refuses). Stage:
checked AST -> the spec IR. Pure: contracts are stamped with the request's
``created_at`` and get the one content-derived contract id
(``nomotic_dsl.ir.contract.derive_contract_id``). Ids and descriptions are
decided here: a named invariant's id is its name, an unnamed one's is
``derived_invariant_id`` (a content hash, stable across recompiles); the
description is the author's, else the rule's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from nomotic_dsl.compiler.diagnostics import Diagnostic, make_diagnostic
from nomotic_dsl.compiler.semantics.imports import LoadedProgram
from nomotic_dsl.compiler.semantics.program import CheckedContract, CheckedProgram, CheckedRule
from nomotic_dsl.ir import InvariantSpec, derived_invariant_id
from nomotic_dsl.ir.contract import BehavioralContract, ContractError
from nomotic_dsl.ir.describe import format_number
from nomotic_dsl.ir.prior import ArchetypePrior


@dataclass(frozen=True, slots=True)
class LoweredRule:
    """A rule's spec and where the rule was written (for source maps)."""

    spec: InvariantSpec
    rule: CheckedRule


@dataclass(frozen=True, slots=True)
class Lowered:
    """The lowerer's output: the spec IR of the program, and every diagnostic so far."""

    loaded: LoadedProgram
    invariants: tuple[LoweredRule, ...]
    contracts: tuple[BehavioralContract, ...]
    archetypes: tuple[ArchetypePrior, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """True when no diagnostic is an error."""
        return not any(item.is_error for item in self.diagnostics)


def description_of(rule: CheckedRule) -> str:
    """The author's description, else the rule's words; baseline rules state their threshold."""
    text = rule.description if rule.description is not None else rule.text
    multiplier = rule.facts.baseline_multiplier
    if multiplier is None:
        return text
    return (
        f"{text} (threshold {format_number(rule.facts.threshold)} actions per second: "
        f"{format_number(multiplier)}x the archetype baseline)"
    )


def lower_rule(rule: CheckedRule) -> InvariantSpec:
    """The InvariantSpec of one checked rule."""
    facts = rule.facts
    spec = InvariantSpec(
        invariant_id=rule.name or "pending",
        type=facts.type,
        description=description_of(rule),
        metric=facts.metric,
        operator=facts.operator,
        threshold=float(facts.threshold),
        threshold_upper=None if facts.threshold_upper is None else float(facts.threshold_upper),
        window=facts.window,
        window_seconds=None if facts.window_seconds is None else float(facts.window_seconds),
        min_actions=facts.min_actions,
        per_session=facts.per_session,
    )
    return spec if rule.name else replace(spec, invariant_id=derived_invariant_id(spec))


def _lower_rules(rules: tuple[CheckedRule, ...], problems: list[Diagnostic]) -> list[LoweredRule]:
    lowered: list[LoweredRule] = []
    for rule in rules:
        spec = lower_rule(rule)
        invalid = spec.validate()
        if invalid:
            problems.append(
                make_diagnostic(
                    rule.source,
                    "NMO309",
                    rule.facts.span,
                    "this rule does not make a valid invariant: " + "; ".join(invalid),
                )
            )
            continue
        lowered.append(LoweredRule(spec, rule))
    return lowered


def _unique(rules: list[LoweredRule]) -> list[LoweredRule]:
    seen: set[str] = set()
    out: list[LoweredRule] = []
    for item in rules:
        if item.spec.invariant_id not in seen:
            seen.add(item.spec.invariant_id)
            out.append(item)
    return out


def contract_fields(contract: CheckedContract, specs: list[InvariantSpec]) -> dict[str, Any]:
    """The contract's lowered fields: settings plus its invariants' spec dicts."""
    return {**contract.fields, "invariants": [spec.to_dict() for spec in specs]}


def lower_contract(
    contract: CheckedContract, problems: list[Diagnostic], created_at: float = 0.0
) -> tuple[BehavioralContract | None, list[LoweredRule]]:
    """The BehavioralContract of a checked contract; its refusal becomes NMO404."""
    rules = _unique(_lower_rules(contract.rules, problems))
    fields = contract_fields(contract, [item.spec for item in rules])
    try:
        built = BehavioralContract(**fields, created_at=created_at)
    except ContractError as error:
        detail = "; ".join(map(str, error.problems))
        problems.append(
            make_diagnostic(
                contract.source,
                "NMO404",
                contract.span,
                f"contract {fields['agent_id']!r} is invalid: {detail}",
            )
        )
        return None, rules
    return built, rules


def lower_program(checked: CheckedProgram) -> Lowered:
    """Lower everything that passed checking."""
    problems: list[Diagnostic] = []
    invariants = _lower_rules(checked.file_rules, problems)
    contracts: list[BehavioralContract] = []
    created_at = checked.loaded.request.created_at
    for contract in checked.contracts:
        if not contract.ok:
            continue  # its errors are reported and stop the compile
        built, rules = lower_contract(contract, problems, created_at)
        invariants.extend(rules)
        if built is not None:
            contracts.append(built)
    return Lowered(
        loaded=checked.loaded,
        invariants=tuple(_unique(invariants)),
        contracts=tuple(contracts),
        archetypes=checked.archetypes,
        diagnostics=(*checked.diagnostics, *problems),
    )
