"""Escaping filters: the only way policy values and names reach generated code.

Input: values and names taken from specs; output: Python source text. ``pyrepr``
emits the ``repr()`` of a value only after checking that the value is of a kind
whose ``repr()`` is a literal that evaluates back to it (None, bool, int, finite
float, str, and tuples and dicts of these), as Jinja2's ``has_safe_repr`` does.
``pyident`` mangles any name into an identifier that cannot be a keyword, a
builtin or a name of the generated module's own.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

# Long enough to recognise an invariant in a traceback, short enough for a line.
_MAX_NAME_PART = 40
_NOT_WORD = re.compile(r"[^0-9a-z]+")


class UnsafeValueError(TypeError):
    """A value the generator refuses to write into code."""


def pyrepr(value: Any) -> str:
    """The Python literal for a checked safe value; UnsafeValueError for anything else."""
    if value is None or isinstance(value, bool | str):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, tuple):
        items = [pyrepr(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, dict):
        pairs = (f"{pyrepr(key)}: {pyrepr(item)}" for key, item in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise UnsafeValueError(f"refusing to write a {type(value).__name__} value into code")


def _float_literal(value: float) -> str:
    # Specs only carry finite numbers; a NaN or infinity here is a bug upstream.
    if not math.isfinite(value):
        raise UnsafeValueError(f"refusing to write the non-finite float {value!r} into code")
    return repr(float(value))


def pyident(name: str, index: int, prefix: str = "inv") -> str:
    """A safe identifier for the ``index``-th policy name: ``inv_3_write_ratio``.

    The index makes it unique; the sanitised name (ASCII letters and digits
    only) is for readers of tracebacks and carries no meaning.
    """
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise UnsafeValueError(f"identifier index must be a whole number, not {index!r}")
    if not re.fullmatch(r"[a-z][a-z0-9]*", prefix):
        raise UnsafeValueError(f"identifier prefix {prefix!r} must be lowercase letters and digits")
    words = _NOT_WORD.sub("_", str(name).lower()).strip("_")[:_MAX_NAME_PART].rstrip("_")
    ident = f"_{prefix}_{index}_{words}" if words else f"_{prefix}_{index}"
    if not ident.isidentifier() or keyword.iskeyword(ident):
        raise UnsafeValueError(f"could not make a safe identifier from {name!r}")
    return ident
