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
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

# Long enough to recognise an invariant in a traceback, short enough for a line.
_MAX_NAME_PART = 40
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_PREFIX = re.compile(r"[a-z][a-z0-9]*")


class UnsafeValueError(TypeError):
    """A value the generator refuses to write into code."""


def pyrepr(value: Any) -> str:
    """The Python literal for a checked safe value; UnsafeValueError for anything else."""
    plain = _PLAIN.get(value.__class__)  # the common cases first, as the checks below treat them
    if plain is not None:
        return plain(value)
    if value.__class__ is dict:
        return "{" + ", ".join([f"{_literal(k)}: {_literal(v)}" for k, v in value.items()]) + "}"
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


# Exact types whose literal is their repr (a float's after the finiteness check).
_PLAIN: dict[type, Callable[[Any], str]] = {
    str: repr,
    int: repr,
    bool: repr,
    type(None): repr,
    float: _float_literal,
}


def _literal(value: Any) -> str:
    plain = _PLAIN.get(value.__class__)
    return plain(value) if plain is not None else pyrepr(value)


def code_lines(lines: Iterable[Any]) -> str:
    """Lines of code laid out one per line, each ended by a newline."""
    return "".join([f"{line}\n" if line.__class__ is str else f"{line!s}\n" for line in lines])


def pyident(name: str, index: int, prefix: str = "inv") -> str:
    """A safe identifier for the ``index``-th policy name: ``inv_3_write_ratio``.

    The index makes it unique; the sanitised name (ASCII letters and digits
    only) is for readers of tracebacks and carries no meaning.
    """
    if name.__class__ is str and index.__class__ is int and prefix.__class__ is str:
        return _cached_ident(name, index, prefix)
    return _ident(name, index, prefix)


@lru_cache(maxsize=1 << 16)
def _cached_ident(name: str, index: int, prefix: str) -> str:
    # Each invariant's name is asked for several times while its module is generated.
    return _ident(name, index, prefix)


def _ident(name: Any, index: Any, prefix: Any) -> str:
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise UnsafeValueError(f"identifier index must be a whole number, not {index!r}")
    if not _PREFIX.fullmatch(prefix):
        raise UnsafeValueError(f"identifier prefix {prefix!r} must be lowercase letters and digits")
    words = _NOT_WORD.sub("_", str(name).lower()).strip("_")[:_MAX_NAME_PART].rstrip("_")
    ident = f"_{prefix}_{index}_{words}" if words else f"_{prefix}_{index}"
    if not ident.isidentifier() or keyword.iskeyword(ident):
        raise UnsafeValueError(f"could not make a safe identifier from {name!r}")
    return ident
