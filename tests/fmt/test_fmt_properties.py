"""Formatting is idempotent and keeps meaning: on generated programs and on every shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.fmt import format_source, scan_comments
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.compiler.source import SourceFile
from nomotic_dsl.compiler.syntax import parse_module
from tests.fmt.strategies import programs, valid_programs

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "stdlib").rglob("*.nomo")) + sorted((ROOT / "examples").rglob("*.nomo"))


def parse(text: str) -> ast.Module:
    outcome = parse_module(SourceFile("<test>", text))
    assert outcome.module is not None, outcome.diagnostics
    return outcome.module


@settings(max_examples=300, deadline=None)
@given(programs())
def test_formatting_is_idempotent_and_keeps_the_ast(source: str) -> None:
    formatted = format_source(source)
    assert format_source(formatted) == formatted
    assert parse(formatted) == parse(source)


@settings(max_examples=150, deadline=None)
@given(programs())
def test_formatting_keeps_every_comment(source: str) -> None:
    formatted = format_source(source)
    kept = " ".join(comment.text for comment in scan_comments(formatted))
    for comment in scan_comments(source):
        assert comment.text in kept


@settings(max_examples=150, deadline=None)
@given(programs(comments_inside=False))
def test_formatted_lines_are_canonical(source: str) -> None:
    for line in format_source(source).splitlines():
        stripped = line.lstrip(" ")
        assert (len(line) - len(stripped)) % 4 == 0
        assert not line.endswith(" ")
        assert "\t" not in line


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files_are_formatted(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert format_source(source) == source, f"run: nomo fmt {path.relative_to(ROOT)}"
    assert parse(format_source(source)) == parse(source)


def compiled_view(source: str) -> tuple[bool, list[str], list[dict[str, object]]]:
    """What compilation means, independent of layout: ok, diagnostic codes, specs."""
    result = compile_source(source)
    problems = sorted(item.code for item in result.diagnostics)
    return result.ok, problems, [spec.to_dict() for spec in result.invariants]


@settings(max_examples=200, deadline=None)
@given(valid_programs())
def test_formatting_keeps_the_compiled_specs(source: str) -> None:
    formatted = format_source(source)
    before, after = compiled_view(source), compiled_view(formatted)
    assert after == before
    assert before[0] is False or before[2], "a generated program should compile to specs"


@settings(max_examples=100, deadline=None)
@given(programs())
def test_formatting_keeps_what_the_checker_reports(source: str) -> None:
    before = sorted(item.code for item in compile_source(source).diagnostics)
    after = sorted(item.code for item in compile_source(format_source(source)).diagnostics)
    assert after == before


def test_spacing_inside_a_rule_does_not_change_its_description() -> None:
    source = "ratio write / read<0.3 over 100 actions\n"
    assert compiled_view(format_source(source)) == compiled_view(source)
