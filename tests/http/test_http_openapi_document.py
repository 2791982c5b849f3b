"""The OpenAPI document describes every endpoint, its statuses and the error shape."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import ClientFactory

OPERATIONS = {
    ("post", "/v1/contracts"): {"201", "401", "409", "413", "422", "503"},
    ("get", "/v1/contracts/{agent_id}"): {"200", "404", "422", "503"},
    ("get", "/v1/contracts/{agent_id}/history"): {"200", "404", "422", "503"},
    ("get", "/v1/contracts/{agent_id}/diff"): {"200", "404", "422", "503"},
    ("post", "/v1/check"): {"200", "413", "422"},
    ("post", "/v1/evaluate"): {"200", "404", "413", "422", "503"},
    ("post", "/v1/observations"): {"200", "401", "409", "413", "422"},
    ("get", "/v1/agents/{agent_id}/provenance"): {"200", "404", "409", "422"},
}


def _document(make_client: ClientFactory, **settings: Any) -> dict[str, Any]:
    response = make_client(**settings).get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_operation_and_status_is_documented(make_client: ClientFactory) -> None:
    paths = _document(make_client)["paths"]
    found = {(method, path) for path, item in paths.items() for method in item}
    assert found == set(OPERATIONS)
    for (method, path), statuses in OPERATIONS.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (method, path)
        for status in statuses - {"200", "201"}:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}


@pytest.mark.parametrize("required", [False, True])
def test_read_security_follows_the_settings(make_client: ClientFactory, required: bool) -> None:
    paths = _document(make_client, read_token_required=required)["paths"]
    write = paths["/v1/contracts"]["post"]
    assert write["security"] == [{"HTTPBearer": []}]
    read = paths["/v1/contracts/{agent_id}"]["get"]
    assert ("security" in read) is required
    assert ("401" in read["responses"]) is required
