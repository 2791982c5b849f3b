"""From a ``.nomo`` file or a CompileResult to bundle contents, a bundle, or a live evaluator.

Input: a policy file path or a ``CompileResult`` (``nomotic_dsl.pipeline``),
signing keys and bundle options. Output: bundle bytes (``build_bundle``), or a
generated evaluator module for running a policy without a bundle
(``load_policy_file``). Stage: the bridge from the compiler to sealing; it
calls the pipeline and the code generator, never the other way round.

Decisions where the spec is silent:
- one bundle holds at most one contract. With several in the file, ``agent``
  chooses; the bundle's specs are then that contract's invariants. Without a
  contract, the specs are every invariant the file compiles to;
- sources are stored under names relative to the main file's directory, so
  the bundle does not depend on the directory the build ran from; standard
  library files keep their ``std/`` names, files outside the main file's
  directory go under ``external/``.
"""

from __future__ import annotations

import importlib
import json
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from types import ModuleType
from typing import Protocol

from nomotic_dsl.bundle.errors import BundleError
from nomotic_dsl.bundle.evaluator import instantiate_evaluator
from nomotic_dsl.bundle.loader import (
    BundleContents,
    KeySource,
    assemble_bundle,
    write_bundle_file,
)
from nomotic_dsl.bundle.manifest import SOURCES_DIR, sources_digest
from nomotic_dsl.codegen import generate_module
from nomotic_dsl.contracts import BehavioralContract
from nomotic_dsl.diagnostics import Diagnostic, render_all, to_json
from nomotic_dsl.invariants import InvariantSpec

# How the compiler names standard-library files (``nomotic_dsl.semantics.loader``).
STD_PREFIX = "std/"
_UNSAFE_SEGMENT_CHARS = re.compile(r"[^A-Za-z0-9_.+-]")


class CompileResult(Protocol):
    """What this stage reads from ``nomotic_dsl.pipeline.CompileResult``."""

    @property
    def ok(self) -> bool: ...
    @property
    def diagnostics(self) -> Sequence[Diagnostic]: ...
    @property
    def invariants(self) -> Sequence[InvariantSpec]: ...
    @property
    def contracts(self) -> Sequence[BehavioralContract]: ...
    @property
    def sources(self) -> Mapping[str, str]: ...
    @property
    def root(self) -> str: ...


def compile_policy(path: str | os.PathLike[str]) -> CompileResult:
    """Compile a ``.nomo`` file (diagnostics are in the result, never raised).

    The pipeline is imported when first needed: it sits upstream of this
    stage, and ``nomo verify``/``inspect`` should not load the compiler.
    """
    result: CompileResult = importlib.import_module("nomotic_dsl.pipeline").compile_file(path)
    return result


def render_diagnostics(result: CompileResult, output_format: str) -> str:
    """Diagnostics as the language CLI shows them: full text, or a JSON document."""
    if output_format == "json":
        return json.dumps(
            {"diagnostics": to_json(result.diagnostics)}, indent=2, ensure_ascii=False
        )
    return render_all(result.diagnostics, dict(source_texts(result)))


def build_bundle(
    source: CompileResult | str | os.PathLike[str],
    signing_keys: KeySource | Sequence[KeySource],
    out: str | os.PathLike[str] | None = None,
    *,
    revision: int = 1,
    not_before: int | None = None,
    expires: int | None = None,
    agent: str | None = None,
    name: str | None = None,
) -> bytes:
    """Compile (when given a path), generate, seal; write atomically to ``out`` when given."""
    result = compile_policy(source) if isinstance(source, str | os.PathLike) else source
    if not result.ok:
        raise BundleError("the policy has errors; run `nomo check` to see them")
    contents = contents_from_result(result, agent=agent, name=name)
    data = assemble_bundle(
        contents, signing_keys, revision=revision, not_before=not_before, expires=expires
    )
    if out is not None:
        write_bundle_file(out, data)
    return data


def contents_from_result(
    result: CompileResult, *, agent: str | None = None, name: str | None = None
) -> BundleContents:
    """Everything a bundle holds, from a successful compilation."""
    contract = select_contract(result.contracts, agent)
    specs = tuple(contract.invariant_specs()) if contract is not None else tuple(result.invariants)
    texts = source_texts(result)
    member_names = source_member_names([name for name, _ in texts], result.root)
    sources = tuple(sorted(zip(member_names, (text for _, text in texts), strict=True)))
    digest = sources_digest({SOURCES_DIR + rel: text.encode("utf-8") for rel, text in sources})
    bundle_name = name or (contract.agent_id if contract is not None else _stem(result.root))
    generated = generate_module(specs, module_name=bundle_name, source_digest=digest)
    return BundleContents(
        name=bundle_name,
        agent_id=contract.agent_id if contract is not None else None,
        contract=contract.to_dict() if contract is not None else None,
        specs=specs,
        evaluator_source=generated.source,
        sources=sources,
    )


def load_policy_file(result: CompileResult, agent: str | None = None) -> ModuleType:
    """The generated evaluator of a compiled policy, loaded without a bundle."""
    contents = contents_from_result(result, agent=agent)
    return instantiate_evaluator(
        contents.evaluator_source, f"<policy:{contents.name}>/policy_evaluator.py", contents.specs
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
        raise BundleError(f"the policy declares several contracts ({known}); choose one with --agent")
    return contracts[0] if contracts else None


def source_texts(result: CompileResult) -> tuple[tuple[str, str], ...]:
    """(name, text) of every source the compilation read, in the compiler's order."""
    sources: Mapping[str, str] = result.sources
    return tuple((str(name), str(text)) for name, text in sources.items())


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

