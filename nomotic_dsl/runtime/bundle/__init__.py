"""Sealed bundles at runtime: the format, verification and loading.

Input: a bundle file and trusted Ed25519 keys. Output: a verified
``LoadedBundle`` whose generated evaluator runs only after every check
passed. Stage: runtime; the compiler's seal stage writes the same format.

The package keeps its concerns apart: ``keys`` (key files), ``manifest``
(member digests), ``archive`` (the strict container), ``signing``
(signatures over the manifest), ``verify`` (the refusal checks in order),
``rollback`` (accepted revisions), ``evaluator`` (the one place generated
code runs), ``loader`` (verify, then load) and ``inspect`` (tooling behind
the CLI). Running bundles over traces is the fleet runtime's
(``nomotic_dsl.runtime.fleet``).
"""

from nomotic_dsl.runtime.bundle.errors import BundleError, KeyFileError
from nomotic_dsl.runtime.bundle.loader import (
    LoadedBundle,
    load_bundle,
    load_bundle_bytes,
    verify_bundle,
)

__all__ = [
    "BundleError",
    "KeyFileError",
    "LoadedBundle",
    "load_bundle",
    "load_bundle_bytes",
    "verify_bundle",
]
