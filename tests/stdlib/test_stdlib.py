"""The standard library and the examples compile cleanly, and their specs are valid."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nomotic_dsl.compiler.pipeline import compile_file, compile_source
from nomotic_dsl.resources import stdlib_dir
from nomotic_dsl.runtime.interpreter import CompiledInvariants
from nomotic_dsl.runtime.priors import get_archetype, known_archetypes

ROOT = Path(__file__).resolve().parents[2]
STDLIB = stdlib_dir()
ARCHETYPE_FILES = sorted((STDLIB / "archetypes").glob("*.nomo"))
PACK_FILES = sorted((STDLIB / "packs").glob("*.nomo"))
EXAMPLE_POLICIES = sorted((ROOT / "examples").glob("*/policy.nomo"))

# The language page's list: every one must ship.
REQUIRED_ARCHETYPES = (
    "customer-experience",
    "operations-coordinator",
    "financial-analyst",
    "data-processor",
    "content-creator",
    "security-monitor",
    "research-analyst",
    "sales-agent",
    "executive-assistant",
    "healthcare-agent",
    "general",
)
REQUIRED_PACKS = ("business_hours", "read_mostly", "least_privilege", "burst_limits")


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_every_required_archetype_and_pack_ships() -> None:
    assert set(REQUIRED_ARCHETYPES) <= set(known_archetypes())
    assert set(REQUIRED_PACKS) <= {path.stem for path in PACK_FILES}
    assert len(EXAMPLE_POLICIES) >= 5


@pytest.mark.parametrize(
    "path",
    ARCHETYPE_FILES + PACK_FILES + EXAMPLE_POLICIES,
    ids=_ids(ARCHETYPE_FILES + PACK_FILES) + [p.parent.name for p in EXAMPLE_POLICIES],
)
def test_file_compiles_without_any_diagnostic(path: Path) -> None:
    result = compile_file(path)
    assert result.ok, result.render()
    assert result.diagnostics == [], result.render()
    CompiledInvariants.compile(result.invariants)
    for contract in result.contracts:
        CompiledInvariants.compile(contract.invariants)


@pytest.mark.parametrize("path", ARCHETYPE_FILES, ids=_ids(ARCHETYPE_FILES))
def test_archetype_file_declares_exactly_its_archetype(path: Path) -> None:
    result = compile_file(path)
    assert [prior.name for prior in result.archetypes] == [path.stem]


@pytest.mark.parametrize("name", REQUIRED_ARCHETYPES)
def test_get_archetype_returns_a_realistic_prior(name: str) -> None:
    prior = get_archetype(name)
    assert prior is not None and prior.name == name
    if name == "general":
        assert not prior.has_prior and prior.baseline_rate is None
        return
    for shares in (
        prior.action_distribution,
        prior.target_distribution,
        prior.outcome_distribution,
    ):
        assert len(shares) >= 2
        assert math.isclose(sum(shares.values()), 1.0, abs_tol=0.01)
        assert all(0 < share < 1 for share in shares.values())
    assert set(prior.outcome_distribution) <= {"allow", "deny", "modify", "escalate"}
    assert prior.outcome_distribution["allow"] > 0.5
    assert prior.active_hours is not None
    assert prior.baseline_rate is not None and 0 < prior.baseline_rate < 10


def test_per_minute_and_per_hour_baselines_are_converted_to_per_second() -> None:
    sales, assistant = get_archetype("sales-agent"), get_archetype("executive-assistant")
    assert sales is not None and sales.baseline_rate == pytest.approx(1.2 / 60)
    assert assistant is not None and assistant.baseline_rate == pytest.approx(36 / 3600)


def _contract_using(pack: str) -> str:
    """A contract on an archetype with a baseline and an anchor, whose scope covers every pack's names."""
    return f"""
import "std/packs/{pack}"
contract "pack-probe" {{
    archetype data-processor
    scope {{
        actions read, transform, write, delete
        targets raw_data, staging, warehouse
    }}
    anchor "retention" {{ actions delete }}
    use {pack}
}}
"""


@pytest.mark.parametrize("path", PACK_FILES, ids=_ids(PACK_FILES))
def test_every_pack_lowers_to_valid_specs_in_a_contract(path: Path) -> None:
    result = compile_source(_contract_using(path.stem), "probe.nomo")
    assert result.ok, result.render()
    (contract,) = result.contracts
    specs = CompiledInvariants.compile(contract.invariants).specs
    assert specs, f"pack {path.stem} contributes no invariant"
    assert all(spec.description for spec in specs)


def test_baseline_pack_thresholds_follow_the_archetype() -> None:
    result = compile_source(_contract_using("burst_limits"), "probe.nomo")
    thresholds = {
        item["invariant_id"]: item["threshold"] for item in result.contracts[0].invariants
    }
    assert thresholds == {"hourly_rate": pytest.approx(1.0), "burst_rate": pytest.approx(2.5)}


def test_baseline_pack_is_refused_for_the_general_archetype() -> None:
    source = _contract_using("burst_limits").replace(
        "archetype data-processor", "archetype general"
    )
    result = compile_source(source, "probe.nomo")
    assert not result.ok
    assert {item.code for item in result.errors} == {"NMO307"}


@pytest.mark.parametrize("path", EXAMPLE_POLICIES, ids=[p.parent.name for p in EXAMPLE_POLICIES])
def test_example_contract_covers_its_archetype(path: Path) -> None:
    contracts = compile_file(path).contracts
    assert contracts
    for contract in contracts:
        prior = get_archetype(contract.archetype)
        assert prior is not None and prior.has_prior
        scope = contract.authorized_scope
        assert set(prior.action_distribution) <= set(scope["actions"])
        assert set(prior.target_distribution) <= set(scope["targets"])
        assert dict(contract.expected_action_distribution) == dict(prior.action_distribution)


def test_semantic_fidelity_catches_one_term_shifted_among_steady_ones() -> None:
    """The seed's "no instruction term should shift more than 15% from its baseline"."""
    result = compile_source(_contract_using("semantic_fidelity"), "probe.nomo")
    compiled = CompiledInvariants.compile(result.contracts[0].invariants)
    steady = {f"term{index}": 0.0 for index in range(9)}
    by_id = {
        r.invariant_id: r for r in compiled.evaluate({"semantic_drift": {**steady, "refund": 0.5}})
    }
    meaning = by_id["meaning_holds"]
    # The mean drift is 0.05, well under 0.15: a rule on the mean would pass.
    assert meaning.status == "violated" and meaning.current_value == 0.5
    assert '(term "refund")' in meaning.detail
    calm = compiled.evaluate({"semantic_drift": {**steady, "refund": 0.15}})
    assert {r.invariant_id: r.status for r in calm}["meaning_holds"] == "approaching"
    per_action = {
        "actions": [
            {
                "timestamp": 100.0 + i,
                "action_type": "read",
                "target": "staging",
                "semantic": {**{t: 1.0 for t in steady}, "refund": 0.5},
            }
            for i in range(3)
        ]
    }
    assert {r.invariant_id: r.status for r in compiled.evaluate(per_action)}[
        "meaning_holds"
    ] == "violated"
