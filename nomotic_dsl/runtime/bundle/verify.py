"""Bundle verification: every check that must pass before generated code may run.

Input: bundle bytes, trusted verify keys and the time. Output: a
``VerifiedBundle`` holding the parsed members, or ``BundleError`` naming the
first check that failed. Stage: bundle loading. Nothing here compiles or runs
the generated module; ``loader`` does that only with a ``VerifiedBundle``.

The checks, in order:
1. archive structure (``archive.read_archive``: layout, links, sizes, canonical bytes);
2. the exact member set: every member the manifest lists, plus signatures.json,
   and nothing else (missing, extra and renamed members are refused);
3. every member's size and SHA-256 against the manifest;
4. at least one valid signature from a trusted key over the manifest bytes;
5. format and compiler compatibility;
6. the validity window (``not_before`` <= now < ``expires``);
7. the members' own content: contract, specs, evaluator text.
Anti-rollback comes after these, in ``loader``, because it needs the state file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nacl.signing import VerifyKey

from nomotic_dsl._version import __version__
from nomotic_dsl.ir import InvariantSpec
from nomotic_dsl.runtime.bundle.archive import read_archive
from nomotic_dsl.runtime.bundle.errors import BundleError, refusing_malformed
from nomotic_dsl.runtime.bundle.manifest import (
    CONTRACT_NAME,
    EVALUATOR_NAME,
    FIXED_MEMBERS,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SIGNATURES_NAME,
    SPECS_NAME,
    Manifest,
    load_json_member,
    parse_manifest,
    sources_digest,
)
from nomotic_dsl.runtime.bundle.signing import (
    ManifestSignature,
    parse_signatures,
    verify_signatures,
)


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    """A bundle whose bytes, signatures and metadata have passed every check."""

    manifest: Manifest
    signatures: tuple[ManifestSignature, ...]
    verified_key_ids: tuple[str, ...]
    contract: Mapping[str, Any] | None
    specs: tuple[InvariantSpec, ...]
    evaluator_source: str
    sources: tuple[tuple[str, str], ...]


def verify_bundle_bytes(
    data: bytes, trusted_keys: Sequence[VerifyKey], *, now: float | None = None
) -> VerifiedBundle:
    """Run checks 1-7 on bundle bytes; raise BundleError at the first failure."""
    with refusing_malformed("bundle"):
        return _verify(data, trusted_keys, now)


def _verify(data: bytes, trusted_keys: Sequence[VerifyKey], now: float | None) -> VerifiedBundle:
    members = read_archive(data)
    manifest, signatures = read_envelope(members)
    check_member_set(manifest, members)
    check_digests(manifest, members)
    key_ids = verify_signatures(manifest.to_bytes(), signatures, trusted_keys)
    check_compatibility(manifest)
    check_validity(manifest, time.time() if now is None else now)
    return VerifiedBundle(
        manifest=manifest,
        signatures=signatures,
        verified_key_ids=key_ids,
        contract=parse_contract(members[CONTRACT_NAME]),
        specs=parse_specs(members[SPECS_NAME]),
        evaluator_source=decode_text(members[EVALUATOR_NAME], EVALUATOR_NAME),
        sources=tuple((name, decode_text(members[name], name)) for name in manifest.source_names()),
    )


def read_envelope(members: Mapping[str, bytes]) -> tuple[Manifest, tuple[ManifestSignature, ...]]:
    """The manifest and signatures, which must both be present."""
    for name in (MANIFEST_NAME, SIGNATURES_NAME):
        if name not in members:
            raise BundleError(f"bundle has no {name}")
    return parse_manifest(members[MANIFEST_NAME]), parse_signatures(members[SIGNATURES_NAME])


def check_member_set(manifest: Manifest, members: Mapping[str, bytes]) -> None:
    """The archive holds exactly the listed members plus the envelope."""
    listed = set(manifest.member_names())
    for name in FIXED_MEMBERS:
        if name not in listed:
            raise BundleError(f"{MANIFEST_NAME} does not list the required member {name}")
    if {MANIFEST_NAME, SIGNATURES_NAME} & listed:
        raise BundleError(f"{MANIFEST_NAME} lists a member that cannot be covered by it")
    present = set(members) - {MANIFEST_NAME, SIGNATURES_NAME}
    missing = sorted(listed - present)
    extra = sorted(present - listed)
    if missing:
        raise BundleError(f"bundle is missing member(s): {', '.join(missing)}")
    if extra:
        raise BundleError(f"bundle has member(s) its manifest does not list: {', '.join(extra)}")


def check_digests(manifest: Manifest, members: Mapping[str, bytes]) -> None:
    """Every member's size and SHA-256 match the manifest."""
    for name, expected in manifest.members:
        content = members[name]
        if len(content) != expected.size:
            raise BundleError(
                f"member {name} is {len(content)} bytes, the manifest says {expected.size}"
            )
        if hashlib.sha256(content).hexdigest() != expected.sha256:
            raise BundleError(f"member {name} does not match its SHA-256 in the manifest")
    if sources_digest(members) != manifest.source_digest:
        raise BundleError("the sources do not match the manifest's source_digest")


def check_compatibility(manifest: Manifest) -> None:
    """Same bundle format, and a compiler of the same major.minor as this runtime."""
    if manifest.format != FORMAT_VERSION:
        raise BundleError(
            f"bundle format {manifest.format!r} is not supported (this runtime reads "
            f"{FORMAT_VERSION!r})"
        )
    if _major_minor(manifest.compiler_version) != _major_minor(__version__):
        raise BundleError(
            f"bundle was built by compiler {manifest.compiler_version}; this runtime is "
            f"{__version__} and loads bundles of the same major.minor version only"
        )


def check_validity(manifest: Manifest, now: float) -> None:
    """``not_before`` <= now < ``expires``, each bound only when set."""
    if manifest.not_before is not None and now < manifest.not_before:
        raise BundleError(
            f"bundle is not valid before {format_time(manifest.not_before)} "
            f"(now {format_time(now)})"
        )
    if manifest.expires is not None and now >= manifest.expires:
        raise BundleError(
            f"bundle expired at {format_time(manifest.expires)} (now {format_time(now)})"
        )


def parse_contract(content: bytes) -> Mapping[str, Any] | None:
    """contract.json: a contract object, or null for a policy without a contract."""
    value = _load_json(content, CONTRACT_NAME)
    if value is not None and not isinstance(value, dict):
        raise BundleError(f"{CONTRACT_NAME} must be an object or null")
    return value


def parse_specs(content: bytes) -> tuple[InvariantSpec, ...]:
    """specs.json: a list of valid InvariantSpec dicts with distinct ids."""
    value = _load_json(content, SPECS_NAME)
    if not isinstance(value, list):
        raise BundleError(f"{SPECS_NAME} must be a list of invariant specs")
    specs: list[InvariantSpec] = []
    for index, item in enumerate(value):
        try:
            spec = InvariantSpec.from_dict(item)
        except ValueError as exc:
            raise BundleError(f"{SPECS_NAME}[{index}]: {exc}") from None
        problems = spec.validate()
        if problems:
            raise BundleError(f"{SPECS_NAME}[{index}]: {'; '.join(problems)}")
        specs.append(spec)
    return tuple(specs)


def decode_text(content: bytes, name: str) -> str:
    """A text member as UTF-8."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"member {name} is not UTF-8 text") from None


def format_time(seconds: float) -> str:
    """Unix seconds as an ISO 8601 UTC time, for messages."""
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return f"{seconds:.0f} (Unix seconds)"


def _load_json(content: bytes, name: str) -> Any:
    return load_json_member(content, name)


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])
