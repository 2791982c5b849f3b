"""Errors of the bundle stage: one exception type carrying the reason for refusal.

Input: none. Output: ``BundleError`` and ``KeyFileError``. Stage: sealed bundle.
Every check in ``nomotic_dsl.runtime.bundle`` raises one of these with a sentence a
person can act on; callers (the CLI, a runtime) print ``str(error)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class BundleError(Exception):
    """A bundle that cannot be built, verified or loaded; ``str()`` is the reason."""


class KeyFileError(BundleError, ValueError):
    """A key file that is missing, malformed, or of the wrong kind (secret vs public)."""


# What a parser of untrusted bytes can raise when the bytes are malformed in a
# way no specific check caught. ``refusing_malformed`` turns these into a
# BundleError, so a caller that handles BundleError as documented never sees
# anything else; the fuzz tests require that no input ever reaches it.
UNEXPECTED_PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    OverflowError,
    UnicodeError,
)
UNEXPECTED_MARKER = "could not be parsed"


@contextmanager
def refusing_malformed(what: str) -> Iterator[None]:
    """Re-raise any parse failure inside the block as a BundleError about ``what``."""
    try:
        yield
    except BundleError:
        raise
    except UNEXPECTED_PARSE_ERRORS as exc:
        raise BundleError(
            f"{what} {UNEXPECTED_MARKER} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
