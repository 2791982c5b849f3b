"""Generated code for the fleet runtime, where no bundle brings it.

Input: invariant specs (a stored contract's), or a compiled policy. Output:
an ``EvaluatorProvider`` that generates and loads the evaluator module of any
specs (cached by their digest), and the fleet ``Policy``s of a compiled
``.nomo`` policy. Stage: compiler side of the wall: the runtime takes
providers and policies and never imports this module; the shells (``nomo
run FILE.nomo``, ``nomo serve``) wire it in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from nomotic_dsl.compiler.codegen import generate_module
from nomotic_dsl.compiler.generate import BundleContents
from nomotic_dsl.compiler.seal import unsigned_manifest
from nomotic_dsl.ir.canonical import canonical_digest
from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.ir.spec import InvariantSpec
from nomotic_dsl.runtime.bundle.evaluator import instantiate_evaluator
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.policy import EvaluatorProvider, Policy, make_policy

DEFAULT_CACHE_SIZE = 256


def generated_evaluators(cache_size: int = DEFAULT_CACHE_SIZE) -> EvaluatorProvider:
    """A provider of generated evaluator modules, one per distinct spec list (LRU-cached)."""
    cache: OrderedDict[str, Any] = OrderedDict()
    lock = threading.Lock()

    def provide(specs: tuple[InvariantSpec, ...]) -> Any:
        digest = canonical_digest([spec.to_dict() for spec in specs])
        with lock:
            module = cache.get(digest)
            if module is not None:
                cache.move_to_end(digest)
                return module
        generated = generate_module(specs, module_name="contract", source_digest=digest)
        module = instantiate_evaluator(
            generated.source, f"<contract:{digest[:16]}>/policy_evaluator.py", specs
        )
        with lock:
            cache[digest] = module
            while len(cache) > cache_size:
                cache.popitem(last=False)
        return module

    return provide


def policies_of(contents: BundleContents, config: FleetConfig) -> tuple[str, list[Policy]]:
    """The digest and fleet policies of bundle contents, without sealing them.

    The digest is the SHA-256 of the manifest a bundle of these contents
    gets with the default build options (revision 1, no validity window), so
    ``nomo run policy.nomo`` names the same ``bundle`` as ``nomo run`` of a
    bundle built from it with ``nomo build``'s defaults.
    """
    digest = unsigned_manifest(contents).sha256()
    policies = []
    for index, policy in enumerate(contents.policies):
        module = instantiate_evaluator(
            policy.evaluator_source,
            f"<policy:{contents.name}>/policies/{index}/policy_evaluator.py",
            policy.specs,
        )
        contract = (
            None if policy.contract is None else BehavioralContract.from_dict(policy.contract)
        )
        policies.append(make_policy(contract, module, digest, config, policy.specs))
    return digest, policies


def store_policy(
    contract: BehavioralContract,
    evaluators: EvaluatorProvider,
    config: FleetConfig,
    digest: str,
    specs: Sequence[InvariantSpec] | None = None,
) -> Policy:
    """A policy for a stored contract, its module from ``evaluators``."""
    chosen = tuple(specs) if specs is not None else contract.invariant_specs()
    return make_policy(contract, evaluators(chosen), digest, config, chosen)
