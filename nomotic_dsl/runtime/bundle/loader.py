"""Loading sealed bundles: verify, check anti-rollback, then import the evaluator.

Input: a bundle file, trusted keys, the time and an anti-rollback state.
Output: ``LoadedBundle``. Stage: runtime; bundles are written by the
compiler's seal stage (``nomotic_dsl.compiler.seal``) in the format this
package defines.

Loading runs ``verify.verify_bundle_bytes`` (structure, member set, digests,
signatures, compatibility, validity), then the anti-rollback check, and only
then compiles and runs each policy's generated module in a fresh namespace;
the accepted revision is recorded once every module has loaded and its SPECS
matched.

A bundle holds one policy per contract (or one policy without a contract).
``LoadedBundle.policies`` lists them in the manifest's agent order;
``contract``, ``invariants``, ``module``, ``evaluate`` and ``monitor`` are
those of the only policy and raise ``BundleError`` on a bundle of several
(choose one with ``policy(agent_id)``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from nacl.signing import VerifyKey

from nomotic_dsl.ir import BehavioralContract, InvariantSpec
from nomotic_dsl.ir.agent_id import AgentIdError, normalize_agent_id
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
    EVALUATOR_NAME,
    SPECS_NAME,
    Manifest,
)
from nomotic_dsl.runtime.bundle.rollback import RollbackState
from nomotic_dsl.runtime.bundle.verify import (
    VerifiedBundle,
    VerifiedPolicy,
    only_policy,
    verify_bundle_bytes,
)
from nomotic_dsl.runtime.interpreter import BehavioralState, InvariantResult, coerce_state

TrustSource = VerifyKey | bytes | str | os.PathLike[str]
RollbackSource = RollbackState | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class BundleChecks:
    """What a runner pins about a bundle it loads (``nomo run``, the Flink client).

    ``state_path`` is the anti-rollback state file (``load_bundle``'s
    ``rollback``), ``init_state`` lets a missing one count as empty
    (``initialise_rollback``), and ``agent`` and ``name`` are the manifest's
    expected agent id and bundle name (``expect_agent``, ``expect_name``).
    """

    state_path: Path | None = None
    init_state: bool = False
    agent: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """One policy of a loaded bundle: its contract and its generated evaluator module."""

    verified: VerifiedPolicy
    contract: BehavioralContract | None
    module: ModuleType

    @property
    def agent_id(self) -> str | None:
        """The contract's agent id, or None for a policy without a contract."""
        return self.verified.agent_id

    @property
    def invariants(self) -> tuple[InvariantSpec, ...]:
        """The specs from specs.json, which the module's SPECS were checked against."""
        return self.verified.specs

    def evaluate(self, state: BehavioralState | Mapping[str, Any]) -> list[InvariantResult]:
        """Snapshot evaluation by the generated module, one result per invariant."""
        return list(self.module.evaluate(coerce_state(state)))

    def monitor(self, **options: Any) -> PolicyMonitor:
        """A fresh streaming monitor: ``observe(observation) -> list[InvariantResult]``.

        ``options`` go to the generated ``Monitor`` (``session_idle_seconds``).
        """
        monitor: PolicyMonitor = self.module.Monitor(**options)
        return monitor


