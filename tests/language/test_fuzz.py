"""No input, however malformed, produces a traceback: only diagnostics come back."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark.lexer import PatternStr

from nomotic_dsl.compiler.diagnostics import CODES
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.compiler.syntax.parser import nomo_parser

_SPACE = st.sampled_from([" ", "\n", "  ", "\t"])
_WORDS = st.sampled_from(
    [
        "read",
        "write",
        "tickets",
        "action",
        "target",
        "overall",
        "target_max",
        "distinct_targets",
        "action_frequency",
        "ratio",
        "drift",
        "rate",
        "count",
        "temporal",
        "semantic",
        "general",
        "customer-experience",
        "MAX",
        "initial",
        "floor",
        "x",
        "actions",
        "seconds",
    ]
)
_IDENT = st.one_of(_WORDS, st.from_regex(r"[A-Za-z][A-Za-z0-9_\-]{0,8}", fullmatch=True))
_NUMBER = st.one_of(
    st.integers(0, 200).map(str), st.sampled_from(["0.3", "0.05", "1.5", "2.5", "24", "25"])
)
_STRING = st.one_of(
    st.sampled_from(
        [
            '"research"',
            '"Europe/Berlin"',
            '"std/packs/drift_guard"',
            '"a\\"b"',
            '"x\\q"',
            '""',
            '"Mars/Olympus"',
        ]
    ),
    st.from_regex(r'"[a-z /_]{0,10}"', fullmatch=True),
)
_UNIT = st.builds(
    lambda n, u: f"{n}{u}",
    st.integers(0, 90),
    st.sampled_from(["s", "m", "h", "d", "x", "y", "ms"]),
)


def _explicit() -> dict[str, st.SearchStrategy[str]]:
    """Every terminal followed by whitespace, so generated programs tokenize as intended."""
    parser = nomo_parser()
    strategies: dict[str, st.SearchStrategy[str]] = {
        "IDENT": _IDENT,
        "NUMBER": _NUMBER,
        "STRING": _STRING,
        "UNIT_NUMBER": _UNIT,
        "PERCENT": st.integers(0, 150).map(lambda n: f"{n}%"),
        "OP": st.sampled_from(["<", "<=", ">", ">=", "==", "=", "=>", "=<", "!=", "<>"]),
        "COMMENT": st.just("# note"),
        # Declared in the grammar, made by the parse driver from a word after `over N`.
        "WINDOW_UNIT": st.sampled_from(["minutes", "hours", "acitons", "days", "s", "weeks"]),
    }
    explicit: dict[str, st.SearchStrategy[str]] = {}
    explicit["WINDOW_UNIT"] = st.tuples(strategies["WINDOW_UNIT"], _SPACE).map("".join)
    for terminal in parser.terminals:
        if terminal.name in strategies:
            base = strategies[terminal.name]
        elif isinstance(terminal.pattern, PatternStr):
            base = st.just(terminal.pattern.value)
        else:
            continue
        explicit[terminal.name] = st.tuples(base, _SPACE).map("".join)
    return explicit


PROGRAMS = from_lark(nomo_parser(), explicit=_explicit())


def _only_diagnostics(text: str) -> None:
    result = compile_source(text, "fuzz.nomo")
    assert all(d.code in CODES for d in result.diagnostics)
    assert result.ok == (not any(d.is_error for d in result.diagnostics))
    if result.ok:
        for spec in result.invariants:
            assert spec.validate() == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS)
def test_grammar_generated_programs_give_only_diagnostics(text: str) -> None:
    _only_diagnostics(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_random_text_gives_only_diagnostics(text: str) -> None:
    _only_diagnostics(text)


_FRAGMENTS = st.sampled_from(
    [
        "ratio",
        "write/read",
        "<",
        "0.3",
        "over",
        "100",
        "actions",
        "60",
        "contract",
        '"x"',
        "{",
        "}",
        "no",
        "single",
        "target",
        "above",
        "60%",
        "at",
        "most",
        "distinct",
        "between",
        "and",
        "import",
        '"./x"',
        "const",
        "=",
        "invariant",
        "a",
        ":",
        "1h",
        "2x",
        "baseline",
        "drift",
        "thresholds",
        "-",
        "8-18",
        "in",
        "pack",
        "use",
        "archetype",
        "scope",
        "#c\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=25).map(" ".join))
def test_token_soup_gives_only_diagnostics(text: str) -> None:
    _only_diagnostics(text)
