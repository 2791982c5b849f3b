"""Every input is bounded: sizes, rules, names, imports, numbers, and diagnostics per file."""

from __future__ import annotations

import pytest

from nomotic_dsl.compiler.limits import MAX_DIAGNOSTICS_PER_FILE, MAX_NAME_CHARS
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.compiler.semantics import checker
from nomotic_dsl.compiler.syntax import parse
from tests.language.helpers import codes_of


def test_diagnostics_past_the_cap_are_counted_in_one_error() -> None:
    text = "drift acton < 0.2\n" * (MAX_DIAGNOSTICS_PER_FILE + 300)
    result = compile_source(text, "policy.nomo")
    assert len(result.diagnostics) == MAX_DIAGNOSTICS_PER_FILE + 1
    last = result.diagnostics[-1]
    assert last.code == "NMO199" and last.line == MAX_DIAGNOSTICS_PER_FILE + 1
    assert "300 more problems" in last.message
    assert result.counts == (MAX_DIAGNOSTICS_PER_FILE + 300, 0)


def test_warnings_only_cap_uses_nmo198() -> None:
    text = "".join(
        f"ratio a/b >= 0 over {n} actions\n" for n in range(1, MAX_DIAGNOSTICS_PER_FILE + 11)
    )
    result = compile_source(text, "policy.nomo")
    assert result.ok
    assert result.diagnostics[-1].code == "NMO198"
    assert result.counts == (0, MAX_DIAGNOSTICS_PER_FILE + 10)


def test_too_many_rules_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checker, "MAX_RULES", 50)
    result = compile_source("drift action < 0.2\n" * 60, "policy.nomo")
    assert [(d.code, d.line) for d in result.diagnostics] == [("NMO111", 51)]
    assert compile_source("drift action < 0.2\n" * 50).ok


def test_a_file_over_the_size_limits_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parse, "MAX_SOURCE_CHARS", 1000)
    assert codes_of("drift action < 0.2\n" * 100) == ["NMO110"]
    monkeypatch.setattr(parse, "MAX_SOURCE_CHARS", 10**9)
    monkeypatch.setattr(parse, "MAX_SOURCE_LINES", 10)
    assert codes_of("\n" * 20) == ["NMO110"]


def test_names_longer_than_a_file_name_are_refused() -> None:
    long = "a" * (MAX_NAME_CHARS + 1)
    assert "NMO112" in codes_of(f'contract "{long}" {{ }}')
    assert "NMO112" in codes_of(f"ratio {long}/read < 0.3")
    assert codes_of(f'contract "{"a" * MAX_NAME_CHARS}" {{ }}') == []


@pytest.mark.parametrize(
    "path",
    ["std/" + "a" * 300, "std/a\x00b", "", "./" + "b/" * 600],
)
def test_import_paths_that_can_name_no_file_are_diagnostics(path: str) -> None:
    text = f'import "{path}"\n'  # the NUL itself, not an escape
    assert "NMO211" in codes_of(text), codes_of(text)


def test_a_missing_standard_file_is_still_not_found() -> None:
    assert codes_of('import "std/packs/nope"') == ["NMO205"]
