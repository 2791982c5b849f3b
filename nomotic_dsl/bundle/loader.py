"""Building sealed bundles from prepared contents, and loading them back verified.

Input (build): ``BundleContents`` (contract, specs, generated evaluator source,
policy sources), signing keys, revision and validity window. Output: bundle
bytes, optionally written atomically to a file. Input (load): a bundle file,
trusted keys, the time and an anti-rollback state. Output: ``LoadedBundle``.
Stage: the last stage; ``nomotic_dsl.bundle.build`` feeds it from the compiler.

Loading runs ``verify.verify_bundle_bytes`` (structure, member set, digests,
signatures, compatibility, validity), then the anti-rollback check, and only
then compiles and runs the generated module in a fresh namespace; the accepted
revision is recorded once the module has loaded and its SPECS matched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from nomotic_dsl._version import __version__
from nomotic_dsl.bundle.archive import MAX_BUNDLE_BYTES, write_archive
from nomotic_dsl.bundle.errors import BundleError
from nomotic_dsl.bundle.evaluator import PolicyMonitor, evaluator_filename, instantiate_evaluator
from nomotic_dsl.bundle.keys import load_signing_key, load_verify_key, write_private_file
from nomotic_dsl.bundle.manifest import (
    CONTRACT_NAME,
    EVALUATOR_NAME,
    MANIFEST_NAME,
    SIGNATURES_NAME,
    SOURCES_DIR,
    SPECS_NAME,
    Manifest,
    make_manifest,
)
from nomotic_dsl.bundle.rollback import RollbackState
from nomotic_dsl.bundle.signing import sign_manifest, signatures_to_bytes
from nomotic_dsl.bundle.verify import VerifiedBundle, verify_bundle_bytes
from nomotic_dsl.canonical import canonical_json
from nomotic_dsl.contracts import BehavioralContract
from nomotic_dsl.invariants import BehavioralState, InvariantResult, InvariantSpec, coerce_state

KeySource = SigningKey | str | os.PathLike[str]
TrustSource = VerifyKey | bytes | str | os.PathLike[str]
RollbackSource = RollbackState | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class BundleContents:
    """Everything a bundle holds besides its manifest and signatures."""

    name: str
    agent_id: str | None
    contract: Mapping[str, Any] | None
    specs: tuple[InvariantSpec, ...]
    evaluator_source: str
    # (relative name, text); stored as sources/<relative name>.
    sources: tuple[tuple[str, str], ...]

    def members(self) -> dict[str, bytes]:
        """Member name -> content, for every member the manifest lists."""
        members = {
            CONTRACT_NAME: canonical_json(self.contract) + b"\n",
            SPECS_NAME: canonical_json([spec.to_dict() for spec in self.specs]) + b"\n",
            EVALUATOR_NAME: self.evaluator_source.encode("utf-8"),
        }
        for relative_name, text in self.sources:
            member = SOURCES_DIR + relative_name
            if member in members:
                raise BundleError(f"two sources would both be stored as {member}")
            members[member] = text.encode("utf-8")
        return members


@dataclass(frozen=True, slots=True)
class LoadedBundle:
    """A verified bundle with its generated evaluator loaded in a fresh module."""

    verified: VerifiedBundle
    contract: BehavioralContract | None
    module: ModuleType

    @property
    def manifest(self) -> Manifest:
        """The signed manifest."""
        return self.verified.manifest

    @property
    def invariants(self) -> tuple[InvariantSpec, ...]:
        """The specs from specs.json, which the module's SPECS were checked against."""
        return self.verified.specs

    def evaluate(self, state: BehavioralState | Mapping[str, Any]) -> list[InvariantResult]:
        """Snapshot evaluation by the generated module, one result per invariant."""
        return list(self.module.evaluate(coerce_state(state)))

    def monitor(self) -> PolicyMonitor:
        """A fresh streaming monitor: ``observe(observation) -> list[InvariantResult]``."""
        monitor: PolicyMonitor = self.module.Monitor()
        return monitor


