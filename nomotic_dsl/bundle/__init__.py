"""Sealed bundles: build, verify and load signed policy artifacts.

Input: a compiled policy (or a ``.nomo`` file) and Ed25519 keys. Output: one
deterministic archive file, and on load a verified ``LoadedBundle``. Stage:
the last one, after code generation.

The package keeps its concerns apart: ``keys`` (key files), ``manifest``
(member digests), ``archive`` (the strict container), ``signing`` (signatures
over the manifest), ``verify`` (the refusal checks in order), ``rollback``
(accepted revisions), ``loader`` (build and load). The build/load names are
imported lazily so that ``nomotic_dsl.contracts`` can use ``bundle.keys``
without importing the compiler back.
"""

from __future__ import annotations

from nomotic_dsl.bundle.errors import BundleError, KeyFileError

__all__ = ["BundleError", "KeyFileError"]
