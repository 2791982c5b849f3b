"""Policy sets: what one bundle or one compiled policy governs, ready for fresh runtimes.

Input: a path to a sealed bundle (with trusted keys) or to a ``.nomo`` file or
folder (compiled here), and the runtime options. Output: a ``PolicySet``
whose ``runtime()`` gives a new ``FleetRuntime`` over the same generated
modules each time (a test replays every case from a clean state without
generating code again). Stage: shell-side library; the compiler is used only
to turn sources into bundle contents, exactly as ``nomo run FILE.nomo`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from nomotic_dsl.compiler.evaluators import policies_of
from nomotic_dsl.compiler.generate import bundle_contents
from nomotic_dsl.compiler.pipeline import CompileResult, Origin, compile_path, folder_bundle_name
from nomotic_dsl.ir.spec import InvariantSpec
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.loader import load_bundle
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.policy import Policy, make_policy
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime, fleet_digest

BUNDLE_SUFFIX = ".nomob"


class ReplayError(Exception):
    """An input that cannot be replayed: a bundle refused, a policy that cannot be run."""


class PolicyCompileError(ReplayError):
    """A policy with errors; ``result`` holds its diagnostics and sources for rendering."""

    def __init__(self, result: CompileResult) -> None:
        super().__init__(f"{result.root}: the policy has errors")
        self.result = result


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The policies of one bundle or compiled policy, and where their rules were written."""

    name: str
    digest: str
    policies: tuple[Policy, ...]
    config: FleetConfig
    # Invariant id -> where its rule was written (policies compiled here only).
    origins: Mapping[str, Origin] = field(default_factory=lambda: MappingProxyType({}))
    # Source name -> text (policies compiled here only).
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def runtime(self) -> FleetRuntime:
        """A fresh runtime over these policies: no agent seen yet."""
        return FleetRuntime(list(self.policies), self.config, digest=self.digest)

    @property
    def agents(self) -> tuple[str, ...]:
        """The agent ids that have a contract, sorted (empty for a policy without contract)."""
        return tuple(sorted(p.agent_id for p in self.policies if p.agent_id is not None))

    def policy(self, agent_id: str | None) -> Policy | None:
        """The policy an observation of ``agent_id`` goes to, as the runtime routes it.

        The agent-less policy governs any agent; None goes to the only contract.
        """
        if agent_id is None and len(self.policies) == 1:
            return self.policies[0]
        for policy in self.policies:
            if policy.agent_id is None or policy.agent_id == agent_id:
                return policy
        return None

    def specs(self, agent_id: str | None) -> tuple[InvariantSpec, ...]:
        """The invariants ``agent_id`` is held to (none for an agent without policy)."""
        policy = self.policy(agent_id)
        return () if policy is None else policy.specs


def _generated(
    result: CompileResult, config: FleetConfig, name: str | None
) -> tuple[str, list[Policy]]:
    contents = bundle_contents(
        result.contracts, result.invariants, result.sources, result.root, name=name
    )
    return policies_of(contents, config)


def _safe_name(root: str) -> str:
    stem = Path(root).stem
    return re.sub(r"[^A-Za-z0-9._:@-]", "-", stem).strip("-._")[:128] or "policy"


def is_bundle_path(path: Path) -> bool:
    """True for what is read as a sealed bundle (not a .nomo file or a folder)."""
    return not (path.is_dir() or path.suffix == ".nomo")


def compiled_policy_set(
    result: CompileResult, config: FleetConfig, name: str | None = None
) -> PolicySet:
    """The policy set of a successful compilation (PolicyCompileError when it has errors)."""
    if not result.ok:
        raise PolicyCompileError(result)
    try:
        try:
            digest, policies = _generated(result, config, name)
        except BundleError:
            if name is not None:
                raise
            # The default name (the only contract's agent id) is not a valid bundle name:
            # name the replay after the file instead, as `nomo build --name` would.
            digest, policies = _generated(result, config, _safe_name(result.root))
    except (BundleError, ValueError) as exc:
        raise ReplayError(f"{result.root}: {exc}") from None
    return PolicySet(
        name=result.root,
        digest=digest,
        policies=tuple(policies),
        config=config,
        origins=MappingProxyType(dict(result.origins)),
        sources=MappingProxyType(dict(result.sources)),
    )


def load_policy_set(
    target: Path,
    trusted: Sequence[Path],
    config: FleetConfig,
    rollback: Path | None = None,
) -> PolicySet:
    """A verified bundle's policies, or a .nomo file's or folder's, compiled here.

    ReplayError names the problem: a bundle refused (signature, digest,
    validity, rollback), no trusted key for a bundle, a policy that cannot
    be generated; PolicyCompileError carries a policy's diagnostics.
    """
    if not is_bundle_path(target):
        result = compile_path(target)
        name = folder_bundle_name(target) if target.is_dir() else None
        return compiled_policy_set(result, config, name)
    if not trusted:
        raise ReplayError(f"{target}: a bundle is only run with --trust PUBLIC_KEY_FILE")
    try:
        bundle = load_bundle(target, list(trusted), rollback=rollback)
    except BundleError as exc:
        raise ReplayError(f"{target}: refused: {exc}") from None
    try:
        policies = tuple(
            make_policy(policy.contract, policy.module, bundle.digest, config, policy.invariants)
            for policy in bundle.policies
        )
    except ValueError as exc:
        raise ReplayError(f"{target}: {exc}") from None
    return PolicySet(
        name=str(target),
        digest=fleet_digest([bundle.digest]),
        policies=policies,
        config=config,
    )
