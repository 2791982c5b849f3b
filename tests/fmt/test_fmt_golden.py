"""Golden formatter cases: ``golden/NAME.nomo`` formats to ``golden/NAME.formatted.nomo``.

Run pytest with ``--update-golden`` to rewrite the expected files after an intended change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nomotic_dsl.compiler.fmt import FormatError, format_source, scan_comments
from nomotic_dsl.compiler.source import SourceFile
from nomotic_dsl.compiler.syntax import parse_module
from tests.conftest import GoldenCheck

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*.nomo") if not p.name.endswith(".formatted.nomo"))


def _module(text: str) -> object:
    outcome = parse_module(SourceFile("<test>", text))
    assert outcome.module is not None, outcome.diagnostics
    return outcome.module


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_golden_case(case: Path, golden: GoldenCheck) -> None:
    source = case.read_text(encoding="utf-8")
    formatted = format_source(source)
    golden(formatted, case.with_suffix(".formatted.nomo"))
    assert format_source(formatted) == formatted
    assert _module(formatted) == _module(source)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_comment_is_kept(case: Path) -> None:
    source = case.read_text(encoding="utf-8")
    before = [comment.text for comment in scan_comments(source)]
    after = " ".join(comment.text for comment in scan_comments(format_source(source)))
    assert before
    for text in before:
        assert text.removeprefix("#").strip() in after


def test_layout_rules() -> None:
    source = 'contract "a" {\n\n\n  version 1\n\n\n\n  use x\n\n}\nratio a/b<1'
    assert format_source(source) == 'contract "a" {\n    version 1\n\n    use x\n}\nratio a/b < 1\n'


def test_own_line_comment_goes_before_the_next_statement() -> None:
    source = "drift action < 0.2\n    # about the next rule\ndrift target < 0.2\n"
    assert (
        format_source(source) == "drift action < 0.2\n# about the next rule\ndrift target < 0.2\n"
    )


def test_comment_inside_a_one_line_block_moves_after_it() -> None:
    source = 'contract "a" {\n  trust {\n    initial 0.5  # start\n    # floor next\n    floor 0.1\n  }\n}\n'
    expected = 'contract "a" {\n    trust { initial 0.5 floor 0.1 }  # start\n    # floor next\n}\n'
    assert format_source(source) == expected


def test_hash_inside_a_string_is_not_a_comment() -> None:
    source = 'invariant tagged "issue #12: no writes": ratio write/read < 0.1\n'
    assert format_source(source) == source
    assert scan_comments(source) == []


def test_strings_are_re_escaped() -> None:
    source = 'invariant q "say \\"hi\\" \\\\ bye": drift action < 0.2\n'
    assert format_source(source) == source


def test_names_that_are_keywords_stay_quoted() -> None:
    source = 'contract "a" { scope { targets "actions", "two words", plain } }'
    formatted = format_source(source)
    assert 'targets "actions", "two words", plain' in formatted


def test_empty_and_comment_only_files() -> None:
    assert format_source("") == ""
    assert format_source("   \n\n") == ""
    assert (
        format_source("# only a comment\n\n\n# and another")
        == "# only a comment\n\n# and another\n"
    )


@pytest.mark.parametrize(
    "source",
    ["ratio write/read <", 'contract "a" {', "drift action = 0.2", "ratio a/b < 1 over 5"],
    ids=["truncated", "unclosed", "assign-for-equals", "window-without-unit"],
)
def test_text_that_does_not_parse_is_refused(source: str) -> None:
    with pytest.raises(FormatError) as caught:
        format_source(source)
    assert caught.value.diagnostics
    assert all(item.code.startswith("NMO1") for item in caught.value.diagnostics)
