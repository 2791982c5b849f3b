"""Walking the compiler's AST without knowing every node class.

Input: any ``nomotic_dsl.compiler.ast`` node. Output: its descendants, and the
chain of nodes that contain an offset. The walk reads dataclass fields, so a
node class added to the AST (a new rule form, say) is walked without any
change here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, is_dataclass

from nomotic_dsl.compiler import ast


def children(node: ast.Node) -> Iterator[ast.Node]:
    """The nodes directly under ``node``, in field order."""
    if not is_dataclass(node):
        return
    for item in fields(node):
        if item.name == "span":
            continue
        value = getattr(node, item.name, None)
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, tuple):
            yield from (entry for entry in value if isinstance(entry, ast.Node))


def walk(node: ast.Node) -> Iterator[ast.Node]:
    """``node`` and every node under it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def contains(node: ast.Node, offset: int) -> bool:
    """True when the offset is inside the node's span or right at its end (a cursor after it)."""
    span = node.span
    return span.start <= offset <= span.end and span.end > span.start


def chain_at(module: ast.Module, offset: int) -> list[ast.Node]:
    """The nodes containing ``offset``, outermost first (the module excluded)."""
    chain: list[ast.Node] = []
    current: ast.Node = module
    while True:
        inner = [child for child in children(current) if contains(child, offset)]
        if not inner:
            return chain
        # Touching neighbours (`a,b`): prefer the one the offset is strictly inside.
        current = next((c for c in inner if c.span.start <= offset < c.span.end), inner[-1])
        chain.append(current)
