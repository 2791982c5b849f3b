"""Fixtures shared by the contract tests: Ed25519 keys."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey(bytes(range(32)))


@pytest.fixture
def other_key() -> SigningKey:
    return SigningKey(bytes(range(1, 33)))
