"""Fixtures shared by the contract tests: Ed25519 keys, and a store location per backend.

``store_location`` runs a test once per backend: in memory (None), an SQLite
file, and a fresh PostgreSQL schema; ``durable_location`` only the two that
outlive their process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.runtime.contracts.backend import StoreLocation


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey(bytes(range(32)))


@pytest.fixture
def other_key() -> SigningKey:
    return SigningKey(bytes(range(1, 33)))


def _location(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation | None:
    if kind == "memory":
        return None
    if kind == "sqlite":
        return tmp_path / "store.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation | None:
    """Where a test's store lives: None (memory), an SQLite file, or a PostgreSQL URL."""
    return _location(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def durable_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """A store location other processes can open too: an SQLite file or a PostgreSQL URL."""
    location = _location(request.param, request, tmp_path)
    assert location is not None
    return location
