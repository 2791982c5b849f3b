"""Helpers for language tests: compile, and read diagnostics as underlined snippets."""

from __future__ import annotations

from nomotic_dsl.compiler.diagnostics import render_concise, underlined
from nomotic_dsl.compiler.pipeline import CompileResult, compile_source


def diagnostics_of(text: str) -> list[tuple[str, str]]:
    """(code, underlined source text) for every diagnostic of ``text``."""
    result = compile_source(text, "policy.nomo")
    return [(d.code, underlined(d, result.sources)) for d in result.diagnostics]


def codes_of(text: str) -> list[str]:
    """The diagnostic codes of ``text``."""
    return [d.code for d in compile_source(text, "policy.nomo").diagnostics]


def concise(result: CompileResult) -> str:
    """Concise render plus the underlined snippet, one diagnostic per line."""
    return "".join(
        f"{render_concise(d)}  <<{underlined(d, result.sources)}>>\n" for d in result.diagnostics
    )


def single_spec(text: str) -> dict[str, object]:
    """The one spec dict a clean one-rule source lowers to."""
    result = compile_source(text, "policy.nomo")
    assert result.ok, concise(result)
    assert len(result.invariants) == 1, result.invariants
    return result.invariants[0].to_dict()
