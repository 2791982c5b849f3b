"""Loading sealed bundles: verify, check anti-rollback, then import the evaluator.

Input: a bundle file, trusted keys, the time and an anti-rollback state.
Output: ``LoadedBundle``. Stage: runtime; bundles are written by the
compiler's seal stage (``nomotic_dsl.compiler.seal``) in the format this
package defines.

Loading runs ``verify.verify_bundle_bytes`` (structure, member set, digests,
signatures, compatibility, validity), then the anti-rollback check, and only
then compiles and runs the generated module in a fresh namespace; the accepted
revision is recorded once the module has loaded and its SPECS matched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from nacl.signing import VerifyKey

from nomotic_dsl.ir import BehavioralContract, InvariantSpec
from nomotic_dsl.runtime.bundle.archive import MAX_BUNDLE_BYTES
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.evaluator import (
    PolicyMonitor,
    evaluator_filename,
    instantiate_evaluator,
)
from nomotic_dsl.runtime.bundle.keys import load_verify_key
from nomotic_dsl.runtime.bundle.manifest import (
    CONTRACT_NAME,
    Manifest,
)
from nomotic_dsl.runtime.bundle.rollback import RollbackState
from nomotic_dsl.runtime.bundle.verify import VerifiedBundle, verify_bundle_bytes
from nomotic_dsl.runtime.interpreter import BehavioralState, InvariantResult, coerce_state

TrustSource = VerifyKey | bytes | str | os.PathLike[str]
RollbackSource = RollbackState | str | os.PathLike[str]


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
