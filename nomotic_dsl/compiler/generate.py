"""The generate stage: the spec IR of a policy -> the contents of its bundle.

Input: ``Lowered`` (specs, contracts, sources). Output: ``GeneratedPolicy``:
one ``PolicyContents`` per contract (the contract, its specs and its own
generated evaluator module's source) and the policy sources under
bundle-relative names (``BundleContents``); no contents when the program has
errors.

Decisions where the spec is silent:
- a bundle holds every contract the program declares, one policy (contract,
  specs, generated evaluator) per contract, sorted by agent id;
  ``BuildOptions.agent`` seals only that agent's contract. Without a
  contract, the bundle holds one policy whose specs are every invariant the
  program compiles to;
- one generated module per contract, not one module for all: each is the
  same module the code generator writes for a single contract, loaded in its
  own namespace, so contracts never share state or globals;
- sources are stored under names relative to the root file's directory, so
  the bundle does not depend on the directory the build ran from; standard
  library files keep their ``std/`` names, files outside the root file's
  directory go under ``external/``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from nomotic_dsl.compiler.codegen import generate_module
from nomotic_dsl.compiler.lower import Lowered
from nomotic_dsl.compiler.semantics.imports import STD_PREFIX
from nomotic_dsl.ir import BehavioralContract, InvariantSpec
from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.manifest import (
    CONTRACT_NAME,
    EVALUATOR_NAME,
    MAX_POLICIES,
    SOURCES_DIR,
    SPECS_NAME,
    policy_member,
    sources_digest,
)

_UNSAFE_SEGMENT_CHARS = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass(frozen=True, slots=True)
class PolicyContents:
    """One policy of a bundle: a contract (or None), its specs, its generated evaluator."""

    agent_id: str | None
    contract: Mapping[str, Any] | None
    specs: tuple[InvariantSpec, ...]
    evaluator_source: str


@dataclass(frozen=True, slots=True)
class BundleContents:
    """Everything a bundle holds besides its manifest and signatures.

    ``policies`` are sorted by agent id: one per contract, or exactly one
    without a contract.
    """

    name: str
    policies: tuple[PolicyContents, ...]
    # (relative name, text); stored as sources/<relative name>.
    sources: tuple[tuple[str, str], ...]

    @property
    def agents(self) -> tuple[str, ...]:
        """The agent ids of the contracts, in policy order (empty without a contract)."""
        return tuple(policy.agent_id for policy in self.policies if policy.agent_id is not None)

    @property
    def only(self) -> PolicyContents:
        """The only policy; BundleError when there are several."""
        if len(self.policies) != 1:
            raise BundleError(
                f"the bundle holds {len(self.policies)} contracts; choose one with --agent"
            )
        return self.policies[0]

    @property
    def evaluator_source(self) -> str:
        """The only policy's generated evaluator source."""
        return self.only.evaluator_source

    @property
    def specs(self) -> tuple[InvariantSpec, ...]:
        """The only policy's specs."""
        return self.only.specs

    def check(self) -> None:
        """Refuse contents the runtime would refuse: policies out of order, too many, mixed."""
        agents = [policy.agent_id for policy in self.policies]
        if not self.policies:
            raise BundleError("a bundle needs at least one policy")
        if len(self.policies) > MAX_POLICIES:
            raise BundleError(
                f"{len(self.policies)} contracts are more than the {MAX_POLICIES} a bundle may hold"
            )
        if None in agents and len(agents) > 1:
            raise BundleError("a policy without a contract must be a bundle's only policy")
        named = [agent for agent in agents if agent is not None]
        if named != sorted(set(named)):
            raise BundleError("a bundle's contracts must be for distinct agents, sorted by id")

    def members(self) -> dict[str, bytes]:
        """Member name -> content, for every member the manifest lists."""
        self.check()
        members: dict[str, bytes] = {}
        for index, policy in enumerate(self.policies):
            members[policy_member(index, CONTRACT_NAME)] = canonical_json(policy.contract) + b"\n"
            members[policy_member(index, SPECS_NAME)] = (
                canonical_json([spec.to_dict() for spec in policy.specs]) + b"\n"
            )
            members[policy_member(index, EVALUATOR_NAME)] = policy.evaluator_source.encode("utf-8")
        for relative_name, text in self.sources:
            member = SOURCES_DIR + relative_name
            if member in members:
                raise BundleError(f"two sources would both be stored as {member}")
            members[member] = text.encode("utf-8")
        return members


@dataclass(frozen=True, slots=True)
class GeneratedPolicy:
    """The generate stage's output: the bundle contents, or None when the program has errors."""

    lowered: Lowered
    contents: BundleContents | None

    @property
    def ok(self) -> bool:
        """True when the program compiled and its contents were generated."""
        return self.contents is not None


