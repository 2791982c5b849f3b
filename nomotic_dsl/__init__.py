"""nomotic_dsl: a policy language and compiler for governing AI agents.

The public names below are the product's contract with its users (see
``docs/api.md``): the spec IR, the runtime, and the compiler's drivers. They are imported lazily, so ``import nomotic_dsl`` stays
cheap and the HTTP stack loads only when it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from nomotic_dsl._version import __version__

# Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "InvariantSpec": "nomotic_dsl.ir",
    "InvariantBuilder": "nomotic_dsl.ir",
    "BehavioralContract": "nomotic_dsl.ir",
    "InvariantResult": "nomotic_dsl.runtime.interpreter",
    "CompiledInvariants": "nomotic_dsl.runtime.interpreter",
    "BehavioralState": "nomotic_dsl.runtime.interpreter",
    "Observation": "nomotic_dsl.runtime.interpreter",
    "ContractStore": "nomotic_dsl.runtime.contracts",
    "generate_contract": "nomotic_dsl.runtime.contracts",
    "diff_contracts": "nomotic_dsl.runtime.contracts",
    "load_bundle": "nomotic_dsl.runtime.bundle",
    "BundleError": "nomotic_dsl.runtime.bundle",
    "compile_source": "nomotic_dsl.compiler.pipeline",
    "compile_file": "nomotic_dsl.compiler.pipeline",
    "CompileResult": "nomotic_dsl.compiler.pipeline",
    "build_bundle": "nomotic_dsl.compiler.pipeline",
    "Diagnostic": "nomotic_dsl.compiler.diagnostics",
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