def assemble_bundle(
    contents: BundleContents,
    signing_keys: KeySource | Sequence[KeySource],
    *,
    revision: int = 1,
    not_before: int | None = None,
    expires: int | None = None,
) -> bytes:
    """Seal ``contents``: manifest, signatures, deterministic archive bytes."""
    members = contents.members()
    manifest = make_manifest(
        name=contents.name,
        agent_id=contents.agent_id,
        revision=revision,
        not_before=not_before,
        expires=expires,
        compiler_version=__version__,
        members=members,
    )
    manifest_bytes = manifest.to_bytes()
    signatures = sign_manifest(manifest_bytes, signing_keys_from(signing_keys))
    members[MANIFEST_NAME] = manifest_bytes
    members[SIGNATURES_NAME] = signatures_to_bytes(signatures)
    return write_archive(members)


def write_bundle_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bundle bytes atomically (temporary file, then rename)."""
    try:
        write_private_file(Path(path), data, 0o644)
    except OSError as exc:
        raise BundleError(f"cannot write bundle {path}: {exc.strerror or exc}") from None


def read_bundle_file(path: str | os.PathLike[str]) -> bytes:
    """Read a bundle file, refusing one too large to be a bundle before reading it."""
    bundle_path = Path(path)
    try:
        size = bundle_path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{bundle_path} is {size} bytes, more than a bundle may be")
        return bundle_path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read bundle {bundle_path}: {exc.strerror or exc}") from None


def verify_bundle(
    path: str | os.PathLike[str],
    trusted_keys: TrustSource | Iterable[TrustSource],
    *,
    now: float | None = None,
) -> VerifiedBundle:
    """Every check that needs no state file, without running any generated code."""
    return verify_bundle_bytes(read_bundle_file(path), trusted_keys_from(trusted_keys), now=now)


def load_bundle(
    path: str | os.PathLike[str],
    trusted_keys: TrustSource | Iterable[TrustSource],
    *,
    now: float | None = None,
    rollback: RollbackSource | None = None,
) -> LoadedBundle:
    """Verify a bundle, then load its evaluator; BundleError (and nothing run) on failure.

    ``rollback`` is the anti-rollback state (a ``RollbackState`` or a path to
    its file); without one, revisions are not compared with earlier loads.
    """
    verified = verify_bundle(path, trusted_keys, now=now)
    contract = contract_from(verified.contract)
    state = rollback_state_from(rollback)
    if state is not None:
        state.check(verified.manifest)
    module = instantiate_evaluator(
        verified.evaluator_source, evaluator_filename(verified.manifest.name), verified.specs
    )
    if state is not None:
        state.accept(verified.manifest)
    return LoadedBundle(verified=verified, contract=contract, module=module)


def contract_from(data: Mapping[str, Any] | None) -> BehavioralContract | None:
    """The contract in contract.json, checked like any contract."""
    if data is None:
        return None
    try:
        return BehavioralContract.from_dict(data)
    except ValueError as exc:
        raise BundleError(f"{CONTRACT_NAME} is not a valid contract: {exc}") from None


def signing_keys_from(keys: KeySource | Sequence[KeySource]) -> list[SigningKey]:
    """Signing keys given as objects or secret key file paths."""
    items: Sequence[KeySource] = (
        [keys] if isinstance(keys, SigningKey | str | os.PathLike) else keys
    )
    return [key if isinstance(key, SigningKey) else load_signing_key(key) for key in items]


def trusted_keys_from(keys: TrustSource | Iterable[TrustSource]) -> list[VerifyKey]:
    """Trusted keys given as objects, 32 raw bytes, or public key file paths."""
    items: Iterable[TrustSource] = (
        [keys] if isinstance(keys, VerifyKey | bytes | str | os.PathLike) else keys
    )
    return [_trusted_key(key) for key in items]


def rollback_state_from(rollback: RollbackSource | None) -> RollbackState | None:
    """A RollbackState from an object or a state file path."""
    if rollback is None or isinstance(rollback, RollbackState):
        return rollback
    return RollbackState(rollback)


def _trusted_key(key: TrustSource) -> VerifyKey:
    if isinstance(key, VerifyKey):
        return key
    if isinstance(key, bytes):
        if len(key) != 32:
            raise BundleError(f"a trusted key must be 32 bytes, not {len(key)}")
        return VerifyKey(key)
    return load_verify_key(key)
