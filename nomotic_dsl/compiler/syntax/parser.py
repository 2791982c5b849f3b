"""The Lark LALR parser for .nomo, built once per process.

Input: source text. Output: the parser; ``recovery.parse_text`` drives it
token by token (the line rule, window units, error recovery) and
``parse_errors`` turns its problems into diagnostics. Stage: text -> parse
tree. The grammar lives in ``grammar/nomo.lark`` and is found through
``nomotic_dsl.resources`` so an installed wheel reads its own copy.
"""

from __future__ import annotations

from functools import cache

from lark import Lark

from nomotic_dsl.resources import grammar_dir

GRAMMAR_FILE = "nomo.lark"


def grammar_text() -> str:
    """The grammar's source text."""
    return (grammar_dir() / GRAMMAR_FILE).read_text(encoding="utf-8")


@cache
def nomo_parser() -> Lark:
    """The cached LALR parser (contextual lexer, every token kept for the AST builder's spans)."""
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        maybe_placeholders=True,
    )
