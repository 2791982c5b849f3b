"""Syntax errors: on the line of the mistake, several per file, braces named where they open.

Each case pairs a failing source (the diagnostic's code and the exact text it
underlines) with the passing source that fixes it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.compiler.diagnostics import underlined
from nomotic_dsl.compiler.limits import MAX_SYNTAX_ERRORS
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.compiler.source import SourceFile
from nomotic_dsl.compiler.syntax import parse_module
from nomotic_dsl.compiler.syntax.parse_errors import describe_expected
from tests.language.helpers import diagnostics_of


def located(text: str) -> list[tuple[str, int, str]]:
    """(code, line, underlined text) of every diagnostic."""
    result = compile_source(text, "policy.nomo")
    return [(d.code, d.line, underlined(d, result.sources)) for d in result.diagnostics]


def assert_clean(text: str) -> None:
    result = compile_source(text, "policy.nomo")
    assert result.ok and not result.diagnostics, [d.message for d in result.diagnostics]


# ---- the line rule -------------------------------------------------------------------


def test_an_unfinished_line_is_reported_on_its_line_not_the_next() -> None:
    found = located("drift action <\ndrift acton < 0.2\n")
    assert found[0] == ("NMO107", 1, "<")
    assert ("NMO403", 2, "acton") in found  # the next line is still checked, on its own
    assert "NMO204" not in [code for code, _, _ in found]  # never "unknown constant drift"
    assert_clean("drift action < 0.2\ndrift target < 0.2\n")


def test_a_statement_cut_by_the_line_rule_gives_one_error() -> None:
    found = located("ratio write/read\n   < 0.3 over 100 actions\n")
    assert found == [("NMO107", 1, "read")]


@pytest.mark.parametrize(
    "text",
    [
        "ratio write/read < 0.3\n    over 100 actions\n",  # the rule is complete at the break
        'invariant few_writes "Writes stay rare":\n    ratio write/read < 0.3\n',  # after `:`
        'contract "a" {\n    scope { actions read,\n        reply }\n    ratio reply/read < 1\n}\n',
        'contract "a"\n{\n    version 2\n}\n',  # before `{`
    ],
)
def test_lines_may_break_where_the_rule_allows(text: str) -> None:
    assert_clean(text)


# ---- several errors, each on its line ------------------------------------------------------


def test_every_line_with_a_syntax_error_is_reported_in_one_run() -> None:
    text = (
        "ratio write/read < 0.3\n"
        "ratio write/read <\n"
        "no activity outside 8 18\n"
        "drift action < 0.2 @\n"
        "count distinct_targets <= 5 over 50 actions\n"
    )
    found = located(text)
    assert [line for _, line, _ in found] == [2, 3, 4]
    assert [code for code, _, _ in found] == ["NMO107", "NMO100", "NMO100"]
    assert ("NMO100", 3, "18") in found and ("NMO100", 4, "@") in found


def test_errors_inside_a_block_keep_the_block_and_its_other_items() -> None:
    text = (
        'contract "bot" {\n'
        "    trust { initial }\n"
        "    ratio write/read <\n"
        "    drift action < 0.2\n"
        "}\n"
        "drift target < 0.3\n"
    )
    found = located(text)
    assert [(code, line) for code, line, _ in found] == [("NMO100", 2), ("NMO107", 3)]


def test_the_parser_stops_after_too_many_syntax_errors() -> None:
    text = "ratio <\n" * (MAX_SYNTAX_ERRORS + 50)
    outcome = parse_module(SourceFile("policy.nomo", text))
    codes = [d.code for d in outcome.diagnostics]
    assert codes.count("NMO107") == MAX_SYNTAX_ERRORS
    assert codes[-1] == "NMO109"


# ---- braces ------------------------------------------------------------------------------


def test_an_unclosed_brace_is_named_at_the_line_where_it_opened() -> None:
    found = located('contract "a" {\n    version 2\n    ratio write/read < 0.3\n')
    assert found == [("NMO106", 1, "{")]
    assert_clean('contract "a" {\n    version 2\n    ratio write/read < 0.3\n}\n')


def test_a_declaration_inside_an_unclosed_block_closes_it_there() -> None:
    text = 'contract "a" {\n    ratio write/read < 0.3\ncontract "b" {\n    drift action < 0.2\n}\n'
    result = compile_source(text, "policy.nomo")
    assert [(d.code, d.line) for d in result.diagnostics] == [("NMO106", 1)]
    assert "before line 3" in (result.diagnostics[0].help or "")


def test_deep_and_unbalanced_braces_give_diagnostics_not_exceptions() -> None:
    for text in ("{" * 5000, "}" * 5000, 'contract "a" ' + "{" * 3000 + "}" * 3000):
        outcome = parse_module(SourceFile("policy.nomo", text))
        assert outcome.diagnostics and all(d.is_error for d in outcome.diagnostics)


# ---- did-you-mean --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failing", "word", "meant", "passing"),
    [
        (
            'improt "std/packs/burst_limits"\n',
            "improt",
            "import",
            'import "std/packs/burst_limits"\n',
        ),
        (
            'contract "a" { archtype general }\n',
            "archtype",
            "archetype",
            'contract "a" { archetype general }\n',
        ),
        (
            'contract "a" { certificat "x" }\n',
            "certificat",
            "certificate",
            'contract "a" { certificate "x" }\n',
        ),
        (
            'contract "a" {\n    versoin 3\n}\n',
            "versoin",
            "version",
            'contract "a" {\n    version 3\n}\n',
        ),
        (
            'contract "a" { scope { actoins read } }\n',
            "actoins",
            "actions",
            'contract "a" { scope { actions read } }\n',
        ),
    ],
)
def test_misspelt_keywords_get_nmo210_with_the_keyword(
    failing: str, word: str, meant: str, passing: str
) -> None:
    result = compile_source(failing, "policy.nomo")
    found = [(d.code, underlined(d, result.sources), d.help) for d in result.diagnostics]
    assert ("NMO210", word, f"did you mean `{meant}`?") in found
    assert_clean(passing)


def test_misspelt_standard_archetypes_are_suggested() -> None:
    result = compile_source('contract "a" { archetype sales-agnet }', "policy.nomo")
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "NMO208" and diagnostic.help == "did you mean `sales-agent`?"
    assert_clean('contract "a" { archetype sales-agent }')


# ---- windows and units that used to end the file ------------------------------------------------


def test_window_units_are_read_on_their_line() -> None:
    assert located("ratio write/read < 0.3 over 10 acitons\n") == [("NMO203", 1, "acitons")]
    assert_clean("ratio write/read < 0.3 over 10 minutes\n")
    # On the next line, a word starts the next rule: here an unknown type.
    assert located("ratio write/read < 0.3 over 10 actions\nminutes < 1\n")[0][:2] == ("NMO200", 2)


# ---- characters ----------------------------------------------------------------------------------


def test_a_byte_order_mark_is_accepted() -> None:
    assert_clean("\ufeffratio write/read < 0.3 over 100 actions\n")


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
        ("\x00", "U+0000"),
        ("\u202e", "U+202E"),
        ("\ufeff", "U+FEFF"),
    ],
)
def test_invisible_characters_are_named_by_code_point(char: str, name: str) -> None:
    result = compile_source(f"drift action < 0.2 {char}\ndrift target < 0.2\n", "policy.nomo")
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "NMO108" and name in diagnostic.message
    assert diagnostic.line == 1


@pytest.mark.parametrize(
    "text",
    [
        'contract "bot" {\n    description "x\ud800"\n    invariant a: rate < 1 over 1m\n}\n',
        "invariant a: rate < 1 over 1m  # \udfff\n",
        "invariant a\ud83d: rate < 1 over 1m\n",
    ],
)
def test_a_lone_surrogate_anywhere_is_refused_where_it_stands(text: str) -> None:
    # Only text decoded from JSON can hold one; in a string it used to reach the
    # contract's canonical JSON and fail there (a 500 from POST /v1/check).
    result = compile_source(text, "policy.nomo")
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "NMO108" and "lone surrogate" in diagnostic.message
    assert not result.ok and not result.contracts and not result.invariants
    line = next(
        n
        for n, row in enumerate(text.splitlines(), 1)
        if any(0xD800 <= ord(c) <= 0xDFFF for c in row)
    )
    assert diagnostic.line == line


def test_control_characters_in_strings_are_refused() -> None:
    assert ("NMO105", "\x00") in diagnostics_of('invariant x "a\x00b": drift action < 0.2')
    assert_clean('invariant x "a\tb": drift action < 0.2')


# ---- the expected list never names what was found --------------------------------------------------


def test_the_expected_list_never_names_the_token_found() -> None:
    result = compile_source("no activity outside 8 18\n", "policy.nomo")
    (diagnostic,) = result.diagnostics
    assert diagnostic.message == "unexpected `18` here; expected `-`"
    assert "a number" not in describe_expected({"NUMBER", "MINUS"}, found="NUMBER")


_FOUND = {
    "NUMBER": "a number",
    "PERCENT": "a percent",
    "UNIT_NUMBER": "a duration",
    "STRING": "a quoted string",
    "IDENT": "a name",
    "OVER": "a window",
    "RBRACE": "`}`",
    "COLON": "`:`",
    "SLASH": "`/`",
    "OP": "`<`",
}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(_FOUND)),
    st.sets(st.sampled_from([*_FOUND, "LBRACE", "COMMA", "BETWEEN", "$END", "CONTRACT", "MINUS"])),
)
def test_describe_expected_never_describes_the_found_terminal(
    found: str, expected: set[str]
) -> None:
    assert _FOUND[found] not in describe_expected(expected, found=found)


_SOUP = st.sampled_from(
    [
        "ratio",
        "a/b",
        "<",
        "0.3",
        "over",
        "10",
        "actions",
        "minutes",
        "{",
        "}",
        ":",
        ",",
        "-",
        "contract",
        '"x"',
        "no",
        "single",
        "target",
        "above",
        "at",
        "most",
        "between",
        "and",
        "drift",
        "action",
        "8-18",
        "in",
        "=",
        "per",
        "minute",
        "\n",
        "invariant",
        "x",
        "const",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_SOUP, max_size=20).map(" ".join))
def test_no_message_lists_the_token_it_found(text: str) -> None:
    for diagnostic in compile_source(text, "soup.nomo").diagnostics:
        if diagnostic.code != "NMO100" or "; expected " not in diagnostic.message:
            continue
        found = diagnostic.message.split("`")[1]
        expected = diagnostic.message.split("; expected ", 1)[1]
        assert f"`{found}`" not in expected, diagnostic.message
