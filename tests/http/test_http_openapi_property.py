"""Property-based API test driven by the OpenAPI document (schemathesis, in process).

Every operation gets generated requests, valid and invalid by the schema,
with and without the token; no response may be a server error, and every
response must match the status codes, content type and schema the document
publishes. Bounded: 50 examples per operation, no deadline.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from api_helpers import AUTH, RATIO_SPEC, TOKEN
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from nomotic_dsl.http import ApiSettings, create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# schemathesis' fixture-based loader does not work with this pytest, so the app
# is built at import; the temporary directory is removed when the process ends.
_STORE_DIR = tempfile.TemporaryDirectory(prefix="nomo-openapi-")


def _seeded_app() -> FastAPI:
    db = Path(_STORE_DIR.name) / "contracts.sqlite3"
    app = create_app(ApiSettings(db_path=db, write_token=TOKEN, max_body_bytes=64 * 1024))
    # Stored agents, so reads and evaluations also reach their 200 paths.
    seed = TestClient(app)
    for agent_id in ("bot", "0"):
        body = {"agent_id": agent_id, "invariants": [RATIO_SPEC]}
        seed.post("/v1/contracts", json=body, headers=AUTH)
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _seeded_app())


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_and_never_fails(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)
