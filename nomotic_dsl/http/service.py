"""What each endpoint does, in library calls: generate, store, read, diff, check, evaluate.

Input: validated request models. Output: JSON-clean dicts for the response
models, or ``ApiError`` naming the status and the problem. Stage: shell (the
HTTP API), between the routes (parse, render) and the library.

Contract generation happens before the store's write lock is taken (it may
compile source or read archetype files); inside the lock only the version is
filled in and the seal applied, so concurrent writers wait for microseconds,
not for a compile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from nacl.signing import SigningKey

from nomotic_dsl.compiler.diagnostics.render import to_json
from nomotic_dsl.http.errors import ApiError
from nomotic_dsl.http.models import (
    CheckRequest,
    CreateContractRequest,
    EvaluateRequest,
    InvariantSpecBody,
)
from nomotic_dsl.http.untrusted import compile_request_source
from nomotic_dsl.ir import (
    BehavioralContract,
    ContractError,
    InvariantSpec,
    Problem,
    derived_invariant_id,
)
from nomotic_dsl.ir.contract import DEFAULT_ARCHETYPE
from nomotic_dsl.ir.describe import default_description
from nomotic_dsl.runtime.contracts.diff import diff_contracts
from nomotic_dsl.runtime.contracts.generate import generate_contract
from nomotic_dsl.runtime.contracts.store import ContractStore, VersionConflict
from nomotic_dsl.runtime.interpreter import CompiledInvariants, StateError, coerce_state

# Fields a compiled contract block contributes; the server decides the rest.
_SERVER_FIELDS = frozenset(
    {"contract_id", "version", "agent_id", "created_at", "signature", "signed_by"}
)
_REQUEST_ONLY = frozenset({"agent_id", "archetype", "version", "invariants", "source"})
SOURCE_NAME = "<source>"


@dataclass(frozen=True, slots=True)
class ContractService:
    """The API's operations over one contract store and an optional server signing key."""

    store: ContractStore
    signing_key: SigningKey | None = None
    signer: str = ""

    def create(self, request: CreateContractRequest) -> BehavioralContract:
        """Generate the contract the request describes and store it under its version."""
        draft = self._draft(request)
        if request.version is not None:
            return self._store_explicit(self._finish(draft, request.version))
        return self.store.store_next(draft.agent_id, lambda version: self._finish(draft, version))

    def contract(self, agent_id: str, version: int | None = None) -> BehavioralContract:
        """The active contract, or one version of it; 404 when there is none."""
        if version is None:
            found = self.store.get_active(agent_id)
            if found is None:
                raise ApiError(404, f"no contract for agent {agent_id!r}", agent_id=agent_id)
            return found
        found = self.store.get_version(agent_id, version)
        if found is None:
            raise ApiError(
                404,
                f"agent {agent_id!r} has no contract version {version}",
                agent_id=agent_id,
                version=version,
            )
        return found

    def history(self, agent_id: str) -> list[BehavioralContract]:
        """Every version, oldest first; 404 for an agent with none."""
        history = self.store.get_history(agent_id)
        if not history:
            raise ApiError(404, f"no contract for agent {agent_id!r}", agent_id=agent_id)
        return history

    def diff(self, agent_id: str, v1: int, v2: int) -> dict[str, Any]:
        """Per-field changes from version ``v1`` to ``v2`` of the agent's contract."""
        first = self.contract(agent_id, v1)
        second = self.contract(agent_id, v2)
        return {"agent_id": agent_id, "v1": v1, "v2": v2, "changes": diff_contracts(first, second)}

    def evaluate(self, request: EvaluateRequest) -> dict[str, Any]:
        """The contract's invariants evaluated on the request's behavioral state."""
        contract = self.contract(request.agent_id, request.version)
        try:
            state = coerce_state(request.state.model_dump(exclude_none=True))
        except StateError as exc:
            raise ApiError(422, f"invalid behavioral state: {exc}") from None
        compiled = CompiledInvariants.compile(contract.invariants)
        results = compiled.evaluate(state)
        return {
            "agent_id": contract.agent_id,
            "version": contract.version,
            "results": [result.to_dict() for result in results],
            "summary": compiled.summary(results),
        }

    # --- generation ----------------------------------------------------------------

    def _draft(self, request: CreateContractRequest) -> BehavioralContract:
        """The contract with every field but its version settled; 422 when invalid."""
        if request.source is not None and request.invariants is not None:
            raise ApiError(422, "give invariants either as spec dicts or as source, not both")
        fields = source_fields(request.source, request.agent_id) if request.source else {}
        fields.update(request.model_dump(exclude_none=True, exclude=set(_REQUEST_ONLY)))
        if request.invariants is not None:
            fields["invariants"] = [completed_spec(spec) for spec in request.invariants]
        from_source = fields.pop("archetype", None)
        archetype = request.archetype or from_source or DEFAULT_ARCHETYPE
        try:
            return generate_contract(request.agent_id, archetype, **fields)
        except ContractError as exc:
            raise ApiError(422, "invalid contract", problems=_problems(exc.problems)) from None

    def _finish(self, draft: BehavioralContract, version: int) -> BehavioralContract:
        """The draft at ``version`` (its id derived again), sealed when the server has a key."""
        values = draft.to_dict()
        values.update(version=version, contract_id="")
        contract = BehavioralContract.from_dict(values)
        if self.signing_key is None:
            return contract
        return contract.seal(self.signing_key, self.signer)

    def _store_explicit(self, contract: BehavioralContract) -> BehavioralContract:
        try:
            return self.store.store(contract)
        except VersionConflict as exc:
            raise ApiError(
                409, str(exc), agent_id=exc.agent_id, version=exc.version, latest=exc.latest
            ) from None


def source_fields(source: str, agent_id: str) -> dict[str, Any]:
    """Contract fields from .nomo source: a contract block for the agent, else the file's rules."""
    outcome = compile_request_source(source, SOURCE_NAME)
    if not outcome.ok:
        raise ApiError(422, "source does not compile", diagnostics=to_json(outcome.diagnostics))
    result = outcome.result
    for contract in result.contracts:
        if contract.agent_id == agent_id:
            return {k: v for k, v in contract.to_dict().items() if k not in _SERVER_FIELDS}
    if result.contracts:
        declared = ", ".join(repr(contract.agent_id) for contract in result.contracts)
        raise ApiError(
            422, f"source declares contracts for {declared} but not for agent {agent_id!r}"
        )
    return {"invariants": [spec.to_dict() for spec in result.invariants]}


def completed_spec(body: InvariantSpecBody) -> dict[str, Any]:
    """A spec dict with the id and description the builder would give when they are absent."""
    values = body.model_dump()
    spec = InvariantSpec.from_dict({**values, "invariant_id": values["invariant_id"] or "-"})
    if not values["invariant_id"]:
        spec = replace(spec, invariant_id=derived_invariant_id(spec))
    # Only a valid rule can be put in words; an invalid one is reported as it is.
    if not spec.description and not spec.validate():
        spec = replace(spec, description=default_description(spec))
    return spec.to_dict()


def check_source(request: CheckRequest) -> dict[str, Any]:
    """Diagnostics for .nomo source in ``nomo check --format json``'s shape, plus ``ok``."""
    outcome = compile_request_source(request.source, request.filename)
    errors, warnings = outcome.result.counts  # those past the per-file cap included
    return {
        "ok": outcome.ok,
        "files": [request.filename],
        "diagnostics": to_json(outcome.diagnostics),
        "errors": errors,
        "warnings": warnings,
    }


def _problems(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"location": problem.path, "message": str(problem)} for problem in problems]
