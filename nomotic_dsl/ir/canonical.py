"""Canonical JSON: the one byte form used for digests, ids and signatures.

UTF-8, keys sorted, no insignificant whitespace, floats in Python's shortest
round-trip form, and no NaN or infinity (which JSON cannot carry).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Serialise a JSON-clean value to its canonical bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_digest(value: Any) -> str:
    """SHA-256 hex digest of the canonical form."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
