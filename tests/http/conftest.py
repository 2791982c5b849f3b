"""Fixtures for the HTTP API tests: an in-process app over a temporary SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_helpers import TOKEN, ClientFactory
from fastapi.testclient import TestClient

from nomotic_dsl.http import ApiSettings, create_app


@pytest.fixture
def make_client(tmp_path: Path) -> ClientFactory:
    """A TestClient over a fresh app; keyword arguments override the settings."""

    def build(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {"db_path": tmp_path / "contracts.sqlite3", "write_token": TOKEN}
        values.update(overrides)
        return TestClient(create_app(ApiSettings(**values)), raise_server_exceptions=False)

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """The default app: write token set, reads open, no signing key."""
    return make_client()