@dataclass(frozen=True, slots=True)
class LoadedBundle:
    """A verified bundle with each policy's generated evaluator loaded in a fresh module."""

    verified: VerifiedBundle
    policies: tuple[LoadedPolicy, ...]

    @property
    def manifest(self) -> Manifest:
        """The signed manifest."""
        return self.verified.manifest

    @property
    def digest(self) -> str:
        """The manifest's SHA-256 (``manifest_sha256`` in ``nomo inspect --format json``)."""
        return self.verified.manifest.sha256()

    @property
    def agents(self) -> tuple[str, ...]:
        """The agent ids of the bundle's contracts, sorted (empty without a contract)."""
        return self.verified.manifest.agents

    def policy(self, agent_id: str | None = None) -> LoadedPolicy:
        """The policy of ``agent_id``, or the only one; BundleError when there is none."""
        if agent_id is None:
            return only_policy(self.policies, self.manifest)
        for policy in self.policies:
            if policy.agent_id == agent_id:
                return policy
        known = ", ".join(self.agents) or "none"
        raise BundleError(
            f"bundle {self.manifest.name} has no contract for agent {agent_id!r} "
            f"(contracts: {known})"
        )

    @property
    def contract(self) -> BehavioralContract | None:
        """The only policy's contract (None for a bundle without a contract)."""
        return self.policy().contract

    @property
    def module(self) -> ModuleType:
        """The only policy's generated module."""
        return self.policy().module

    @property
    def invariants(self) -> tuple[InvariantSpec, ...]:
        """The only policy's specs."""
        return self.policy().invariants

    def evaluate(self, state: BehavioralState | Mapping[str, Any]) -> list[InvariantResult]:
        """Snapshot evaluation by the only policy's generated module."""
        return self.policy().evaluate(state)

    def monitor(self, **options: Any) -> PolicyMonitor:
        """A fresh streaming monitor of the only policy."""
        return self.policy().monitor(**options)


