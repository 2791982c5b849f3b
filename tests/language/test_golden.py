"""Golden cases per stage: source -> AST dump, source -> diagnostics, source -> spec JSON.

Run ``pytest tests/language --update-golden`` to rewrite the expected files
after an intended change, then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nomotic_dsl.compiler.ast_dump import dump
from nomotic_dsl.compiler.diagnostics import render_concise
from nomotic_dsl.compiler.pipeline import compile_file
from nomotic_dsl.compiler.source import SourceFile
from nomotic_dsl.compiler.syntax import parse_module
from tests.conftest import GoldenCheck
from tests.language.helpers import concise

CASES = Path(__file__).resolve().parent.parent / "cases"


def _cases(stage: str) -> list[Path]:
    return sorted((CASES / stage).glob("*.nomo"))


@pytest.mark.parametrize("case", _cases("parse"), ids=lambda p: p.stem)
def test_parse_golden(case: Path, golden: GoldenCheck) -> None:
    outcome = parse_module(SourceFile(case.name, case.read_text(encoding="utf-8")))
    assert outcome.module is not None, outcome.diagnostics
    problems = "".join(render_concise(d) + "\n" for d in outcome.diagnostics)
    golden(problems + dump(outcome.module), case.with_suffix(".ast"))


@pytest.mark.parametrize("case", _cases("diagnostics"), ids=lambda p: p.stem)
def test_diagnostics_golden(
    case: Path, golden: GoldenCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(case.parent)
    result = compile_file(case.name)
    assert result.diagnostics, "a diagnostics case must produce diagnostics"
    golden(concise(result), case.with_suffix(".diag"))


@pytest.mark.parametrize("case", _cases("specs"), ids=lambda p: p.stem)
def test_spec_golden(case: Path, golden: GoldenCheck, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case.parent)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    result = compile_file(case.name)
    assert result.ok, concise(result)
    payload = {**result.to_json(), "warnings": [render_concise(d) for d in result.diagnostics]}
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    golden(text, case.with_suffix(".json"))
