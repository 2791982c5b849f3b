"""A sealed example bundle is byte-identical build after build: its digest is pinned.

The digest changes when the compiler version, the code generator, the
example or the bundle format change; each such change is deliberate and is
recorded by rerunning with ``--update-golden``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.compiler.pipeline import build_bundle
from tests.conftest import GoldenCheck

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "customer_support.sha256"


def test_example_bundle_digest_is_pinned(
    golden: GoldenCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(ROOT)
    key = SigningKey(bytes(range(32)))
    data = build_bundle(Path("examples/customer_support/policy.nomo"), key, revision=7)
    assert build_bundle(Path("examples/customer_support/policy.nomo"), key, revision=7) == data
    golden(hashlib.sha256(data).hexdigest() + "\n", GOLDEN)
