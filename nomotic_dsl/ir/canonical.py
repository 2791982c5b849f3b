"""Canonical JSON: the one byte form used for digests, ids and signatures.

UTF-8, keys sorted, no insignificant whitespace, floats in Python's shortest
round-trip form, and no NaN or infinity (which JSON cannot carry).

Both forms here (canonical, and compact in insertion order) are exactly what
``json.dumps`` writes with the documented options: they call the same C
encoder ``json.dumps`` builds on every call, built once, without its check
for circular references. Whenever that encoder raises (a circular or
non-JSON value, NaN), ``json.dumps`` itself runs, so errors are its own.

``compact_finite`` is ``compact_text`` as UTF-8 bytes for values whose
floats are all finite (a decision of the fleet runtime), through orjson,
about ten times faster, with the same bytes (see its note).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Callable
from typing import Any

import orjson

_DEFAULT = json.JSONEncoder().default


def _c_encoder(sort_keys: bool) -> Callable[[Any, int], Any] | None:
    """json.dumps' C encoder for compact output, or None where the C accelerator is missing."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return None
    encode: Callable[[Any, int], Any] = make(
        None, _DEFAULT, json.encoder.encode_basestring, None, ":", ",", sort_keys, False, False
    )
    return encode


_CANONICAL = _c_encoder(sort_keys=True)
_COMPACT = _c_encoder(sort_keys=False)


def canonical_text(value: Any) -> str:
    """The canonical form as text (``canonical_json`` before UTF-8 encoding)."""
    if _CANONICAL is not None:
        try:
            return "".join(_CANONICAL(value, 0))
        except Exception:
            return _dumps(value, sort_keys=True)  # raises json.dumps' own error
    return _dumps(value, sort_keys=True)


def compact_text(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)``."""
    if _COMPACT is not None:
        try:
            return "".join(_COMPACT(value, 0))
        except Exception:
            return _dumps(value, sort_keys=False)  # raises json.dumps' own error
    return _dumps(value, sort_keys=False)


def compact_finite(value: Any) -> bytes:
    """``compact_text(value).encode("utf-8")``, for a value none of whose floats is NaN or infinite.

    orjson writes what json writes (key order, separators, escapes, integers,
    ``-0.0`` and shortest round-trip floats) with one difference: a float of
    magnitude below 1e-4, which json writes ``1e-05`` and orjson ``0.00001``
    or ``1e-5``. Output that may hold one (``_tiny_number``: a number token
    with a negative exponent or starting ``0.0000``; a string holding such
    text only costs the slower path) is made again by ``compact_text``, as is anything orjson
    refuses (integers beyond 64 bits, float subclasses, non-string keys,
    lone surrogates), so the bytes and the errors are ``compact_text``'s.
    NaN and infinities are the one thing the caller must rule out: orjson
    writes them as ``null``, where json refuses them.
    """
    try:
        data = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return compact_text(value).encode("utf-8")
    if _tiny_number(data):
        return compact_text(value).encode("utf-8")
    return data


_NUMBER_START = frozenset(b":,[")
_MANTISSA = frozenset(b"0123456789.")


def _tiny_number(data: bytes) -> bool:
    """Whether compact JSON ``data`` may hold a number orjson writes otherwise than json.

    That is a number token (at the start, or after ``:``, ``,`` or ``[``)
    with a negative exponent (``1e-7``) or starting ``0.0000``. Found from
    each ``e-`` and ``0.0000`` in the bytes (rarely more than one, in an id),
    so a record without one costs two substring searches.
    """
    at = data.find(b"e-")
    while at >= 0:
        start = at
        while start > 0 and data[start - 1] in _MANTISSA:
            start -= 1
        if start < at and _starts_number(data, start):
            return True
        at = data.find(b"e-", at + 2)
    at = data.find(b"0.0000")
    while at >= 0:
        if _starts_number(data, at):
            return True
        at = data.find(b"0.0000", at + 6)
    return False


def _starts_number(data: bytes, at: int) -> bool:
    """Whether a number token starts at ``at`` (or at ``at - 1`` with its minus sign)."""
    if at > 0 and data[at - 1] == 0x2D:  # "-"
        at -= 1
    return at == 0 or data[at - 1] in _NUMBER_START


def _dumps(value: Any, *, sort_keys: bool) -> str:
    return json.dumps(
        value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_json(value: Any) -> bytes:
    """Serialise a JSON-clean value to its canonical bytes."""
    return canonical_text(value).encode("utf-8")


def canonical_digest(value: Any) -> str:
    """SHA-256 hex digest of the canonical form."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


# A lone surrogate: a code point no UTF-8 text can hold (JSON can spell one as "\\ud800").
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a string (key or value) with a lone surrogate.

    JSON text may spell one (``"\\ud800"``) and json decodes it, but no UTF-8
    form (and so no line, digest or response) can hold it. Walks without
    recursion, so any depth the decoder accepted is safe.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
