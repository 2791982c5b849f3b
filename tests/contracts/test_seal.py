"""Sealing: Ed25519 over canonical bytes; any change but the seal itself breaks it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.ir import CONTRACT_FIELDS, SEAL_FIELDS, BehavioralContract
from tests.contracts.helpers import DRIFT_SPEC, full_contract

# One valid replacement value per sealed field, each different from full_contract()'s.
CHANGED_VALUES: dict[str, Any] = {
    "contract_id": "c-2",
    "version": 3,
    "agent_id": "support-bot-2",
    "created_at": 1_700_000_000.25,
    "certificate_id": None,
    "archetype": "general",
    "expected_action_distribution": {"read": 0.5, "write": 0.5},
    "expected_target_distribution": {"tickets": 1.0},
    "expected_outcome_distribution": {},
    "authorized_scope": {"actions": ["read", "write", "delete"], "targets": ["kb", "tickets"]},
    "initial_trust": 0.61,
    "trust_floor": 0.1,
    "trust_ceiling": 1.0,
    "invariants": [DRIFT_SPEC],
    "semantic_anchors": [],
    "drift_thresholds": {"action": 0.2, "overall": 0.31},
}


def test_every_sealed_field_has_a_case() -> None:
    assert set(CHANGED_VALUES) == set(CONTRACT_FIELDS) - set(SEAL_FIELDS)


def test_seal_then_verify(signing_key: SigningKey) -> None:
    contract = full_contract()
    sealed = contract.seal(signing_key, "ops@example")
    assert sealed.signed_by == "ops@example"
    assert len(sealed.signature) == 128 and int(sealed.signature, 16) >= 0
    assert sealed.verify(signing_key.verify_key)
    assert sealed.canonical_bytes() == contract.canonical_bytes()
    assert not contract.verify(signing_key.verify_key)


@pytest.mark.parametrize("name", sorted(CHANGED_VALUES))
def test_changing_any_sealed_field_breaks_the_seal(signing_key: SigningKey, name: str) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    tampered = dataclasses.replace(sealed, **{name: CHANGED_VALUES[name]})
    assert tampered.to_dict()[name] != sealed.to_dict()[name]
    assert tampered.signature == sealed.signature
    assert not tampered.verify(signing_key.verify_key)


def test_signed_by_is_not_covered(signing_key: SigningKey) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    assert dataclasses.replace(sealed, signed_by="someone else").verify(signing_key.verify_key)


def test_wrong_key_fails(signing_key: SigningKey, other_key: SigningKey) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    assert not sealed.verify(other_key.verify_key)


@pytest.mark.parametrize("signature", ["", "zz", "ab" * 10, "00" * 64, "0" * 127])
def test_malformed_signature_is_false_not_an_error(signing_key: SigningKey, signature: str) -> None:
    contract = dataclasses.replace(full_contract(), signature=signature, signed_by="ops")
    assert contract.verify(signing_key.verify_key) is False


def test_flipped_signature_bit_fails(signing_key: SigningKey) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    flipped = format(int(sealed.signature[:2], 16) ^ 1, "02x") + sealed.signature[2:]
    assert not dataclasses.replace(sealed, signature=flipped).verify(signing_key.verify_key)


def test_a_signing_key_may_stand_in_for_its_verify_key(signing_key: SigningKey) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    assert sealed.verify(signing_key)  # type: ignore[arg-type]


def test_seal_survives_a_json_round_trip(signing_key: SigningKey) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    assert BehavioralContract.from_dict(sealed.to_dict()).verify(signing_key.verify_key)


def test_canonical_bytes_are_stable() -> None:
    # A fixed contract has fixed bytes: a change here would invalidate every stored seal.
    contract = BehavioralContract(
        agent_id="a", contract_id="c", expected_action_distribution={"b": 0.25, "a": 0.75}
    )
    assert contract.canonical_bytes() == (
        b'{"agent_id":"a","archetype":"general","authorized_scope":{},"certificate_id":null,'
        b'"contract_id":"c","created_at":0.0,"drift_thresholds":{},'
        b'"expected_action_distribution":{"a":0.75,"b":0.25},"expected_outcome_distribution":{},'
        b'"expected_target_distribution":{},"initial_trust":0.5,"invariants":[],'
        b'"semantic_anchors":[],"trust_ceiling":1.0,"trust_floor":0.0,"version":1}'
    )
