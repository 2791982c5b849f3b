"""Errors of the bundle stage: one exception type carrying the reason for refusal.

Input: none. Output: ``BundleError`` and ``KeyFileError``. Stage: sealed bundle.
Every check in ``nomotic_dsl.runtime.bundle`` raises one of these with a sentence a
person can act on; callers (the CLI, a runtime) print ``str(error)``.
"""

from __future__ import annotations


class BundleError(Exception):
    """A bundle that cannot be built, verified or loaded; ``str()`` is the reason."""


class KeyFileError(BundleError, ValueError):
    """A key file that is missing, malformed, or of the wrong kind (secret vs public)."""
