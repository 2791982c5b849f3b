"""Whole programs: contracts, archetypes, packs, imports and cycles, determinism."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from nomotic_dsl.compiler.pipeline import STAGES, compile_file, compile_source
from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.interpreter import CompiledInvariants
from tests.language.helpers import concise, diagnostics_of

SUPPORT = """
pack business_hours {
    invariant business_hours "No activity outside business hours": no activity outside 8-18
    at most 10 distinct targets over 1h
}

archetype customer-experience {
    actions  { read 45%, reply 30%, escalate 10%, close 15% }
    targets  { tickets 60%, knowledge_base 30%, customer_profile 10% }
    outcomes { allow 90%, deny 5%, escalate 5% }
    active hours 8-20
    baseline rate 0.02
}

contract "support-bot" {
    version 3
    certificate "cert-7f3a"
    archetype customer-experience
    scope {
        actions read, reply, escalate, close
        targets tickets, knowledge_base, customer_profile
    }
    trust { initial 0.6  floor 0.2  ceiling 0.9 }
    anchor "refund" { actions reply, escalate  description "Refund talk leads to replies or escalation" }
    drift thresholds { action 0.2  target 0.25  overall 0.3 }
    use business_hours
    ratio reply/read < 0.8 over 100 actions
    invariant no_bursts: rate < 2x baseline over 1h
}
"""


def test_contract_lowers_every_field() -> None:
    result = compile_source(SUPPORT, "support.nomo")
    assert result.ok, concise(result)
    (contract,) = result.contracts
    data = contract.to_dict()
    assert data["agent_id"] == "support-bot" and data["version"] == 3
    assert data["certificate_id"] == "cert-7f3a"
    assert data["archetype"] == "customer-experience"
    assert data["expected_action_distribution"] == {
        "read": 0.45,
        "reply": 0.3,
        "escalate": 0.1,
        "close": 0.15,
    }
    assert data["authorized_scope"] == {
        "actions": ["close", "escalate", "read", "reply"],
        "targets": ["customer_profile", "knowledge_base", "tickets"],
    }
    assert (data["initial_trust"], data["trust_floor"], data["trust_ceiling"]) == (0.6, 0.2, 0.9)
    assert data["semantic_anchors"] == [
        {
            "term": "refund",
            "actions": ["reply", "escalate"],
            "description": "Refund talk leads to replies or escalation",
        }
    ]
    assert data["drift_thresholds"] == {"action": 0.2, "target": 0.25, "overall": 0.3}
    ids = [spec["invariant_id"] for spec in data["invariants"]]
    assert ids[0] == "business_hours" and ids[-1] == "no_bursts" and len(ids) == 4
    burst = data["invariants"][-1]
    assert burst["threshold"] == pytest.approx(0.04) and burst["window_seconds"] == 3600.0
    assert "0.04 actions per second" in burst["description"]
    assert data["created_at"] == 0.0
    assert uuid.UUID(data["contract_id"]).version == 5
    assert [prior.name for prior in result.archetypes] == ["customer-experience"]
    CompiledInvariants.compile(result.invariants)


def test_created_at_follows_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (contract,) = compile_source(SUPPORT).contracts
    assert contract.created_at == 1700000000.0


def test_compiling_twice_is_byte_identical() -> None:
    first, second = compile_source(SUPPORT), compile_source(SUPPORT)
    assert canonical_json(first.to_json()) == canonical_json(second.to_json())


def test_stdlib_archetype_is_found_without_an_import() -> None:
    text = 'contract "a" { archetype data-processor  rate < 3x baseline over 1m }'
    result = compile_source(text)
    assert result.ok, concise(result)
    assert result.invariants[0].threshold == pytest.approx(1.5)
    assert "std/archetypes/data-processor.nomo" in result.sources


def test_result_order_imports_first_then_root_then_contracts(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "limits.nomo").write_text("const MAX = 4\ndrift target < 0.4\n")
    root = tmp_path / "root.nomo"
    root.write_text(
        'import "./shared/limits"\ndrift action < 0.2\n'
        'contract "c" { at most MAX distinct targets }\n'
    )
    result = compile_file(root)
    assert result.ok, concise(result)
    assert [spec.metric for spec in result.invariants] == ["target", "action", "distinct_targets"]
    assert set(result.sources) == {"root.nomo", "shared/limits.nomo"}
    assert result.origins[result.invariants[1].invariant_id].line == 2


def test_import_cycle_is_reported_not_looped(tmp_path: Path) -> None:
    (tmp_path / "a.nomo").write_text('import "./b"\ndrift action < 0.2\n')
    (tmp_path / "b.nomo").write_text('import "./a"\ndrift target < 0.2\n')
    result = compile_file(tmp_path / "a.nomo")
    cycles = [d for d in result.diagnostics if d.code == "NMO206"]
    assert len(cycles) == 1
    assert cycles[0].message == "import cycle: a.nomo -> b.nomo -> a.nomo"
    assert cycles[0].file == "b.nomo"


def test_self_import_is_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "me.nomo").write_text('import "./me.nomo"\n')
    assert [d.code for d in compile_file(tmp_path / "me.nomo").diagnostics] == ["NMO206"]


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = compile_file(tmp_path / "missing.nomo")
    assert not result.ok and [d.code for d in result.diagnostics] == ["NMO205"]


def test_pack_baseline_is_checked_per_contract() -> None:
    text = 'import "std/packs/burst_limits"\ncontract "g" { archetype general  use burst_limits }'
    found = diagnostics_of(text)
    assert {code for code, _ in found} == {"NMO307"}
    assert ("NMO307", "2x baseline") in found


def test_errors_leave_no_output() -> None:
    result = compile_source("drift action < 0.2\ndrift action < 1.5")
    assert not result.ok and result.invariants == [] and result.contracts == []


def test_stages_are_named_and_ordered() -> None:
    assert [stage.name for stage in STAGES] == ["parse", "check", "lower", "generate", "seal"]


def test_each_stage_runs_alone_on_the_previous_stages_record(tmp_path: Path) -> None:
    from nacl.signing import SigningKey

    from nomotic_dsl.compiler.request import BuildOptions, CompileRequest
    from nomotic_dsl.compiler.source import SourceFile

    key = SigningKey(bytes(range(32)))
    request = CompileRequest(
        SourceFile("s.nomo", "ratio write/read < 0.3 over 100 actions\n"),
        build=BuildOptions(signing_keys=(key,)),
    )
    records = [request]
    for stage in STAGES:
        records.append(stage.run(records[-1]))
    loaded, checked, lowered, generated, sealed = records[1:]
    assert loaded.root.module is not None and loaded.request is request
    assert checked.loaded is loaded and not checked.diagnostics
    assert [item.spec.metric for item in lowered.invariants] == ["write_to_read"]
    assert generated.contents is not None and "def evaluate(" in generated.contents.evaluator_source
    assert sealed.data is not None and sealed.data[:2] == b"PK"


def test_a_failed_record_passes_through_the_later_stages() -> None:
    from nomotic_dsl.compiler.request import CompileRequest
    from nomotic_dsl.compiler.source import SourceFile

    value: object = CompileRequest(SourceFile("bad.nomo", "ratio write/read < 3 over 0 actions\n"))
    for stage in STAGES:
        value = stage.run(value)
    assert value.data is None  # type: ignore[attr-defined]
    assert not value.generated.lowered.ok  # type: ignore[attr-defined]


def test_json_output_is_json_clean() -> None:
    payload = compile_source(SUPPORT).to_json()
    assert json.loads(json.dumps(payload)) == payload
