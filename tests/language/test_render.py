"""Renderers: full form with gutter and caret, concise form, JSON; syntax errors in words."""

from __future__ import annotations

import json

from nomotic_dsl.compiler.diagnostics import CODES, Diagnostic, render_concise, render_full, to_json
from nomotic_dsl.compiler.pipeline import compile_source


def test_full_render_underlines_the_exact_span() -> None:
    result = compile_source("drift action < 0.2\ndistribution target_mx < 0.6\n", "p.nomo")
    (diagnostic,) = result.diagnostics
    assert render_full(diagnostic, result.sources) == (
        "error[NMO201]: unknown distribution metric `target_mx`\n"
        " --> p.nomo:2:14\n"
        "  |\n"
        "2 | distribution target_mx < 0.6\n"
        "  |              ^^^^^^^^^\n"
        "  = help: did you mean `target_max`?"
    )


def test_concise_render() -> None:
    (diagnostic,) = compile_source("drift action = 0.2", "p.nomo").diagnostics
    assert (
        render_concise(diagnostic) == "p.nomo:1:14: error[NMO102] `=` is not a comparison operator"
    )


def test_json_has_the_public_field_names() -> None:
    result = compile_source("ratoi a/b < 1", "p.nomo")
    (item,) = to_json(result.diagnostics)
    assert list(item) == [
        "code",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    ]
    assert (item["line"], item["column"], item["end_column"]) == (1, 1, 6)
    assert item["help"] == "did you mean `ratio`?"
    json.dumps(item)


def test_syntax_errors_never_show_lark_terminal_lists() -> None:
    for text in ("ratio a/b <", "ratio a/b @ 3", "contract { }", "drift action < 0.2 }", 'x "abc'):
        (diagnostic,) = compile_source(text).diagnostics
        words = diagnostic.message + (diagnostic.help or "")
        assert "Expected one of" not in words and "__ANON" not in words and "$END" not in words
        assert diagnostic.code in ("NMO100", "NMO101", "NMO105")


def test_every_code_has_a_severity_and_summary() -> None:
    for info in CODES.values():
        assert info.severity in ("error", "warning") and info.summary
    assert Diagnostic.__dataclass_fields__["span"].compare is False
