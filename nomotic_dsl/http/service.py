"""What each endpoint does, in library calls: generate, store, read, diff, check, evaluate.

Input: validated request models. Output: JSON-clean dicts for the response
models, or ``ApiError`` naming the status and the problem. Stage: shell (the
HTTP API), between the routes (parse, render) and the library.

Contract generation happens before the store's write lock is taken (it may
compile source or read archetype files); inside the lock only the version is
filled in and the seal applied, so concurrent writers wait for microseconds,
not for a compile.

The write and the get of a contract have coroutine forms (``create_async``,
``contract_async``) for the routes: on a store that ``serves_event_loop``
(SQLite, memory) they generate the contract in the event loop and queue the
write to the store's group commit without a worker thread per request (a
thread hop per request, on a busy loop, waits for the GIL; that wait was most
of the write's tail latency); on PostgreSQL, and for request source (whose
compile may take a while), they run the synchronous form in a worker thread.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

from nacl.signing import SigningKey
from starlette.concurrency import run_in_threadpool

from nomotic_dsl.compiler.diagnostics.render import to_json
from nomotic_dsl.http.errors import ApiError
from nomotic_dsl.http.limits import CompileGate
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
from nomotic_dsl.ir.agent_id import AgentIdError, normalize_agent_id
from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.ir.contract import DEFAULT_ARCHETYPE
from nomotic_dsl.ir.describe import default_description
from nomotic_dsl.runtime.contracts.diff import diff_contracts
from nomotic_dsl.runtime.contracts.generate import generate_contract
from nomotic_dsl.runtime.contracts.store import (
    ContractStore,
    IdempotencyClaim,
    IdempotencyConflict,
    StoredWrite,
    VersionConflict,
)
from nomotic_dsl.runtime.interpreter import CompiledInvariants, StateError, coerce_state

# Fields a compiled contract block contributes; the server decides the rest.
_SERVER_FIELDS = frozenset(
    {"contract_id", "version", "agent_id", "created_at", "signature", "signed_by"}
)
_REQUEST_ONLY = frozenset({"agent_id", "archetype", "version", "invariants", "source"})
SOURCE_NAME = "<source>"


@dataclass(frozen=True, slots=True)
class ContractService:
    """The API's operations over one contract store and an optional server signing key.

    ``compile_gate`` bounds how many request sources compile at once (503 past it).
    """

    store: ContractStore
    signing_key: SigningKey | None = None
    signer: str = ""
    compile_gate: CompileGate | None = None

    def create(self, request: CreateContractRequest) -> BehavioralContract:
        """Generate the contract the request describes and store it under its version."""
        return self.create_once(request).contract

    def create_once(
        self, request: CreateContractRequest, idempotency_key: str | None = None
    ) -> StoredWrite:
        """``create``, at most once per ``idempotency_key``.

        A key already stored for the same request (same fingerprint) returns
        the version that request produced, ``replayed``; for a different
        request it is a 422. The key is stored in the transaction that stores
        the version, so a crash never leaves one without the other.
        """
        agent_id = api_agent_id(request.agent_id)
        request = request.model_copy(update={"agent_id": agent_id})
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim(idempotency_key, request_fingerprint(request))
            earlier = self._replay(claim)
            if earlier is not None:
                return earlier
        draft = self._draft(request)
        with _conflicts_answered():
            return self.store.write(agent_id, self._versioned(draft, request), idempotency=claim)

    async def create_async(
        self, request: CreateContractRequest, idempotency_key: str | None = None
    ) -> StoredWrite:
        """``create_once`` for an event loop: the same answers, status codes and errors.

        The idempotency key is not looked up before the draft: a replay's
        draft is built again (the same request builds the same contract) and
        the write's own step, in the store's transaction, finds the key and
        answers with the first version. Only when the draft is refused is the
        key looked up first, so a reused key is named as ``create_once`` names
        it, not the body's problems.
        """
        if request.source is not None or not self.store.serves_event_loop:
            return await run_in_threadpool(self.create_once, request, idempotency_key)
        agent_id = api_agent_id(request.agent_id)
        request = request.model_copy(update={"agent_id": agent_id})
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim(idempotency_key, request_fingerprint(request))
        try:
            draft = self._draft(request)
        except ApiError:
            earlier = self._replay(claim) if claim is not None else None
            if earlier is not None:
                return earlier
            raise
        with _conflicts_answered():
            contents = self._versioned(draft, request)
            return await self.store.write_async(agent_id, contents, idempotency=claim)

    def _replay(self, claim: IdempotencyClaim) -> StoredWrite | None:
        earlier = self.store.find_idempotent(claim.key)
        if earlier is None:
            return None
        if earlier.fingerprint != claim.fingerprint:
            raise _key_reused(IdempotencyConflict(claim.key, earlier.agent_id, earlier.version))
        contract = self.store.get_version(earlier.agent_id, earlier.version)
        if contract is None:  # pragma: no cover - stored in one transaction with its key
            return None
        return StoredWrite(contract, replayed=True)

    def check(self, request: CheckRequest) -> dict[str, Any]:
        """``check_source`` under the compile gate."""
        with self._compiling():
            return check_source(request)

    def _compiling(self) -> AbstractContextManager[None]:
        return self.compile_gate.slot() if self.compile_gate is not None else nullcontext()

    def contract(self, agent_id: str, version: int | None = None) -> BehavioralContract:
        """The active contract, or one version of it; 404 when there is none."""
        agent_id = api_agent_id(agent_id)
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

    async def contract_async(self, agent_id: str, version: int | None = None) -> BehavioralContract:
        """``contract`` for an event loop: inline on a local store, else in a worker thread."""
        if self.store.serves_event_loop:
            return self.contract(agent_id, version)
        return await run_in_threadpool(self.contract, agent_id, version)

    def history(self, agent_id: str) -> list[BehavioralContract]:
        """Every version, oldest first; 404 for an agent with none."""
        agent_id = api_agent_id(agent_id)
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
        fields: dict[str, Any] = {}
        if request.source:
            with self._compiling():
                fields = source_fields(request.source, request.agent_id)
        fields.update(request.model_dump(exclude_none=True, exclude=set(_REQUEST_ONLY)))
        if request.invariants is not None:
            fields["invariants"] = [completed_spec(spec) for spec in request.invariants]
        from_source = fields.pop("archetype", None)
        archetype = request.archetype or from_source or DEFAULT_ARCHETYPE
        try:
            return generate_contract(request.agent_id, archetype, **fields)
        except ContractError as exc:
            raise ApiError(422, "invalid contract", problems=_problems(exc.problems)) from None

    def _versioned(
        self, draft: BehavioralContract, request: CreateContractRequest
    ) -> BehavioralContract | Callable[[int], BehavioralContract]:
        """What the store writes: the contract at the request's version, or one for the next."""
        if request.version is not None:
            return self._finish(draft, request.version)
        return lambda version: self._finish(draft, version)

    def _finish(self, draft: BehavioralContract, version: int) -> BehavioralContract:
        """The draft at ``version`` (its id derived again), sealed when the server has a key."""
        # The draft's fields passed every check already: only the version is
        # checked again, and the id derived for it (equal to replace()'s).
        contract = draft.with_version(version)
        if self.signing_key is None:
            return contract
        return contract.seal(self.signing_key, self.signer)


