"""The API's endpoints: each parses its request, calls the service, and renders the result.

Input: HTTP requests (already size-checked). Output: JSON responses matching
the models in ``nomotic_dsl.http.models``. Stage: shell (the HTTP API).

Routes are built per app, so the token checks and the OpenAPI document both
follow the settings: reads carry a security requirement only on a server that
demands a token for them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import Response

from nomotic_dsl.http.auth import TokenCheck
from nomotic_dsl.http.models import (
    AGENT_ID_MAX_LENGTH,
    MAX_VERSION,
    CheckBody,
    CheckRequest,
    ContractBody,
    CreateContractRequest,
    DiffBody,
    ErrorBody,
    EvaluateBody,
    EvaluateRequest,
    HistoryBody,
)
from nomotic_dsl.http.service import ContractService
from nomotic_dsl.ir import BehavioralContract
from nomotic_dsl.runtime.contracts.store import MAX_IDEMPOTENCY_KEY_LENGTH

AgentId = Annotated[
    str, Path(min_length=1, max_length=AGENT_ID_MAX_LENGTH, description="The agent's id.")
]
VersionNumber = Annotated[int, Query(ge=1, le=MAX_VERSION, description="A stored version number.")]

_ERROR = {"model": ErrorBody}
_UNAUTHORIZED = {401: {**_ERROR, "description": "Missing or invalid bearer token."}}
_INVALID = {422: {**_ERROR, "description": "Invalid input, with every problem named."}}
_NOT_FOUND = {404: {**_ERROR, "description": "Unknown agent or version."}}
_TOO_LARGE = {413: {**_ERROR, "description": "Request body larger than the server's limit."}}
_BUSY = {
    503: {
        **_ERROR,
        "description": "The server is compiling as many sources as it allows at once; "
        "retry after the `Retry-After` seconds.",
    }
}
_STORE_DOWN = {
    503: {
        **_ERROR,
        "description": "The contract store's database cannot be reached; retry after the "
        "`Retry-After` seconds.",
    }
}
_BUSY_OR_STORE_DOWN = {
    503: {
        **_ERROR,
        "description": "The server is compiling as many sources as it allows at once, or the "
        "contract store's database cannot be reached; retry after the `Retry-After` seconds.",
    }
}
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]+$"


def _responses(*groups: dict[int, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    merged: dict[int | str, dict[str, Any]] = {}
    for group in groups:
        for status, response in group.items():
            merged[status] = response
    return merged


def contract_router(
    service: ContractService, write_check: TokenCheck, read_check: TokenCheck | None
) -> APIRouter:
    """The /v1 routes over ``service``; ``read_check`` None leaves reads open."""
    read_guard = [Depends(read_check)] if read_check is not None else []
    read_errors: dict[int, dict[str, Any]] = _UNAUTHORIZED if read_check is not None else {}
    router = APIRouter(prefix="/v1")

    @router.post(
        "/contracts",
        status_code=201,
        response_model=ContractBody,
        dependencies=[Depends(write_check)],
        responses=_responses(
            _UNAUTHORIZED,
            _TOO_LARGE,
            _INVALID,
            {409: {**_ERROR, "description": "Version not greater than the agent's latest."}},
            _BUSY_OR_STORE_DOWN,
        ),
        summary="Generate and store a contract",
    )
    async def create_contract(
        request: CreateContractRequest,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
                pattern=IDEMPOTENCY_KEY_PATTERN,
                description="A key unique to this write (a UUID, say). A retry with the same "
                "key and body stores nothing and returns the first answer (201, with "
                "`Idempotent-Replayed: true`); the same key with another body is a 422.",
            ),
        ] = None,
    ) -> Response:
        """Generate a contract (archetype prior, fields, spec dicts or .nomo source) and store it.

        The next version is allocated atomically unless the body names one; the
        contract is sealed with the server's signing key when one is configured.
        """
        written = await service.create_async(request, idempotency_key)
        headers = {"Idempotent-Replayed": "true"} if written.replayed else None
        # The hot paths answer with the contract's own JSON form (the documented
        # ContractBody), skipping a second validation pass in a worker thread.
        return contract_response(written.contract, status_code=201, headers=headers)

    @router.get(
        "/contracts/{agent_id}",
        response_model=ContractBody,
        dependencies=read_guard,
        responses=_responses(read_errors, _NOT_FOUND, _INVALID, _STORE_DOWN),
        summary="Get the active contract",
    )
    async def get_contract(
        agent_id: AgentId,
        version: Annotated[
            int | None,
            Query(ge=1, le=MAX_VERSION, description="A stored version; absent: the active one."),
        ] = None,
    ) -> Response:
        """The agent's active (latest) contract, or the version asked for."""
        return contract_response(await service.contract_async(agent_id, version))

    @router.get(
        "/contracts/{agent_id}/history",
        response_model=HistoryBody,
        dependencies=read_guard,
        responses=_responses(read_errors, _NOT_FOUND, _INVALID, _STORE_DOWN),
        summary="Get the version history",
    )
    def get_history(agent_id: AgentId) -> dict[str, Any]:
        """Every stored version of the agent's contract, oldest first."""
        contracts = [contract.to_dict() for contract in service.history(agent_id)]
        return {"agent_id": agent_id, "contracts": contracts}

    @router.get(
        "/contracts/{agent_id}/diff",
        response_model=DiffBody,
        dependencies=read_guard,
        responses=_responses(read_errors, _NOT_FOUND, _INVALID, _STORE_DOWN),
        summary="Diff between two versions",
    )
    def get_diff(agent_id: AgentId, v1: VersionNumber, v2: VersionNumber) -> dict[str, Any]:
        """For each field that differs, its value in ``v1`` (``from``) and in ``v2`` (``to``)."""
        return service.diff(agent_id, v1, v2)

    @router.post(
        "/check",
        response_model=CheckBody,
        dependencies=read_guard,
        responses=_responses(read_errors, _TOO_LARGE, _INVALID, _BUSY),
        summary="Check .nomo source",
    )
    def check(request: CheckRequest) -> dict[str, Any]:
        """Compile the source and return every diagnostic (200 even when it has errors)."""
        return service.check(request)

    @router.post(
        "/evaluate",
        response_model=EvaluateBody,
        dependencies=read_guard,
        responses=_responses(read_errors, _NOT_FOUND, _TOO_LARGE, _INVALID, _STORE_DOWN),
        summary="Evaluate an agent's contract on a behavioral state",
    )
    def evaluate(request: EvaluateRequest) -> dict[str, Any]:
        """Evaluate the invariants of the agent's contract on the state; results and summary."""
        return service.evaluate(request)

    return router


def contract_response(
    contract: BehavioralContract, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The contract's JSON form as a response: the bytes ``JSONResponse(contract.to_dict())`` sends."""
    return Response(
        contract.plain_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
