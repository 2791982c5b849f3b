"""Syntax: source text -> parse tree -> AST, with parse errors as diagnostics."""

from nomotic_dsl.syntax.front import parse_module

__all__ = ["parse_module"]
