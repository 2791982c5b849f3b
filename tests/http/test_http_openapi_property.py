"""Property-based API test driven by the OpenAPI document (schemathesis, in process).

Every operation gets generated requests, valid and invalid by the schema,
with and without the token; no response may be a server error, and every
response must match the status codes, content type and schema the document
publishes. Bounded: 50 examples per operation, no deadline.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


_ANONYMOUS_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_without_a_token_never_fails(case: schemathesis.Case) -> None:
    # Without the bearer token writes are 401, reads as usual; never a 5xx.
    case.call_and_validate(checks=_ANONYMOUS_CHECKS)


def test_the_property_runs_cover_every_route_of_the_app() -> None:
    """Whatever endpoint is added to the app, the runs above generate requests for it."""
    routes = set(_documented_routes(_seeded_app().routes))
    covered = {(op.ok().method.lower(), op.ok().path) for op in schema.get_all_operations()}
    assert routes and routes == covered, routes ^ covered


def _documented_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route in the schema, through included routers."""
    for route in routes:
        nested = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if nested is not None and not hasattr(route, "endpoint"):
            inner = nested.routes if hasattr(nested, "routes") else nested
            yield from _documented_routes(list(inner), prefix + getattr(route, "path", ""))
        elif getattr(route, "include_in_schema", False):
            for method in getattr(route, "methods", ()):
                yield method.lower(), prefix + route.path
