"""BehavioralContract: one versioned, sealable statement of an agent's expected behaviour.

Input: the seed's 19 fields (keyword arguments, or the JSON-clean dict of
``to_dict()``). Output: a frozen, validated contract whose mutable-looking
fields are read-only views, its canonical bytes, and Ed25519 seals over them.
Stage: the contract model every other part (compiler, store, runtime, API) shares.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from nomotic_dsl.ir.canonical import (
    canonical_digest,
    canonical_json,
    canonical_text,
    compact_text,
)
from nomotic_dsl.ir.frozen import (
    copy_plain,
    distribution_problems,
    freeze,
    is_number,
    json_problems,
    mapping_sequence,
    nesting_problem,
    number_map,
    thaw,
)
from nomotic_dsl.ir.problems import Problem, index_path, key_path
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS, InvariantSpec, parse_specs

DISTRIBUTION_FIELDS: tuple[str, ...] = (
    "expected_action_distribution",
    "expected_target_distribution",
    "expected_outcome_distribution",
)
# The seal covers every field except these two.
SEAL_FIELDS: tuple[str, ...] = ("signature", "signed_by")
# Derived contract ids are UUIDs in this namespace (a fixed, arbitrary UUID).
_CONTRACT_NAMESPACE = uuid.UUID("5b0f8f4e-6c1a-4d8e-9a57-3f1c2b7d9e10")
_ID_EXCLUDED = ("contract_id", "created_at", *SEAL_FIELDS)
# The largest version either store can hold (SQLite INTEGER is signed 64-bit).
MAX_VERSION = 2**63 - 1


# The seed's defaults, written once: the dataclass, the compiler and the
# generator all read them from here.
DEFAULT_ARCHETYPE = "general"
DEFAULT_INITIAL_TRUST = 0.5
DEFAULT_TRUST_FLOOR = 0.0
DEFAULT_TRUST_CEILING = 1.0
CONTRACT_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "version": 1,
        "certificate_id": None,
        "archetype": DEFAULT_ARCHETYPE,
        "initial_trust": DEFAULT_INITIAL_TRUST,
        "trust_floor": DEFAULT_TRUST_FLOOR,
        "trust_ceiling": DEFAULT_TRUST_CEILING,
    }
)


class ContractError(ValueError):
    """An invalid contract; ``problems`` lists every rule it breaks, each with its field path."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.problems: tuple[Problem, ...] = tuple(
            item if isinstance(item, Problem) else Problem("", item) for item in problems
        )
        super().__init__("invalid contract:\n  " + "\n  ".join(map(str, self.problems)))


def derive_contract_id(content: Mapping[str, Any]) -> str:
    """The contract id of a contract's content: the one derivation, wherever a contract is made.

    A UUID (version 5, in a fixed namespace) of the canonical digest of every
    field but ``contract_id``, ``created_at`` and the seal, so the same
    declaration gets the same id whether it was compiled, generated, posted
    over HTTP or read back from a store.
    """
    kept = {key: value for key, value in content.items() if key not in _ID_EXCLUDED}
    return str(uuid.uuid5(_CONTRACT_NAMESPACE, canonical_digest(kept)))


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


