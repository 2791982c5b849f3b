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
7. the members' own content: each policy's contract (for the agent the
   manifest names at its index), specs and evaluator text.
Anti-rollback comes after these, in ``loader``, because it needs the state file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from nacl.signing import VerifyKey

from nomotic_dsl._version import __version__
from nomotic_dsl.ir import InvariantSpec
from nomotic_dsl.runtime.bundle.archive import read_archive
from nomotic_dsl.runtime.bundle.errors import BundleError, refusing_malformed
from nomotic_dsl.runtime.bundle.manifest import (
    CONTRACT_NAME,
    EVALUATOR_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SIGNATURES_NAME,
    SOURCES_DIR,
    SPECS_NAME,
    Manifest,
    load_json_member,
    parse_manifest,
    policy_member,
    sources_digest,
)
from nomotic_dsl.runtime.bundle.signing import (
    ManifestSignature,
    parse_signatures,
    verify_signatures,
)


@dataclass(frozen=True, slots=True)
class VerifiedPolicy:
    """One policy of a verified bundle: its contract (or None), specs and evaluator source."""

    index: int
    agent_id: str | None
    contract: Mapping[str, Any] | None
    specs: tuple[InvariantSpec, ...]
    evaluator_source: str

    def member(self, file: str) -> str:
        """The member name of one of this policy's files."""
        return policy_member(self.index, file)


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    """A bundle whose bytes, signatures and metadata have passed every check."""

    manifest: Manifest
    signatures: tuple[ManifestSignature, ...]
    verified_key_ids: tuple[str, ...]
    policies: tuple[VerifiedPolicy, ...]
    sources: tuple[tuple[str, str], ...]

    @property
    def only_policy(self) -> VerifiedPolicy:
        """The bundle's policy when it holds exactly one; BundleError when it holds several."""
        return only_policy(self.policies, self.manifest)

    @property
    def contract(self) -> Mapping[str, Any] | None:
        """The only policy's contract.json (None for a bundle without a contract)."""
        return self.only_policy.contract

    @property
    def specs(self) -> tuple[InvariantSpec, ...]:
        """The only policy's specs."""
        return self.only_policy.specs

    @property
    def evaluator_source(self) -> str:
        """The only policy's generated evaluator source."""
        return self.only_policy.evaluator_source


PolicyT = TypeVar("PolicyT")


def only_policy(policies: Sequence[PolicyT], manifest: Manifest) -> PolicyT:
    """The one policy of a bundle; BundleError naming the agents when there are several."""
    if len(policies) != 1:
        raise BundleError(
            f"bundle {manifest.name} holds {len(policies)} contracts "
            f"({', '.join(manifest.agents)}); choose one by agent id"
        )
    return policies[0]


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
        policies=read_policies(manifest, members),
        sources=tuple((name, decode_text(members[name], name)) for name in manifest.source_names()),
    )


def read_policies(manifest: Manifest, members: Mapping[str, bytes]) -> tuple[VerifiedPolicy, ...]:
    """Every policy's members, parsed; policy ``i`` must be the contract of ``agents[i]``."""
    policies = []
    for index in range(manifest.policy_count):
        agent = manifest.agents[index] if manifest.agents else None
        contract_name = policy_member(index, CONTRACT_NAME)
        contract = parse_contract(members[contract_name], contract_name)
        found = None if contract is None else contract.get("agent_id")
        if found != agent:
            expected = "null" if agent is None else f"the contract of agent {agent!r}"
            raise BundleError(
                f"{contract_name} must hold {expected} (the manifest's agents), "
                f"not {'null' if contract is None else repr(found)}"
            )
        specs_name = policy_member(index, SPECS_NAME)
        evaluator_name = policy_member(index, EVALUATOR_NAME)
        policies.append(
            VerifiedPolicy(
                index=index,
                agent_id=agent,
                contract=contract,
                specs=parse_specs(members[specs_name], specs_name),
                evaluator_source=decode_text(members[evaluator_name], evaluator_name),
            )
        )
    return tuple(policies)


def read_envelope(members: Mapping[str, bytes]) -> tuple[Manifest, tuple[ManifestSignature, ...]]:
    """The manifest and signatures, which must both be present."""
    for name in (MANIFEST_NAME, SIGNATURES_NAME):
        if name not in members:
            raise BundleError(f"bundle has no {name}")
    return parse_manifest(members[MANIFEST_NAME]), parse_signatures(members[SIGNATURES_NAME])


def check_member_set(manifest: Manifest, members: Mapping[str, bytes]) -> None:
    """The archive holds exactly the listed members plus the envelope."""
    listed = set(manifest.member_names())
    required = set(manifest.required_members())
    for name in manifest.required_members():
        if name not in listed:
            raise BundleError(f"{MANIFEST_NAME} does not list the required member {name}")
    if {MANIFEST_NAME, SIGNATURES_NAME} & listed:
        raise BundleError(f"{MANIFEST_NAME} lists a member that cannot be covered by it")
    stray = sorted(name for name in listed - required if not name.startswith(SOURCES_DIR))
    if stray:
        raise BundleError(
            f"{MANIFEST_NAME} lists member(s) of no policy it declares: {', '.join(stray)}"
        )
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


def parse_contract(content: bytes, name: str = CONTRACT_NAME) -> Mapping[str, Any] | None:
    """contract.json: a contract object, or null for a policy without a contract."""
    value = _load_json(content, name)
    if value is not None and not isinstance(value, dict):
        raise BundleError(f"{name} must be an object or null")
    return value


def parse_specs(content: bytes, name: str = SPECS_NAME) -> tuple[InvariantSpec, ...]:
    """specs.json: a list of valid InvariantSpec dicts with distinct ids."""
    value = _load_json(content, name)
    if not isinstance(value, list):
        raise BundleError(f"{name} must be a list of invariant specs")
    specs: list[InvariantSpec] = []
    for index, item in enumerate(value):
        try:
            spec = InvariantSpec.from_dict(item)
        except ValueError as exc:
            raise BundleError(f"{name}[{index}]: {exc}") from None
        problems = spec.validate()
        if problems:
            raise BundleError(f"{name}[{index}]: {'; '.join(problems)}")
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
