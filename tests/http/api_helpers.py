"""Constants and helpers shared by the HTTP API tests (imported as ``api_helpers``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

TOKEN = "test-token-7f3a9c"
ClientFactory = Callable[..., TestClient]

AUTH = {"Authorization": f"Bearer {TOKEN}"}

RATIO_SPEC: dict[str, Any] = {
    "invariant_id": "few_writes",
    "type": "ratio",
    "description": "Writes stay rare",
    "metric": "write_to_read",
    "operator": "lt",
    "threshold": 0.3,
    "threshold_upper": None,
    "window": 100,
    "window_seconds": None,
}


def post_contract(client: TestClient, **body: Any) -> Any:
    """POST /v1/contracts with the token; the response."""
    return client.post("/v1/contracts", json=body, headers=AUTH)
