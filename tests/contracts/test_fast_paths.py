"""The contract's fast paths give exactly what the slow paths give.

``with_version`` against ``dataclasses.replace`` (which re-runs every check),
and the cached plain form behind ``to_dict``, ``canonical_bytes``,
``record_text``, ``plain_json`` and the derived id against a fresh thaw of the fields.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.ir import CONTRACT_FIELDS, BehavioralContract, ContractError
from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.ir.contract import MAX_VERSION, derive_contract_id
from nomotic_dsl.ir.frozen import thaw
from nomotic_dsl.runtime.contracts.backend import decode_contract, encode_contract
from tests.contracts.helpers import DRIFT_SPEC, RATIO_SPEC, full_contract
from tests.contracts.test_contract import contracts

SPECS: list[dict[str, Any]] = [
    DRIFT_SPEC,
    RATIO_SPEC,
    {**RATIO_SPEC, "invariant_id": "no-description", "window": 3},
    {**DRIFT_SPEC, "invariant_id": "overall", "metric": "overall", "threshold": 0.35},
]


@st.composite
def rich_contracts(draw: st.DrawFn) -> BehavioralContract:
    """The round-trip strategy's contracts, with invariants, nested scope and maybe a seal."""
    base = draw(contracts())
    return dataclasses.replace(
        base,
        invariants=draw(st.lists(st.sampled_from(SPECS), max_size=3, unique_by=str)),
        authorized_scope={
            "actions": list(base.authorized_scope["actions"]),
            "limits": {"rate": draw(st.integers(0, 100)), "tags": draw(st.lists(st.text()))},
        },
        contract_id=draw(st.sampled_from(["", "c-given"])),
        signature=draw(st.sampled_from(["", "ab" * 32])),
        signed_by=draw(st.sampled_from(["", "server"])),
    )


def fresh_dict(contract: BehavioralContract) -> dict[str, Any]:
    """The plain form computed the way ``to_dict`` always did, with no cache."""
    return {name: thaw(getattr(contract, name)) for name in CONTRACT_FIELDS}


def assert_same(fast: BehavioralContract, slow: BehavioralContract) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert fast.contract_id == slow.contract_id
    assert fast.to_dict() == slow.to_dict() == fresh_dict(slow)
    assert list(fast.to_dict()) == list(slow.to_dict())
    assert fast.canonical_bytes() == slow.canonical_bytes()
    assert fast.record_text() == slow.record_text()
    # Nested key order follows the input (a decoded contract's is sorted), as to_dict's does.
    assert fast.plain_json() == JSONResponse(fast.to_dict()).body
    assert hash(fast) == hash(slow)


@settings(max_examples=200, deadline=None)
@given(rich_contracts(), st.integers(min_value=1, max_value=MAX_VERSION))
def test_with_version_equals_replace(contract: BehavioralContract, version: int) -> None:
    fast = contract.with_version(version)
    slow = dataclasses.replace(contract, version=version, contract_id="")
    assert_same(fast, slow)
    assert fast.version == version
    assert fast.plain_json() == slow.plain_json()
    assert fast.contract_id == derive_contract_id(fresh_dict(slow))
    # The source contract is untouched, its cache included.
    assert contract.to_dict() == fresh_dict(contract)


@settings(max_examples=200, deadline=None)
@given(rich_contracts())
def test_cached_forms_equal_the_uncached_ones(contract: BehavioralContract) -> None:
    plain = fresh_dict(contract)
    assert contract.to_dict() == plain
    assert contract.record_text() == canonical_json(plain).decode("utf-8")
    assert contract.plain_json() == JSONResponse(plain).body
    assert contract.plain_json() == json.dumps(
        plain, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")
    assert encode_contract(contract) == canonical_json(plain).decode("utf-8")
    seal_free = {k: v for k, v in plain.items() if k not in ("signature", "signed_by")}
    assert contract.canonical_bytes() == canonical_json(seal_free)
    if contract.contract_id != "c-given":
        assert contract.contract_id == derive_contract_id(plain)
    assert_same(decode_contract(encode_contract(contract)), contract)
    assert_same(BehavioralContract.from_dict(contract.to_dict()), contract)


@pytest.mark.parametrize(
    "version",
    [0, -1, MAX_VERSION + 1, True, False, 1.0, "2", None],
    ids=lambda value: repr(value),
)
def test_with_version_refuses_what_replace_refuses(version: Any) -> None:
    contract = full_contract()
    with pytest.raises(ContractError) as slow:
        dataclasses.replace(contract, version=version, contract_id="")
    with pytest.raises(ContractError) as fast:
        contract.with_version(version)
    assert str(fast.value) == str(slow.value)
    assert fast.value.problems == slow.value.problems


def test_to_dict_is_a_fresh_copy_each_call() -> None:
    contract = full_contract().with_version(7)
    first = contract.to_dict()
    first["agent_id"] = "changed"
    first["authorized_scope"]["actions"].append("delete")
    first["invariants"][0]["threshold"] = 0.99
    first["expected_action_distribution"]["read"] = 0.0
    again = contract.to_dict()
    assert again == fresh_dict(contract)
    assert again["agent_id"] == "support-bot"
    assert "delete" not in again["authorized_scope"]["actions"]
    assert contract.canonical_bytes() == full_contract().with_version(7).canonical_bytes()


def test_a_copy_carries_the_fields_not_a_stale_cache() -> None:
    contract = full_contract()
    contract.to_dict()  # fill the cache first
    copied = copy.copy(contract)
    assert_same(copied, contract)
    moved = dataclasses.replace(copied, version=9, contract_id="")
    assert_same(copied.with_version(9), moved)
