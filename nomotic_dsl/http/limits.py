"""Request limits: body size, body read deadline, UTF-8 bodies, header deadline, concurrent compiles.

Input: ASGI HTTP requests (and, for the header deadline, the raw connection).
Output: the request passed on with its body replayed, or a JSON error: 413
(body too large), 408 (body not received in time), 422 (body not UTF-8), 503
(too many compiles at once). Stage: shell (the HTTP API), the outermost layers.

``BodyLimitMiddleware``: a declared ``Content-Length`` over the limit is
refused without reading a byte; otherwise the body is read chunk by chunk
(chunked transfer encoding has no length up front) and refused as soon as the
running total passes the limit. The whole body must arrive within
``body_timeout`` seconds, however slowly it trickles. Buffering is bounded by
the limit itself, so the app behind it sees a complete, small body and never
a half-read stream. A body that is not UTF-8, or holds a NUL byte, is refused:
Python's JSON reader would otherwise guess UTF-16 or UTF-32 from the bytes,
and the API speaks UTF-8 JSON only.

``HeaderTimeoutH11Protocol``: uvicorn's h11 protocol with a deadline on the
request line and headers (uvicorn has none of its own): a connection that has
not sent a complete request head within ``header_timeout`` seconds of opening,
or of its previous response, gets a 408 and is closed.

The same protocol sends each response's status line and headers together with
the first bytes of its body, in one write (uvicorn writes them separately: two
system calls and two TCP segments, and two wake-ups of the client, per
response); a head whose body does not follow in the same step of the event
loop is sent on its own in the next step.

``CompileGate``: at most ``limit`` compiles of request source at once; one
more gets a 503 with ``Retry-After`` at once instead of queueing behind them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, cast

from uvicorn.protocols.http.h11_impl import H11Protocol

from nomotic_dsl.http.errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NOT_UTF8_MESSAGE = "invalid request: the body is not UTF-8 JSON text"


class BodyTooLarge(Exception):
    """The request body passed the configured limit."""


class BodyLimitMiddleware:
    """Refuse bodies over ``max_body_bytes`` (413), slower than ``body_timeout`` (408), not UTF-8 (422)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_timeout: float | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_body_bytes:
            await self._refuse_size(send)
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body, disconnected = await _read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            await self._refuse_size(send)
            return
        except TimeoutError:
            await send_json_error(
                send,
                408,
                {
                    "error": f"the request body did not arrive within {self.body_timeout:g} s",
                    "limit_seconds": self.body_timeout,
                },
            )
            return
        if body and not _is_utf8_json_text(body):
            await send_json_error(send, 422, {"error": NOT_UTF8_MESSAGE})
            return
        await self.app(scope, _replay(body, disconnected, receive), send)

    async def _refuse_size(self, send: Send) -> None:
        payload = {
            "error": f"request body is larger than the limit of {self.max_body_bytes} bytes",
            "limit_bytes": self.max_body_bytes,
        }
        await send_json_error(send, 413, payload)


async def send_json_error(send: Send, status: int, payload: dict[str, Any]) -> None:
    """Answer with a JSON error and close the connection (the rest of the body is unread)."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_utf8_json_text(body: bytes) -> bool:
    # JSON text never holds a raw NUL; UTF-16 and UTF-32 of ASCII text always do.
    if b"\x00" in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


class CompileGate:
    """At most ``limit`` compiles of request source at once; the next is refused with 503."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one compile slot for the block; ApiError 503 when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            raise ApiError(
                503,
                f"the server is already compiling {self.limit} sources at once; retry shortly",
                limit=self.limit,
                headers={"Retry-After": "1"},
            )
        try:
            yield
        finally:
            self._slots.release()


_REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)


class _HeadHoldingTransport:
    """A connection's transport that holds a response's head until its body's first write.

    Every other call goes to the real transport. The head is recognised by
    uvicorn's cycle state at the time of the write (response started, not
    complete, nothing written for it yet); a held head goes out with the next
    write, at ``close``, or in the event loop's next step, whichever is first.
    """

    def __init__(self, transport: asyncio.Transport, protocol: H11Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._held: bytes | None = None
        self._held_for: object = None  # the cycle whose head was held last

    def write(self, data: bytes | bytearray | memoryview) -> None:
        cycle = self._protocol.cycle
        if (
            self._held is None
            and cycle is not None
            and cycle.response_started
            and not cycle.response_complete
            and cycle is not self._held_for
        ):
            self._held = bytes(data)
            self._held_for = cycle
            self._protocol.loop.call_soon(self.flush)
            return
        if self._held is not None:
            data, self._held = self._held + bytes(data), None
        self._transport.write(data)

    def flush(self) -> None:
        """Send a held head now."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's line and headers.

    The deadline runs from the moment the server waits for a request head (the
    connection opened, or the previous response finished) until the head is
    complete; the body has its own deadline in ``BodyLimitMiddleware``.
    """

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Each response's head and body in one write (flow control keeps the real one).
        self.transport = cast(asyncio.Transport, _HeadHoldingTransport(transport, self))
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_head_deadline()  # a request head arrived

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served
        body = json.dumps(
            {
                "error": f"the request line and headers did not arrive within "
                f"{self.header_timeout:g} s",
                "limit_seconds": self.header_timeout,
            },
            separators=(",", ":"),
        ).encode("utf-8")
        self.transport.write(_REQUEST_TIMEOUT_RESPONSE % (len(body), body))
        self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutH11Protocol]:
    """The protocol class for ``uvicorn.run(http=...)`` with this header deadline."""
    return type("NomoH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout": seconds})
