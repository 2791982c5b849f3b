"""Syntax: source text -> parse tree -> AST, with parse errors as diagnostics."""

from nomotic_dsl.compiler.syntax.parse import parse_module

__all__ = ["parse_module"]
