"""The two hot operations, for well-formed requests, without FastAPI's per-request machinery.

Input: ASGI HTTP requests (already size-checked by ``BodyLimitMiddleware``).
Output: for ``POST /v1/contracts`` and ``GET /v1/contracts/{agent_id}`` whose
every part is well formed, the answer the FastAPI route gives, byte for byte
(the same service call, the same ``Response``, the same error handlers);
every other request, and every request with anything unusual, passes to the
FastAPI app unchanged, which answers it as before. Stage: shell (the HTTP API).

Why: on a small machine routing, dependency solving and parameter
validation cost about a quarter of a write's CPU (measured in
``docs/benchmarks.md``), and at 32 concurrent writers the latency is queueing
for that CPU. The OpenAPI document, the status codes and every error body
stay FastAPI's: an error raised by the service is rendered by the handlers
``install_error_handlers`` registers, and a request the fast path cannot
prove well formed (a missing or differently written token, an unusual
content type or idempotency key, a body the model refuses, a query string)
is never answered here.

"Well formed", exactly: the method and path (no root path); one
``Authorization: Bearer <token>`` header, written exactly so, when the
operation needs the token; for the write, one ``Content-Type:
application/json``, at most one ``Idempotency-Key`` within the documented
length and characters, and a JSON body that ``CreateContractRequest``
accepts; for the read, no query string and an agent id of 1 to 200
characters without a slash.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from nomotic_dsl.http.errors import ApiError, error_handler_for
from nomotic_dsl.http.limits import ASGIApp, Message, Receive, Scope, Send
from nomotic_dsl.http.models import AGENT_ID_MAX_LENGTH, CreateContractRequest
from nomotic_dsl.http.routes import contract_response
from nomotic_dsl.http.service import ContractService
from nomotic_dsl.runtime.contracts.backend import StoreSchemaError, StoreUnavailable
from nomotic_dsl.runtime.contracts.store import MAX_IDEMPOTENCY_KEY_LENGTH

CONTRACTS_PATH = "/v1/contracts"
_READ_PREFIX = CONTRACTS_PATH + "/"
_HANDLED = (ApiError, StoreUnavailable, StoreSchemaError)


class FastContractRoutes:
    """Answer well-formed writes and active-contract reads directly; pass the rest to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        service: ContractService,
        write_token: str | None,
        read_token_required: bool,
    ) -> None:
        self.app = app
        self.service = service
        # Only an ASCII token without surrounding blanks is compared byte for byte
        # here (FastAPI decodes headers as Latin-1, strips the credentials and
        # compares UTF-8); with any other token every request goes to FastAPI.
        self._bearer = (
            b"Bearer " + write_token.encode("ascii")
            if write_token is not None
            and write_token.isascii()
            and write_token == write_token.strip()
            else None
        )
        self._reads_open = not read_token_required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == CONTRACTS_PATH:
                await self._write(scope, receive, send)
                return
            if method == "GET" and path.startswith(_READ_PREFIX):
                agent_id = path[len(_READ_PREFIX) :]
                if (
                    not scope.get("query_string")
                    and "/" not in agent_id
                    and 1 <= len(agent_id) <= AGENT_ID_MAX_LENGTH
                    and (self._reads_open or self._authorized(scope))
                ):
                    await self._answer(scope, receive, send, self._read(agent_id))
                    return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        found = [value for name, value in scope["headers"] if name == b"authorization"]
        return (
            self._bearer is not None
            and len(found) == 1
            and hmac.compare_digest(found[0], self._bearer)
        )

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        replay = _replaying(first, receive)
        complete = first["type"] == "http.request" and not first.get("more_body", False)
        request = self._write_request(scope, first.get("body", b"")) if complete else None
        if request is None:
            await self.app(scope, replay, send)
            return
        parsed, key = request
        await self._answer(scope, replay, send, self._create(parsed, key))

    def _write_request(
        self, scope: Scope, body: bytes
    ) -> tuple[CreateContractRequest, str | None] | None:
        """The parsed body and idempotency key, or None: let FastAPI answer."""
        if not body or not self._authorized(scope):
            return None
        content_types: list[bytes] = []
        keys: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_types.append(value)
            elif name == b"idempotency-key":
                keys.append(value)
        if content_types != [b"application/json"] or len(keys) > 1:
            return None
        key = keys[0].decode("latin-1") if keys else None
        if key is not None and not (
            1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and all("!" <= c <= "~" for c in key)
        ):
            return None
        try:
            # What FastAPI does with a JSON body: json.loads, then the model.
            parsed = CreateContractRequest.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # JSONDecodeError is a ValueError
            return None
        return parsed, key

    async def _create(self, request: CreateContractRequest, key: str | None) -> Response:
        written = await self.service.create_async(request, key)
        headers = {"Idempotent-Replayed": "true"} if written.replayed else None
        return contract_response(written.contract, status_code=201, headers=headers)

    async def _read(self, agent_id: str) -> Response:
        return contract_response(await self.service.contract_async(agent_id))

    async def _answer(self, scope: Scope, receive: Receive, send: Send, making: Any) -> None:
        """Send the response ``making`` gives, or the registered handler's for its error."""
        try:
            response: Response = await making
        except _HANDLED as exc:
            response = await error_handler_for(exc)(Request(scope, receive), exc)
        await response(scope, receive, send)


def _replaying(first: Message, receive: Receive) -> Receive:
    """A receive that yields the message already read once, then the real stream."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return first
        return await receive()

    return replay