def generate_policy(lowered: Lowered) -> GeneratedPolicy:
    """The bundle contents of a lowered program (BundleError when no contract can be chosen)."""
    if not lowered.ok:
        return GeneratedPolicy(lowered, None)
    options = lowered.loaded.request.build
    root = lowered.loaded.request.source.name
    return GeneratedPolicy(
        lowered,
        bundle_contents(
            lowered.contracts,
            [item.spec for item in lowered.invariants],
            {name: source.text for name, source in lowered.loaded.sources.items()},
            root,
            agent=options.agent,
            name=options.name,
        ),
    )


def bundle_contents(
    contracts: Sequence[BehavioralContract],
    invariants: Sequence[InvariantSpec],
    sources: Mapping[str, str],
    root: str,
    *,
    agent: str | None = None,
    name: str | None = None,
) -> BundleContents:
    """Everything a bundle holds, from a successful compilation.

    Every contract (or only ``agent``'s) becomes a policy with its own
    generated evaluator; without contracts, one policy holds ``invariants``.
    """
    chosen = select_contracts(contracts, agent)
    texts = tuple(sources.items())
    member_names = source_member_names([source for source, _ in texts], root)
    stored = tuple(sorted(zip(member_names, (text for _, text in texts), strict=True)))
    digest = sources_digest({SOURCES_DIR + rel: text.encode("utf-8") for rel, text in stored})
    bundle_name = name or (chosen[0].agent_id if len(chosen) == 1 else _stem(root))
    if chosen:
        policies = tuple(
            _policy(contract.agent_id, contract.to_dict(), contract.invariant_specs(), digest)
            for contract in chosen
        )
    else:
        policies = (_policy(None, None, tuple(invariants), digest, bundle_name),)
    return BundleContents(name=bundle_name, policies=policies, sources=stored)


def _policy(
    agent_id: str | None,
    contract: Mapping[str, Any] | None,
    specs: Sequence[InvariantSpec],
    digest: str,
    module_name: str | None = None,
) -> PolicyContents:
    generated = generate_module(
        tuple(specs), module_name=module_name or agent_id or "policy", source_digest=digest
    )
    return PolicyContents(agent_id, contract, tuple(specs), generated.source)


def select_contracts(
    contracts: Sequence[BehavioralContract], agent: str | None
) -> tuple[BehavioralContract, ...]:
    """The contracts to seal, sorted by agent id: every one, or only ``agent``'s."""
    if agent is not None:
        return (_contract_for(contracts, agent),)
    return tuple(sorted(contracts, key=lambda contract: contract.agent_id))


def _contract_for(contracts: Sequence[BehavioralContract], agent: str) -> BehavioralContract:
    chosen = [contract for contract in contracts if contract.agent_id == agent]
    if not chosen:
        known = ", ".join(contract.agent_id for contract in contracts) or "none"
        raise BundleError(f"no contract for agent {agent!r} (contracts: {known})")
    return chosen[0]


def select_contract(
    contracts: Sequence[BehavioralContract], agent: str | None
) -> BehavioralContract | None:
    """The one contract a single evaluator is generated for: the only one, or ``agent``'s."""
    if agent is not None:
        return _contract_for(contracts, agent)
    if len(contracts) > 1:
        known = ", ".join(contract.agent_id for contract in contracts)
        raise BundleError(
            f"the policy declares several contracts ({known}); choose one with --agent"
        )
    return contracts[0] if contracts else None


def source_member_names(names: Sequence[str], root: str) -> list[str]:
    """Bundle-relative names (``sources/`` left off) for the compiler's source names.

    The compiler names files relative to the directory the build ran from
    (``examples/x/policy.nomo``) and the standard library ``std/...``; the
    bundle stores them relative to the root file's directory instead, so the
    same policy gives the same bundle wherever it is built from.
    """
    base = posixpath.dirname(root) or "."
    relative = [_relative_name(name, base) for name in names]
    return _deduplicated([_safe_name(name.split("/")) for name in relative])


def _relative_name(name: str, base: str) -> str:
    if name.startswith(STD_PREFIX) or posixpath.isabs(name):
        return name.lstrip("/")
    relative = posixpath.relpath(posixpath.normpath(name), base)
    if relative == ".." or relative.startswith("../"):
        return "external/" + "/".join(p for p in relative.split("/") if p not in ("..", "."))
    return relative


def _safe_name(parts: Iterable[str]) -> str:
    segments = [_UNSAFE_SEGMENT_CHARS.sub("_", part).lstrip(".") or "_" for part in parts if part]
    name = "/".join(segments)
    return name if name.endswith(".nomo") else name + ".nomo"


def _deduplicated(names: list[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        candidate, counter = name, 2
        while candidate in seen:
            candidate = f"{name[:-5]}-{counter}.nomo"
            counter += 1
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _stem(root: str) -> str:
    stem = PurePosixPath(root).stem
    return _UNSAFE_SEGMENT_CHARS.sub("-", stem).strip("-._") or "policy"
