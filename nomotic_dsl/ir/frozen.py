"""Deep freezing of JSON-shaped values, and the checks a contract field needs.

Input: plain dicts, lists and scalars given to a contract. Output: read-only
views (``MappingProxyType`` over a private copy, tuples for lists) and back
again to plain JSON-clean values. Stage: contract construction and
serialisation.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeGuard

from nomotic_dsl.ir.problems import Problem, key_path

DISTRIBUTION_TOLERANCE = 0.01
# JSON values a contract holds (scope, anchors) nest at most this deep; deeper
# ones are refused before anything recurses into them.
MAX_NESTING = 32


def nesting_problem(value: Any, where: str, limit: int = MAX_NESTING) -> Problem | None:
    """A Problem when ``value`` nests mappings and lists more than ``limit`` deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            return Problem(where, f"is nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)
    return None


def freeze(value: Any) -> Any:
    """A read-only deep copy: mappings become mapping proxies, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """The plain JSON value of a frozen one: dicts and lists again."""
    kind = type(value)
    if kind is str or kind is float or kind is int or value is None:
        return value  # the common leaves, without the slower ABC checks below
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(item) for item in value]
    return value


def copy_plain(value: Any) -> Any:
    """A fresh deep copy of a plain JSON value (dicts, lists and scalars, as ``thaw`` gives)."""
    kind = type(value)
    if kind is dict:
        return {key: copy_plain(item) for key, item in value.items()}
    if kind is list:
        return [copy_plain(item) for item in value]
    return value


def json_problems(value: Any, where: str) -> list[Problem]:
    """Every place in ``value`` that JSON cannot carry exactly (first problem per branch)."""
    if value is None or isinstance(value, str | bool | int):
        return []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [Problem(where, f"{value!r} is not a finite number")]
    if isinstance(value, Mapping):
        problems: list[Problem] = []
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(Problem(where, f"key {key!r} is not a string"))
            else:
                problems.extend(json_problems(item, f"{where}.{key}"))
        return problems
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in json_problems(item, f"{where}[{i}]")]
    return [Problem(where, f"{type(value).__name__} is not a JSON value")]


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float, but not a bool, that a float can hold.

    An int beyond the float range (JSON allows any number of digits) is not:
    ``float()`` of it, and ``math.isfinite``, raise OverflowError. Ints and
    floats compare exactly, so the bound is checked without converting.
    """
    if isinstance(value, float):
        return math.isfinite(value)
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and -_FLOAT_MAX <= value <= _FLOAT_MAX
    )


_FLOAT_MAX = sys.float_info.max


def number_map(value: Any, where: str) -> tuple[Mapping[str, float], list[Problem]]:
    """A frozen ``name -> float`` mapping and the problems found building it."""
    if not isinstance(value, Mapping):
        return MappingProxyType({}), [Problem(where, "must be a mapping of names to numbers")]
    problems: list[Problem] = []
    checked: dict[str, float] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            problems.append(Problem(where, f"key {key!r} must be a non-empty string"))
        elif not is_number(item):
            problems.append(Problem(key_path(where, key), f"{item!r} is not a finite number"))
        else:
            checked[key] = float(item)
    return MappingProxyType(checked), problems


def distribution_problems(shares: Mapping[str, float], where: str) -> list[Problem]:
    """Shares must be non-negative and, unless empty, sum to 1.0 within the tolerance."""
    problems = [
        Problem(key_path(where, key), f"share {share!r} is negative")
        for key, share in shares.items()
        if share < 0
    ]
    try:
        total = math.fsum(shares.values())
    except OverflowError:  # shares near the float maximum: certainly not summing to 1
        total = math.inf
    if shares and abs(total - 1.0) > DISTRIBUTION_TOLERANCE:
        problems.append(
            Problem(where, f"sums to {total:g}, not 1.0 (tolerance {DISTRIBUTION_TOLERANCE:g})")
        )
    return problems


def mapping_sequence(value: Any, where: str) -> tuple[tuple[Any, ...], list[Problem]]:
    """Items of a list given where a list is expected; a string or mapping is refused."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        return (), [Problem(where, "must be a list")]
    return tuple(value), []
