"""Request body size limit: an ASGI middleware that answers 413 before any parsing.

Input: an ASGI HTTP request. Output: the request passed on with its body
replayed, or a 413 JSON error. Stage: shell (the HTTP API), outermost layer.

A declared ``Content-Length`` over the limit is refused without reading a
byte; otherwise the body is read chunk by chunk (chunked transfer encoding
has no length up front) and refused as soon as the running total passes the
limit. Buffering is bounded by the limit itself, so the app behind it sees a
complete, small body and never a half-read stream.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body passed the configured limit."""


class BodyLimitMiddleware:
    """Refuse HTTP requests whose body is larger than ``max_body_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_body_bytes:
            await self._refuse(send)
            return
        try:
            body, disconnected = await _read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            await self._refuse(send)
            return
        await self.app(scope, _replay(body, disconnected, receive), send)

    async def _refuse(self, send: Send) -> None:
        payload = {
            "error": f"request body is larger than the limit of {self.max_body_bytes} bytes",
            "limit_bytes": self.max_body_bytes,
        }
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            # The unread rest of the body makes the connection unusable.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int:
    """The Content-Length header as a number; 0 when absent or unreadable."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, and whether the client went away while sending it."""
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """A receive callable that yields the buffered body once, then the real stream."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if disconnected:
            return {"type": "http.disconnect"}
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
