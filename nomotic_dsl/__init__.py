"""nomotic_dsl: a policy language and compiler for governing AI agents.

The public names below are the product's contract with its users (see
``docs/api.md``). They are imported lazily, so ``import nomotic_dsl`` stays
cheap and the HTTP stack loads only when it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from nomotic_dsl._version import __version__

# Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "InvariantSpec": "nomotic_dsl.invariants",
    "InvariantBuilder": "nomotic_dsl.invariants",
    "InvariantResult": "nomotic_dsl.invariants",
    "CompiledInvariants": "nomotic_dsl.invariants",
    "BehavioralState": "nomotic_dsl.invariants",
    "Observation": "nomotic_dsl.invariants",
    "BehavioralContract": "nomotic_dsl.contracts",
    "ContractStore": "nomotic_dsl.contracts",
    "generate_contract": "nomotic_dsl.contracts",
    "diff_contracts": "nomotic_dsl.contracts",
    "compile_source": "nomotic_dsl.pipeline",
    "compile_file": "nomotic_dsl.pipeline",
    "CompileResult": "nomotic_dsl.pipeline",
    "Diagnostic": "nomotic_dsl.diagnostics",
    "build_bundle": "nomotic_dsl.bundle",
    "load_bundle": "nomotic_dsl.bundle",
    "BundleError": "nomotic_dsl.bundle",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nomotic_dsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

