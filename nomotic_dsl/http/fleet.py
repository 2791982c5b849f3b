"""``POST /v1/observations`` and ``GET /v1/agents/{agent_id}/provenance``: the fleet runtime over HTTP.

Input: a JSON array of observations, or NDJSON (one per line), each naming
its ``agent_id``; an agent id. Output: one decision per observation, in body
order (the same records ``nomo run --format jsonl`` writes); an agent's
running counts and chain head. Stage: shell (the HTTP API) over the
``FleetRuntime`` that ``nomo serve --bundle`` loaded.

One runtime serves every request: a lock makes each batch's decisions
contiguous, and ``line`` is the server's running observation number (1, 2, ...
since start). A malformed observation gets an error decision and the batch
goes on; a body that is not JSON at all is refused (422), as is one of more
than ``MAX_OBSERVATIONS`` observations. The body size limit applies first.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from nomotic_dsl.http.auth import TokenCheck
from nomotic_dsl.http.errors import ApiError
from nomotic_dsl.http.models import (
    AGENT_ID_MAX_LENGTH,
    DecisionsBody,
    ErrorBody,
    ProvenanceBody,
)
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime

MAX_OBSERVATIONS = 10_000
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
NO_RUNTIME = (
    "this server governs no bundles: start it with `nomo serve --bundle BUNDLE --trust PUB`"
)

_ERROR: dict[str, Any] = {"model": ErrorBody}
Responses = dict[int | str, dict[str, Any]]
_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Observations, oldest first per agent: a JSON array, or NDJSON "
        "(`Content-Type: application/x-ndjson`, one object per line). Each object has "
        "`timestamp`, `action_type`, `target`, optional `agent_id`, `outcome`, "
        "`session_id`, `semantic` and `drift`.",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
                "example": [
                    {
                        "agent_id": "support-bot",
                        "timestamp": 1712577960.9,
                        "action_type": "read",
                        "target": "tickets",
                        "session_id": "cus-0001",
                    }
                ],
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


class FleetService:
    """The server's one fleet runtime, shared by every request under a lock."""

    def __init__(self, runtime: FleetRuntime | None) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()

    def observe(self, body: bytes, content_type: str) -> dict[str, Any]:
        """Decide on every observation of the body; 409 without a runtime, 422 for bad bodies."""
        runtime = self._runtime()
        items = parse_body(body, content_type)
        with self._lock:
            decisions = [
                runtime.process_line(item)
                if isinstance(item, bytes)
                else runtime.process_value(item)
                for item in items
            ]
        return {"decisions": decisions}

    def provenance(self, agent_id: str) -> dict[str, Any]:
        """The agent's running counts and chain head; 404 for an agent never seen."""
        runtime = self._runtime()
        with self._lock:
            found = runtime.provenance(agent_id)
        if found is None:
            raise ApiError(404, f"no decisions for agent {agent_id!r}", agent_id=agent_id)
        return found

    def _runtime(self) -> FleetRuntime:
        if self.runtime is None:
            raise ApiError(409, NO_RUNTIME)
        return self.runtime


def parse_body(body: bytes, content_type: str) -> list[Any]:
    """The observations of a body: decoded values (JSON array) or raw lines (NDJSON)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid request: the body is not UTF-8 text") from None
    media = content_type.split(";")[0].strip().lower()
    if media in NDJSON_TYPES or (media != "application/json" and not text.lstrip().startswith("[")):
        lines = [line.encode("utf-8") for line in text.splitlines() if line.strip()]
        _check_count(len(lines))
        return list(lines)
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ApiError(422, f"invalid request: body is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise ApiError(
            422,
            "invalid request: the body must be a JSON array of observations "
            "(or NDJSON with Content-Type: application/x-ndjson)",
        )
    _check_count(len(value))
    return value


def _check_count(count: int) -> None:
    if count == 0:
        raise ApiError(422, "invalid request: the body holds no observations")
    if count > MAX_OBSERVATIONS:
        raise ApiError(
            422,
            f"invalid request: {count} observations in one request, more than the "
            f"{MAX_OBSERVATIONS} allowed",
            limit=MAX_OBSERVATIONS,
        )


AgentId = Annotated[
    str, Path(min_length=1, max_length=AGENT_ID_MAX_LENGTH, description="The agent's id.")
]


def fleet_router(
    service: FleetService, write_check: TokenCheck, read_check: TokenCheck | None
) -> APIRouter:
    """The fleet routes; observations need the write token, provenance is a read."""
    read_guard = [Depends(read_check)] if read_check is not None else []
    router = APIRouter(prefix="/v1")
    conflict: Responses = {
        409: {**_ERROR, "description": "The server was started without bundles."}
    }
    unauthorized: Responses = {401: {**_ERROR, "description": "Missing or invalid bearer token."}}
    invalid: Responses = {
        422: {**_ERROR, "description": "A body that is not observations, or too many."}
    }
    too_large: Responses = {
        413: {**_ERROR, "description": "Request body larger than the server's limit."}
    }
    not_found: Responses = {404: {**_ERROR, "description": "No decision was made for this agent."}}

    @router.post(
        "/observations",
        response_model=DecisionsBody,
        dependencies=[Depends(write_check)],
        responses={**unauthorized, **too_large, **invalid, **conflict},
        summary="Govern observations: one decision each",
        openapi_extra=_BODY_SCHEMA,
    )
    async def observe(request: Request) -> dict[str, Any]:
        """Feed observations to the fleet runtime; the decisions come back in body order.

        Each decision is the record `nomo run --format jsonl` writes: line,
        agent, session, time, bundle, contract, violated, changed, counts,
        drift, exceedances, scope, error and receipt (chained per agent).
        """
        body = await request.body()
        return await run_in_threadpool(
            service.observe, body, request.headers.get("content-type", "")
        )

    @router.get(
        "/agents/{agent_id}/provenance",
        response_model=ProvenanceBody,
        dependencies=read_guard,
        responses={
            **(unauthorized if read_check is not None else {}),
            **not_found,
            **invalid,
            **conflict,
        },
        summary="Running counts of one agent",
    )
    def provenance(agent_id: AgentId) -> dict[str, Any]:
        """Decisions, invariant results by status, exceedances, scope violations, errors."""
        return service.provenance(agent_id)

    return router
