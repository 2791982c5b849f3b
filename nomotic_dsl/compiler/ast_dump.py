"""A readable, deterministic text dump of an AST, for golden tests and debugging.

Input: any ``nomotic_dsl.compiler.ast`` node. Output: indented text, one field per
line, spans left out (they are not part of a node's identity). Stage: a side
view of the parse -> AST stage; ``tests/cases/parse`` compares against it.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from nomotic_dsl.compiler import ast

_INDENT = "  "


def dump(node: ast.Node) -> str:
    """The dump of ``node`` and its children, ending with a newline."""
    return "\n".join(_lines(node, 0)) + "\n"


def _lines(node: object, depth: int) -> list[str]:
    pad = _INDENT * depth
    if not is_dataclass(node):
        return [pad + _scalar(node)]
    if isinstance(node, ast.Name):
        return [f"{pad}Name {node.text!r}"]
    out = [pad + type(node).__name__]
    for item in fields(node):
        if not item.compare:  # spans: where a node is, not what it is
            continue
        value = getattr(node, item.name)
        if item.metadata.get("omitted_when_default") and value == item.default:
            continue
        out.extend(_field_lines(item.name, value, depth + 1))
    return out


def _field_lines(name: str, value: object, depth: int) -> list[str]:
    pad = _INDENT * depth
    if isinstance(value, tuple):
        if not value:
            return [f"{pad}{name}: ()"]
        lines = [f"{pad}{name}:"]
        for child in value:
            lines.extend(_lines(child, depth + 1))
        return lines
    if is_dataclass(value):
        child = _lines(value, depth)
        return [f"{pad}{name}: {child[0].strip()}", *child[1:]]
    return [f"{pad}{name}: {_scalar(value)}"]


def _scalar(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    return str(value)
