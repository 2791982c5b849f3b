"""The generate stage: the spec IR of a policy -> the contents of its bundle.

Input: ``Lowered`` (specs, contracts, sources). Output: ``GeneratedPolicy``:
the chosen contract, its specs, the generated evaluator module's source and
the policy sources under bundle-relative names (``BundleContents``); no
contents when the program has errors.

Decisions where the spec is silent:
- one bundle holds at most one contract. With several in the program,
  ``BuildOptions.agent`` chooses; the bundle's specs are then that contract's
  invariants. Without a contract, the specs are every invariant the program
  compiles to;
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
    SOURCES_DIR,
    SPECS_NAME,
    sources_digest,
)

_UNSAFE_SEGMENT_CHARS = re.compile(r"[^A-Za-z0-9_.+-]")


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
    """Everything a bundle holds, from a successful compilation."""
    contract = select_contract(contracts, agent)
    specs = tuple(contract.invariant_specs()) if contract is not None else tuple(invariants)
    texts = tuple(sources.items())
    member_names = source_member_names([source for source, _ in texts], root)
    stored = tuple(sorted(zip(member_names, (text for _, text in texts), strict=True)))
    digest = sources_digest({SOURCES_DIR + rel: text.encode("utf-8") for rel, text in stored})
    bundle_name = name or (contract.agent_id if contract is not None else _stem(root))
    generated = generate_module(specs, module_name=bundle_name, source_digest=digest)
    return BundleContents(
        name=bundle_name,
        agent_id=contract.agent_id if contract is not None else None,
        contract=contract.to_dict() if contract is not None else None,
        specs=specs,
        evaluator_source=generated.source,
        sources=stored,
    )


def select_contract(
    contracts: Sequence[BehavioralContract], agent: str | None
) -> BehavioralContract | None:
    """The one contract to seal: the only one, or the one for ``agent``."""
    if agent is not None:
        chosen = [contract for contract in contracts if contract.agent_id == agent]
        if not chosen:
            known = ", ".join(contract.agent_id for contract in contracts) or "none"
            raise BundleError(f"no contract for agent {agent!r} (contracts: {known})")
        return chosen[0]
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
    return _UNSAFE_SEGMENT_CHARS.sub("-", stem).strip("-.") or "policy"