class _PlainCache:
    """A slot (not a dataclass field) for a contract's plain form, computed once.

    A contract is immutable, so the JSON-clean dict of its fields never
    changes: the id derivation, ``canonical_bytes``, the store's row body and
    ``to_dict`` all start from this one thawed dict, which is never handed out
    (``to_dict`` returns a fresh copy). It is not pickled or compared: the
    dataclass's state and equality cover the fields alone.
    """

    __slots__ = ("_plain",)
    _plain: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class BehavioralContract(_PlainCache):
    """An agent's expected behaviour: distributions, scope, trust, invariants, anchors, drift limits.

    Construct with keywords. ``contract_id`` defaults to a UUID derived from the
    content (agent, version and every field but created_at and the seal), so the
    same declaration always gets the same id; ``version`` defaults to 1;
    ``created_at`` defaults to 0.0, "not stamped" (``generate_contract`` and
    ``next_version`` stamp the current time), which keeps compiled output free
    of timestamps.
    """

    contract_id: str = ""
    version: int = 1
    agent_id: str
    created_at: float = 0.0
    certificate_id: str | None = None
    archetype: str = DEFAULT_ARCHETYPE
    expected_action_distribution: Mapping[str, float] = field(default_factory=_empty_mapping)
    expected_target_distribution: Mapping[str, float] = field(default_factory=_empty_mapping)
    expected_outcome_distribution: Mapping[str, float] = field(default_factory=_empty_mapping)
    authorized_scope: Mapping[str, Any] = field(default_factory=_empty_mapping)
    initial_trust: float = DEFAULT_INITIAL_TRUST
    trust_floor: float = DEFAULT_TRUST_FLOOR
    trust_ceiling: float = DEFAULT_TRUST_CEILING
    invariants: Sequence[Mapping[str, Any]] = ()
    semantic_anchors: Sequence[Mapping[str, Any]] = ()
    drift_thresholds: Mapping[str, float] = field(default_factory=_empty_mapping)
    signature: str = ""
    signed_by: str = ""

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        problems.extend(self._check_identity())
        for name in DISTRIBUTION_FIELDS:
            shares, found = number_map(getattr(self, name), name)
            found = found or distribution_problems(shares, name)
            problems.extend(found)
            object.__setattr__(self, name, shares)
        problems.extend(self._check_scope())
        problems.extend(self._check_trust())
        problems.extend(self._check_invariants())
        problems.extend(self._check_anchors())
        problems.extend(self._check_drift_thresholds())
        problems.extend(self._check_seal_fields())
        if problems:
            raise ContractError(problems)
        if not self.contract_id:
            self._set_derived_id(dict(self._plain_form()))

    def _check_identity(self) -> list[Problem]:
        problems: list[Problem] = []
        if not isinstance(self.contract_id, str):
            problems.append(Problem("contract_id", "must be a string"))
        if (
            isinstance(self.version, bool)
            or not isinstance(self.version, int)
            or not 1 <= self.version <= MAX_VERSION
        ):
            problems.append(
                Problem(
                    "version", f"{self.version!r} must be a whole number from 1 to {MAX_VERSION}"
                )
            )
        if not isinstance(self.agent_id, str) or not self.agent_id.strip():
            problems.append(Problem("agent_id", "must be a non-empty string"))
        if not is_number(self.created_at) or self.created_at < 0:
            problems.append(
                Problem("created_at", f"{self.created_at!r} must be a Unix time, at least 0")
            )
        else:
            object.__setattr__(self, "created_at", float(self.created_at))
        if self.certificate_id is not None and not isinstance(self.certificate_id, str):
            problems.append(Problem("certificate_id", "must be a string or None"))
        if not isinstance(self.archetype, str) or not self.archetype:
            problems.append(Problem("archetype", "must be a non-empty string"))
        return problems

    def _check_scope(self) -> list[Problem]:
        if not isinstance(self.authorized_scope, Mapping):
            object.__setattr__(self, "authorized_scope", _empty_mapping())
            return [Problem("authorized_scope", "must be a mapping")]
        deep = nesting_problem(self.authorized_scope, "authorized_scope")
        if deep is not None:
            object.__setattr__(self, "authorized_scope", _empty_mapping())
            return [deep]
        object.__setattr__(self, "authorized_scope", freeze(self.authorized_scope))
        return json_problems(self.authorized_scope, "authorized_scope")

    def _check_trust(self) -> list[Problem]:
        names = ("trust_floor", "initial_trust", "trust_ceiling")
        problems: list[Problem] = []
        for name in names:
            value = getattr(self, name)
            if not is_number(value) or not 0.0 <= value <= 1.0:
                problems.append(Problem(name, f"{value!r} must be a number within 0..1"))
            else:
                object.__setattr__(self, name, float(value))
        if not problems and not self.trust_floor <= self.initial_trust <= self.trust_ceiling:
            problems.append(
                Problem(
                    "initial_trust",
                    "trust must satisfy floor <= initial <= ceiling, got floor "
                    f"{self.trust_floor:g}, initial {self.initial_trust:g}, "
                    f"ceiling {self.trust_ceiling:g}",
                )
            )
        return problems

    def _check_invariants(self) -> list[Problem]:
        items, problems = mapping_sequence(self.invariants, "invariants")
        specs, found = parse_specs(items)
        problems.extend(problem.in_list("invariants") for problem in found)
        object.__setattr__(self, "invariants", tuple(freeze(spec.to_dict()) for spec in specs))
        return problems

    def _check_anchors(self) -> list[Problem]:
        items, problems = mapping_sequence(self.semantic_anchors, "semantic_anchors")
        deep = nesting_problem(items, "semantic_anchors")
        if deep is not None:
            object.__setattr__(self, "semantic_anchors", ())
            return [*problems, deep]
        for index, anchor in enumerate(items):
            where = index_path("semantic_anchors", index)
            if not isinstance(anchor, Mapping):
                problems.append(Problem(where, "must be a mapping"))
                continue
            term = anchor.get("term")
            if not isinstance(term, str) or not term:
                problems.append(Problem(f"{where}.term", "must be a non-empty string"))
            problems.extend(json_problems(anchor, where))
        object.__setattr__(self, "semantic_anchors", freeze(items))
        return problems

    def _check_drift_thresholds(self) -> list[Problem]:
        limits, problems = number_map(self.drift_thresholds, "drift_thresholds")
        for key, value in limits.items():
            where = key_path("drift_thresholds", key)
            if key not in DRIFT_DISTRIBUTIONS:
                problems.append(
                    Problem(where, f"unknown key {key!r} (known: {', '.join(DRIFT_DISTRIBUTIONS)})")
                )
            if not 0.0 <= value <= 1.0:
                problems.append(Problem(where, f"{value:g} is outside 0..1"))
        object.__setattr__(self, "drift_thresholds", limits)
        return problems

    def _check_seal_fields(self) -> list[Problem]:
        return [
            Problem(name, "must be a string")
            for name in SEAL_FIELDS
            if not isinstance(getattr(self, name), str)
        ]

    def _set_derived_id(self, plain: dict[str, Any]) -> None:
        """Fill in the id derived from ``plain`` (this contract's fields) and cache ``plain``."""
        plain["contract_id"] = ""
        contract_id = derive_contract_id(plain)
        plain["contract_id"] = contract_id
        object.__setattr__(self, "contract_id", contract_id)
        object.__setattr__(self, "_plain", plain)

    def _plain_form(self) -> dict[str, Any]:
        """The thawed fields, computed once per contract; callers must not change it."""
        try:
            return self._plain
        except AttributeError:
            plain = {name: thaw(getattr(self, name)) for name in CONTRACT_FIELDS}
            object.__setattr__(self, "_plain", plain)
            return plain

    def __hash__(self) -> int:
        # Mapping proxies are unhashable; the canonical form identifies the contract.
        return hash((self.canonical_bytes(), self.signature, self.signed_by))

    # --- serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-clean dict of every field, in the seed's order (a fresh copy each call)."""
        return copy_plain(self._plain_form())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BehavioralContract:
        """Rebuild a contract from ``to_dict()`` output; unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise ContractError(
                [Problem("", f"a contract must be a mapping, not {type(data).__name__}")]
            )
        unknown = sorted(str(key) for key in data if key not in CONTRACT_FIELDS)
        if unknown:
            raise ContractError([Problem(name, "unknown contract field") for name in unknown])
        if "agent_id" not in data:
            raise ContractError([Problem("agent_id", "is missing")])
        return cls(**data)

    def canonical_bytes(self) -> bytes:
        """The signed message: canonical JSON of every field but signature and signed_by."""
        content = {k: v for k, v in self._plain_form().items() if k not in SEAL_FIELDS}
        return canonical_json(content)

    def plain_json(self) -> bytes:
        """``to_dict()`` as compact JSON in field order, UTF-8: an HTTP response body.

        Byte for byte ``json.dumps(self.to_dict(), ensure_ascii=False,
        allow_nan=False, separators=(",", ":")).encode()``.
        """
        return compact_text(self._plain_form()).encode("utf-8")

    def record_text(self) -> str:
        """Canonical JSON text of every field, the seal included (a store's row body)."""
        return canonical_text(self._plain_form())

    def invariant_specs(self) -> tuple[InvariantSpec, ...]:
        """The invariants as InvariantSpec objects, in contract order."""
        return tuple(InvariantSpec.from_dict(spec) for spec in self.invariants)

    # --- versions and seals -------------------------------------------------------

    def next_version(self, **changes: Any) -> BehavioralContract:
        """The next version: ``changes`` applied, version + 1, a new id, stamped now, unsealed."""
        values = self.to_dict()
        values.update(contract_id="", version=self.version + 1, created_at=time.time())
        values.update(signature="", signed_by="")
        values.update(changes)
        return BehavioralContract.from_dict(values)

    def with_version(self, version: int) -> BehavioralContract:
        """This contract at ``version`` with its id derived again; otherwise field for field equal.

        The same contract as ``dataclasses.replace(self, version=version,
        contract_id="")``, without re-running the checks of the fields that do
        not change (they passed when this contract was made): only the new
        version is checked, with the same error.
        """
        if (
            isinstance(version, bool)
            or not isinstance(version, int)
            or not 1 <= version <= MAX_VERSION
        ):
            return replace(self, version=version, contract_id="")  # raises the usual error
        moved = object.__new__(type(self))
        for name in CONTRACT_FIELDS:
            object.__setattr__(moved, name, getattr(self, name))
        object.__setattr__(moved, "version", version)
        plain = dict(self._plain_form())
        plain["version"] = version
        moved._set_derived_id(plain)
        return moved

    def seal(self, signing_key: SigningKey, signed_by: str) -> BehavioralContract:
        """A copy sealed with Ed25519 over ``canonical_bytes()``: hex signature, signer name."""
        signed = signing_key.sign(self.canonical_bytes())
        return replace(self, signature=signed.signature.hex(), signed_by=signed_by)

    @property
    def is_sealed(self) -> bool:
        """True when the contract carries a signature (not necessarily a valid one)."""
        return bool(self.signature)

    def verify(self, verify_key: VerifyKey) -> bool:
        """True only when the signature is a valid seal of this content by ``verify_key``."""
        if isinstance(verify_key, SigningKey):
            verify_key = verify_key.verify_key
        try:
            signature = bytes.fromhex(self.signature)
            verify_key.verify(self.canonical_bytes(), signature)
        except (CryptoError, ValueError, TypeError, AttributeError):
            return False
        return True


CONTRACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(BehavioralContract))