def read_bundle_file(path: str | os.PathLike[str]) -> bytes:
    """Read a bundle file; refuse what is not a regular file or too large, before reading it.

    The file is opened without blocking (a FIFO cannot stall the reader), its
    type and size are taken from the open descriptor (so they describe what
    is read, not whatever the path names a moment later), and the read itself
    stops one byte past the limit, so a file that grows meanwhile is refused
    too. A device (``/dev/zero``), FIFO, socket or directory is refused
    before a byte is read.
    """
    bundle_path = Path(path)
    try:
        fd = os.open(bundle_path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BundleError(f"cannot read bundle {bundle_path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(
                f"{bundle_path} is not a regular file ({_file_kind(info.st_mode)}); "
                "a bundle is read only from a regular file"
            )
        if info.st_size > MAX_BUNDLE_BYTES:
            raise BundleError(
                f"{bundle_path} is {info.st_size} bytes, more than a bundle may be "
                f"({MAX_BUNDLE_BYTES})"
            )
        data = _read_at_most(fd, MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise BundleError(f"cannot read bundle {bundle_path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"{bundle_path} grew past {MAX_BUNDLE_BYTES} bytes while being read")
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(1024 * 1024, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    for test, kind in kinds:
        if test(mode):
            return kind
    return "not a plain file"


def verify_bundle(
    path: str | os.PathLike[str],
    trusted_keys: TrustSource | Iterable[TrustSource],
    *,
    now: float | None = None,
    expect_agent: str | None = None,
    expect_name: str | None = None,
) -> VerifiedBundle:
    """Every check that needs no state file, without running any generated code.

    ``expect_agent`` / ``expect_name``: refuse a bundle (validly signed or
    not) whose manifest names another agent or another bundle name, so a
    runtime deployed for one agent cannot be handed another agent's bundle.
    """
    verified = verify_bundle_bytes(read_bundle_file(path), trusted_keys_from(trusted_keys), now=now)
    check_expected(verified.manifest, expect_agent=expect_agent, expect_name=expect_name)
    return verified


def load_bundle(
    path: str | os.PathLike[str],
    trusted_keys: TrustSource | Iterable[TrustSource],
    *,
    now: float | None = None,
    rollback: RollbackSource | None = None,
    initialise_rollback: bool = False,
    expect_agent: str | None = None,
    expect_name: str | None = None,
) -> LoadedBundle:
    """Verify a bundle, then load its evaluator; BundleError (and nothing run) on failure.

    ``rollback`` is the anti-rollback state (a ``RollbackState`` or a path to
    its file); without one, revisions are not compared with earlier loads. A
    state file path that does not exist is refused unless
    ``initialise_rollback`` is true (a first deployment), which creates it.
    ``expect_agent`` / ``expect_name`` pin the agent id and bundle name the
    manifest must carry (see ``verify_bundle``).
    """
    verified = verify_bundle(
        path, trusted_keys, now=now, expect_agent=expect_agent, expect_name=expect_name
    )
    return load_verified(verified, rollback_state_from(rollback, create=initialise_rollback))


def load_bundle_bytes(
    data: bytes,
    trusted_keys: TrustSource | Iterable[TrustSource],
    *,
    now: float | None = None,
    expect_agent: str | None = None,
    expect_name: str | None = None,
) -> LoadedBundle:
    """``load_bundle`` for bundle bytes already in memory (a job shipped to workers).

    The same checks in the same order (structure, digests, signatures against
    ``trusted_keys``, compatibility, validity, expected agent and name), then
    each module is loaded; BundleError, and nothing run, on failure. No
    anti-rollback state: that is the caller's, checked where the bytes came from.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is {len(data)} bytes, more than a bundle may be")
    verified = verify_bundle_bytes(data, trusted_keys_from(trusted_keys), now=now)
    check_expected(verified.manifest, expect_agent=expect_agent, expect_name=expect_name)
    return load_verified(verified, None)


def load_verified(verified: VerifiedBundle, state: RollbackState | None) -> LoadedBundle:
    """Load the modules of a verified bundle, checking and recording ``state`` around it."""
    contracts = [
        contract_from(policy.contract, policy.member(CONTRACT_NAME)) for policy in verified.policies
    ]
    for policy, contract in zip(verified.policies, contracts, strict=True):
        if contract is not None and contract.invariant_specs() != policy.specs:
            raise BundleError(
                f"{policy.member(SPECS_NAME)} differs from the invariants of "
                f"{policy.member(CONTRACT_NAME)}"
            )
    if state is not None:
        state.check(verified.manifest)
    policies = tuple(
        LoadedPolicy(
            verified=policy,
            contract=contract,
            module=instantiate_evaluator(
                policy.evaluator_source,
                evaluator_filename(verified.manifest.name, policy.member(EVALUATOR_NAME)),
                policy.specs,
            ),
        )
        for policy, contract in zip(verified.policies, contracts, strict=True)
    )
    if state is not None:
        state.accept(verified.manifest)
    return LoadedBundle(verified=verified, policies=policies)


def check_expected(
    manifest: Manifest, *, expect_agent: str | None = None, expect_name: str | None = None
) -> None:
    """Refuse a manifest for another agent or bundle name than the caller expects."""
    if expect_name is not None and manifest.name != expect_name:
        raise BundleError(f"bundle is named {manifest.name!r}, not the expected {expect_name!r}")
    if expect_agent is not None:
        try:
            expected = normalize_agent_id(expect_agent)
        except AgentIdError as exc:
            raise BundleError(f"the expected agent is not a valid agent id: {exc}") from None
        if expected not in manifest.agents:
            found = ", ".join(repr(agent) for agent in manifest.agents) or "no agent"
            raise BundleError(f"bundle is for {found}, not the expected agent {expected!r}")


def contract_from(
    data: Mapping[str, Any] | None, name: str = CONTRACT_NAME
) -> BehavioralContract | None:
    """The contract in contract.json, checked like any contract."""
    if data is None:
        return None
    try:
        return BehavioralContract.from_dict(data)
    except ValueError as exc:
        raise BundleError(f"{name} is not a valid contract: {exc}") from None


def trusted_keys_from(keys: TrustSource | Iterable[TrustSource]) -> list[VerifyKey]:
    """Trusted keys given as objects, 32 raw bytes, or public key file paths."""
    items: Iterable[TrustSource] = (
        [keys] if isinstance(keys, VerifyKey | bytes | str | os.PathLike) else keys
    )
    return [_trusted_key(key) for key in items]


def rollback_state_from(
    rollback: RollbackSource | None, *, create: bool = False
) -> RollbackState | None:
    """A RollbackState from an object or a state file path (``create``: a missing file is empty)."""
    if rollback is None or isinstance(rollback, RollbackState):
        return rollback
    return RollbackState(rollback, create=create)


def _trusted_key(key: TrustSource) -> VerifyKey:
    if isinstance(key, VerifyKey):
        return key
    if isinstance(key, bytes):
        if len(key) != 32:
            raise BundleError(f"a trusted key must be 32 bytes, not {len(key)}")
        return VerifyKey(key)
    return load_verify_key(key)