def api_agent_id(agent_id: str) -> str:
    """The stored form of an agent id from a request; 422 naming the problem when it has none."""
    try:
        return normalize_agent_id(agent_id)
    except AgentIdError as exc:
        raise ApiError(422, f"invalid agent id: {exc}", agent_id=agent_id) from None


def request_fingerprint(request: CreateContractRequest) -> str:
    """SHA-256 of the request's canonical JSON: equal for the same body however it is laid out."""
    values = request.model_dump(mode="json", exclude_unset=True)
    return hashlib.sha256(canonical_json(values)).hexdigest()


@contextmanager
def _conflicts_answered() -> Iterator[None]:
    """A version taken meanwhile is a 409; an idempotency key reused for another request, 422."""
    try:
        yield
    except VersionConflict as exc:
        raise ApiError(
            409, str(exc), agent_id=exc.agent_id, version=exc.version, latest=exc.latest
        ) from None
    except IdempotencyConflict as exc:
        raise _key_reused(exc) from None


def _key_reused(exc: IdempotencyConflict) -> ApiError:
    return ApiError(
        422,
        str(exc),
        idempotency_key=exc.key,
        agent_id=exc.agent_id,
        version=exc.version,
    )


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
    """A spec dict with the id and description the builder would give when they are absent.

    A pure function of the body's fields (all scalars), so each distinct body
    is completed once (the last ``SPEC_CACHE_SIZE`` kept) and every caller
    gets a fresh dict. The cache key is the fields' ``repr`` as well as their
    values, so 0.0 and -0.0 (equal, but completed differently) never share.
    """
    items = tuple(body.model_dump().items())
    return dict(_completed_items(repr(items), items))


SPEC_CACHE_SIZE = 1024


@functools.lru_cache(maxsize=SPEC_CACHE_SIZE)
def _completed_items(
    spelled: str, items: tuple[tuple[str, Any], ...]
) -> tuple[tuple[str, Any], ...]:
    return tuple(_complete_spec(dict(items)).items())


def _complete_spec(values: dict[str, Any]) -> dict[str, Any]:
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
