"""Sealed bundles: build, verify and load signed policy artifacts.

Input: a compiled policy (or a ``.nomo`` file) and Ed25519 keys. Output: one
deterministic archive file, and on load a verified ``LoadedBundle``. Stage:
the last one, after code generation.

The package keeps its concerns apart: ``keys`` (key files), ``manifest``
(member digests), ``archive`` (the strict container), ``signing`` (signatures
over the manifest), ``verify`` (the refusal checks in order), ``rollback``
(accepted revisions), ``evaluator`` (the one place generated code runs),
``loader`` (seal and load), ``build`` (from the compiler to a bundle),
``inspect`` and ``replay`` (tooling behind the CLI). The build/load names are
imported lazily so that ``nomotic_dsl.contracts`` can use ``bundle.keys``
without importing the compiler back.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nomotic_dsl.bundle.errors import BundleError, KeyFileError

if TYPE_CHECKING:
    from nomotic_dsl.bundle.build import build_bundle
    from nomotic_dsl.bundle.loader import (
        BundleContents,
        LoadedBundle,
        assemble_bundle,
        load_bundle,
        verify_bundle,
    )

_LAZY: dict[str, str] = {
    "BundleContents": "nomotic_dsl.bundle.loader",
    "LoadedBundle": "nomotic_dsl.bundle.loader",
    "assemble_bundle": "nomotic_dsl.bundle.loader",
    "build_bundle": "nomotic_dsl.bundle.build",
    "load_bundle": "nomotic_dsl.bundle.loader",
    "verify_bundle": "nomotic_dsl.bundle.loader",
}

__all__ = [
    "BundleContents",
    "BundleError",
    "KeyFileError",
    "LoadedBundle",
    "assemble_bundle",
    "build_bundle",
    "load_bundle",
    "verify_bundle",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nomotic_dsl.bundle' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
