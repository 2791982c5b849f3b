"""Bearer-token checks for writes (always) and reads (when configured).

Input: the request's ``Authorization`` header and the configured token.
Output: nothing when the token is valid, else a 401 ``ApiError``. Stage:
shell (the HTTP API), a FastAPI dependency run before the route.

The comparison is constant-time (``hmac.compare_digest``) over bytes, and
neither the expected nor the presented token ever appears in a response or a
log line.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nomotic_dsl.http.errors import ApiError

# auto_error=False: a missing header reaches our check, which answers with the
# project's 401 error JSON instead of FastAPI's own 403.
_BEARER = HTTPBearer(auto_error=False, description="The server's NOMO_API_TOKEN.")

TokenCheck = Callable[[HTTPAuthorizationCredentials | None], Awaitable[None]]


def token_matches(presented: str, expected: str) -> bool:
    """True when ``presented`` equals ``expected``, in time independent of where they differ."""
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def bearer_check(expected: str | None) -> TokenCheck:
    """A dependency that refuses requests without ``Authorization: Bearer <expected>``.

    With no token configured (``expected`` None) every request it guards is
    refused: the service is then read-only.
    """

    # async: a constant-time compare needs no worker thread, and a sync
    # dependency would cost every request a hop through the thread pool.
    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        if expected is None:
            raise ApiError(401, "writes are disabled: the server has no NOMO_API_TOKEN configured")
        if credentials is None:
            raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'")
        if not token_matches(credentials.credentials, expected):
            raise ApiError(401, "invalid bearer token")

    return check
