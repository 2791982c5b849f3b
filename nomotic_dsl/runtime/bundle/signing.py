"""Signatures over the canonical manifest bytes: make them, read them, check them.

Input: manifest bytes and signing keys (sealing), or signatures.json and
trusted verify keys (checking). Output: signatures.json bytes, or the key ids
whose signatures verified. Stage: sealed bundle.

signatures.json is a canonical JSON list of ``{"key_id", "signature"}``
objects sorted by key id; the signature is 128 hex characters of an Ed25519
signature over ``DOMAIN + manifest bytes``. The domain prefix keeps a bundle
signature from ever being valid as a signature over anything else signed with
the same key (a sealed contract, say). Several signatures let a new key sign
alongside the old one while runtimes move their trust over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.keys import key_id
from nomotic_dsl.runtime.bundle.manifest import SIGNATURES_NAME, load_json_member

DOMAIN = b"nomo-bundle-manifest/1\x00"
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIGNATURE_HEX = re.compile(r"[0-9a-f]{128}")
# Far more than any key rotation needs; bounds the work of checking them.
MAX_SIGNATURES = 64


@dataclass(frozen=True, slots=True)
class ManifestSignature:
    """One Ed25519 signature over the manifest, and the id of the key that made it."""

    key_id: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"key_id": ..., "signature": ...}``."""
        return {"key_id": self.key_id, "signature": self.signature}


def sign_manifest(
    manifest_bytes: bytes, signing_keys: Sequence[SigningKey]
) -> tuple[ManifestSignature, ...]:
    """Sign with every key, sorted by key id; the same key twice is refused."""
    if not signing_keys:
        raise BundleError("a bundle needs at least one signing key")
    signatures = [
        ManifestSignature(
            key_id(signing_key.verify_key),
            signing_key.sign(DOMAIN + manifest_bytes).signature.hex(),
        )
        for signing_key in signing_keys
    ]
    ids = [signature.key_id for signature in signatures]
    if len(set(ids)) != len(ids):
        raise BundleError("the same signing key was given more than once")
    return tuple(sorted(signatures, key=lambda signature: signature.key_id))


def signatures_to_bytes(signatures: Iterable[ManifestSignature]) -> bytes:
    """The content of signatures.json."""
    return canonical_json([signature.to_dict() for signature in signatures])


def parse_signatures(content: bytes) -> tuple[ManifestSignature, ...]:
    """Read signatures.json; refuse anything malformed, duplicated or not canonical."""
    raw = load_json_member(content, SIGNATURES_NAME)
    if not isinstance(raw, list):
        raise BundleError(f"{SIGNATURES_NAME} must be a list")
    if len(raw) > MAX_SIGNATURES:
        raise BundleError(f"{SIGNATURES_NAME} holds more than {MAX_SIGNATURES} signatures")
    signatures = tuple(_parse_entry(index, entry) for index, entry in enumerate(raw))
    ids = [signature.key_id for signature in signatures]
    if len(set(ids)) != len(ids):
        raise BundleError(f"{SIGNATURES_NAME} has more than one signature from the same key")
    if signatures_to_bytes(sorted(signatures, key=lambda s: s.key_id)) != content:
        raise BundleError(f"{SIGNATURES_NAME} is not in canonical form")
    return signatures


def verify_signatures(
    manifest_bytes: bytes,
    signatures: Sequence[ManifestSignature],
    trusted_keys: Sequence[VerifyKey],
) -> tuple[str, ...]:
    """Key ids of trusted keys whose signatures verify; refuse when there is none.

    A signature from a trusted key that does not verify refuses the bundle
    even when another trusted signature is good: it means the manifest or the
    signature was altered. Signatures by keys not trusted here cannot be
    checked and are ignored (they are there for runtimes that trust them).
    """
    if not signatures:
        raise BundleError("bundle carries no signatures")
    if not trusted_keys:
        raise BundleError("no trusted keys were given, so no signature can be accepted")
    trusted = {key_id(verify_key): verify_key for verify_key in trusted_keys}
    verified: list[str] = []
    for signature in signatures:
        verify_key = trusted.get(signature.key_id)
        if verify_key is None:
            continue
        try:
            verify_key.verify(DOMAIN + manifest_bytes, bytes.fromhex(signature.signature))
        except BadSignatureError:
            raise BundleError(
                f"signature by key {signature.key_id} does not match the manifest"
            ) from None
        verified.append(signature.key_id)
    if not verified:
        signed_by = ", ".join(signature.key_id for signature in signatures)
        raise BundleError(
            f"no signature from a trusted key (signed by {signed_by}; "
            f"trusted: {', '.join(sorted(trusted))})"
        )
    return tuple(verified)


def _parse_entry(index: int, entry: Any) -> ManifestSignature:
    where = f"{SIGNATURES_NAME}[{index}]"
    if not isinstance(entry, dict) or set(entry) != {"key_id", "signature"}:
        raise BundleError(f"{where} must have exactly key_id and signature")
    if not isinstance(entry["key_id"], str) or not _KEY_ID.fullmatch(entry["key_id"]):
        raise BundleError(f"{where}.key_id must be 16 lowercase hex characters")
    if not isinstance(entry["signature"], str) or not _SIGNATURE_HEX.fullmatch(entry["signature"]):
        raise BundleError(f"{where}.signature must be 128 lowercase hex characters")
    return ManifestSignature(entry["key_id"], entry["signature"])
