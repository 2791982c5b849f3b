"""Body size limit (413), the catch-all 500, and settings that never reveal the token."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import AUTH, TOKEN, ClientFactory
from fastapi.testclient import TestClient
from nacl.signing import SigningKey

from nomotic_dsl.http import ApiSettings, SettingsError, settings_from_env
from nomotic_dsl.http.auth import token_matches
from nomotic_dsl.http.service import ContractService
from nomotic_dsl.runtime.bundle.keys import write_key_pair

LIMIT = 256


def _body_of(size: int) -> bytes:
    """A valid check request of exactly ``size`` bytes."""
    skeleton = json.dumps({"source": ""}).encode()
    padding = "#" * (size - len(skeleton))
    return json.dumps({"source": padding}).encode()


def _chunks(body: bytes, size: int = 64) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.fixture
def small(make_client: ClientFactory) -> TestClient:
    return make_client(max_body_bytes=LIMIT)


@pytest.mark.parametrize("path", ["/v1/contracts", "/v1/check", "/v1/evaluate"])
def test_a_declared_length_over_the_limit_is_413(small: TestClient, path: str) -> None:
    response = small.post(path, content=_body_of(LIMIT + 1), headers=AUTH)
    assert response.status_code == 413
    assert response.json() == {
        "error": f"request body is larger than the limit of {LIMIT} bytes",
        "limit_bytes": LIMIT,
    }


def test_a_chunked_body_over_the_limit_is_413(small: TestClient) -> None:
    response = small.post("/v1/check", content=_chunks(_body_of(LIMIT * 3)))
    assert response.status_code == 413


def test_a_chunked_body_within_the_limit_is_served(small: TestClient) -> None:
    body = _body_of(LIMIT)
    assert len(body) == LIMIT
    response = small.post(
        "/v1/check", content=_chunks(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text


def test_a_body_at_the_limit_is_served(small: TestClient) -> None:
    response = small.post(
        "/v1/check", content=_body_of(LIMIT), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200


def test_a_real_bug_is_a_500_that_logs_no_secret(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: ContractService, agent_id: str) -> list[object]:
        raise RuntimeError("defect")

    monkeypatch.setattr(ContractService, "history", broken)
    with caplog.at_level(logging.ERROR, logger="nomotic_dsl.http"):
        response = client.get("/v1/contracts/bot/history", headers=AUTH)
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}
    assert "RuntimeError" in caplog.text and "/v1/contracts/bot/history" in caplog.text
    assert TOKEN not in caplog.text


def test_settings_repr_never_shows_the_token_or_key() -> None:
    settings = ApiSettings(write_token=TOKEN, signing_key=SigningKey(bytes(range(32))))
    assert TOKEN not in repr(settings)
    assert bytes(range(32)).hex() not in repr(settings)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    pair = write_key_pair(tmp_path / "server")
    env = {
        "NOMO_API_TOKEN": TOKEN,
        "NOMO_API_READ_TOKEN_REQUIRED": "yes",
        "NOMO_API_MAX_BODY_BYTES": "2048",
        "NOMO_API_SIGNING_KEY": str(pair.secret_path),
        "NOMO_API_DB": str(tmp_path / "env.db"),
    }
    settings = settings_from_env(env)
    assert settings.write_token == TOKEN
    assert settings.read_token_required
    assert settings.max_body_bytes == 2048
    assert settings.signer == f"nomo-api:{pair.key_id}"
    assert settings.db_path == tmp_path / "env.db"
    explicit = settings_from_env(env, db_path=tmp_path / "flag.db")
    assert explicit.db_path == tmp_path / "flag.db"


def test_default_settings() -> None:
    settings = settings_from_env({})
    assert settings.db_path == Path("nomo.db")
    assert settings.write_token is None
    assert not settings.read_token_required
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.signing_key is None and settings.signer == ""


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NOMO_API_READ_TOKEN_REQUIRED": "1"}, "NOMO_API_TOKEN is not set"),
        ({"NOMO_API_TOKEN": "  "}, "empty"),
        ({"NOMO_API_READ_TOKEN_REQUIRED": "maybe"}, "NOMO_API_READ_TOKEN_REQUIRED"),
        ({"NOMO_API_MAX_BODY_BYTES": "lots"}, "NOMO_API_MAX_BODY_BYTES"),
        ({"NOMO_API_MAX_BODY_BYTES": "0"}, "at least 1 byte"),
        ({"NOMO_API_SIGNING_KEY": "/nonexistent/server.key"}, "NOMO_API_SIGNING_KEY"),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        settings_from_env(env)


def test_token_comparison() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN, TOKEN + "x")
    assert not token_matches("", TOKEN)
    assert token_matches("\u00e9t\u00e9", "\u00e9t\u00e9")
