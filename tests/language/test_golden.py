"""Golden cases per stage: source -> AST dump, source -> diagnostics, source -> spec JSON.

Run ``pytest tests/language --update-golden`` to rewrite the expected files
after an intended change, then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nomotic_dsl.ast_dump import dump
from nomotic_dsl.diagnostics import render_concise
from nomotic_dsl.pipeline import compile_file
from nomotic_dsl.source import SourceFile
from nomotic_dsl.syntax import parse_module
from tests.language.helpers import concise

CASES = Path(__file__).resolve().parent.parent / "cases"


def _cases(stage: str) -> list[Path]:
    return sorted((CASES / stage).glob("*.nomo"))


def _compare(actual: str, expected_path: Path, update: bool) -> None:
    if update or not expected_path.exists():
        expected_path.write_text(actual, encoding="utf-8")
    assert actual == expected_path.read_text(encoding="utf-8"), f"golden differs: {expected_path}"


@pytest.mark.parametrize("case", _cases("parse"), ids=lambda p: p.stem)
def test_parse_golden(case: Path, update_golden: bool) -> None:
    outcome = parse_module(SourceFile(case.name, case.read_text(encoding="utf-8")))
    assert outcome.module is not None, outcome.diagnostics
    problems = "".join(render_concise(d) + "\n" for d in outcome.diagnostics)
    _compare(problems + dump(outcome.module), case.with_suffix(".ast"), update_golden)


@pytest.mark.parametrize("case", _cases("diagnostics"), ids=lambda p: p.stem)
def test_diagnostics_golden(case: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case.parent)
    result = compile_file(case.name)
    assert result.diagnostics, "a diagnostics case must produce diagnostics"
    _compare(concise(result), case.with_suffix(".diag"), update_golden)


@pytest.mark.parametrize("case", _cases("specs"), ids=lambda p: p.stem)
def test_spec_golden(case: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case.parent)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    result = compile_file(case.name)
    assert result.ok, concise(result)
    payload = {**result.to_json(), "warnings": [render_concise(d) for d in result.diagnostics]}
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _compare(text, case.with_suffix(".json"), update_golden)
