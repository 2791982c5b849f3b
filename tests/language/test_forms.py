"""Every rule form of the language page lowers exactly as listed."""

from __future__ import annotations

import pytest

from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.runtime.interpreter import CompiledInvariants
from tests.language.helpers import concise, single_spec

# source -> (type, metric, operator, threshold, threshold_upper, window, window_seconds)
FORMS: list[tuple[str, tuple[object, ...]]] = [
    (
        "ratio write/read < 0.3 over 100 actions",
        ("ratio", "write_to_read", "lt", 0.3, None, 100, None),
    ),
    ("distribution target_max < 0.6", ("distribution", "target_max", "lt", 0.6, None, None, None)),
    (
        "distribution action_max <= 50% over 1h",
        ("distribution", "action_max", "lte", 0.5, None, None, 3600.0),
    ),
    ("drift action < 0.20", ("drift", "action", "lt", 0.2, None, None, None)),
    ("drift overall between 0.05 and 0.3", ("drift", "overall", "between", 0.05, 0.3, None, None)),
    (
        'semantic "research" > 0.85 over 10 actions',
        ("semantic", "research", "gt", 0.85, None, 10, None),
    ),
    ("temporal 8-18 == 0", ("temporal", "8-18", "eq", 0.0, None, None, None)),
    (
        "rate action_frequency <= 0.5 over 60s",
        ("rate", "action_frequency", "lte", 0.5, None, None, 60.0),
    ),
    (
        "count distinct_targets <= 5 over 50 actions",
        ("count", "distinct_targets", "lte", 5.0, None, 50, None),
    ),
    (
        "count distinct_actions >= 2 over 15m",
        ("count", "distinct_actions", "gte", 2.0, None, None, 900.0),
    ),
    (
        'temporal 8-18 in "America/New_York" == 0',
        ("temporal", "8-18@America/New_York", "eq", 0.0, None, None, None),
    ),
    ("no activity outside 8-18", ("temporal", "8-18", "eq", 0.0, None, None, None)),
    (
        'no activity outside 22-6 in "Europe/Berlin"',
        ("temporal", "22-6@Europe/Berlin", "eq", 0.0, None, None, None),
    ),
    (
        "at most 5 distinct targets over 50 actions",
        ("count", "distinct_targets", "lte", 5.0, None, 50, None),
    ),
    (
        "at least 2 distinct actions over 15m",
        ("count", "distinct_actions", "gte", 2.0, None, None, 900.0),
    ),
    ("no single target above 60%", ("distribution", "target_max", "lte", 0.6, None, None, None)),
    (
        "no single action above 50% over 100 actions",
        ("distribution", "action_max", "lte", 0.5, None, 100, None),
    ),
    (
        'fidelity of "research" above 0.85 over 10 actions',
        ("semantic", "research", "gt", 0.85, None, 10, None),
    ),
    ("drift target below 0.3", ("drift", "target", "lt", 0.3, None, None, None)),
    (
        "count distinct_targets at most 5 over 1 action",
        ("count", "distinct_targets", "lte", 5.0, None, 1, None),
    ),
    (
        "count distinct_targets at least 1 over 2d",
        ("count", "distinct_targets", "gte", 1.0, None, None, 172800.0),
    ),
    ("drift overall exactly 0", ("drift", "overall", "eq", 0.0, None, None, None)),
    ("ratio write_to_read >= 0.1", ("ratio", "write_to_read", "gte", 0.1, None, None, None)),
    ("rate < 0.5 over 30s", ("rate", "action_frequency", "lt", 0.5, None, None, 30.0)),
]

FIELDS = ("type", "metric", "operator", "threshold", "threshold_upper", "window", "window_seconds")


@pytest.mark.parametrize(("source", "expected"), FORMS, ids=[form for form, _ in FORMS])
def test_form_lowers_exactly(source: str, expected: tuple[object, ...]) -> None:
    spec = single_spec(source)
    assert tuple(spec[name] for name in FIELDS) == expected
    assert spec["description"] == source  # the author's words, whitespace normalised
    assert str(spec["invariant_id"]).startswith("inv-")


def test_a_file_of_plain_forms_is_a_valid_policy_and_compiles() -> None:
    text = "\n".join(form for form, _ in FORMS[:10])
    result = compile_source(text)
    assert result.ok, concise(result)
    assert [spec.type for spec in result.invariants] == [e[0] for _, e in FORMS[:10]]
    assert len(CompiledInvariants.compile(result.invariants).evaluate({"actions": []})) == 10


def test_named_invariant_uses_its_name_and_description() -> None:
    spec = single_spec(
        'invariant few_writes "Writes stay rare": ratio write/read < 0.3 over 100 actions'
    )
    assert spec["invariant_id"] == "few_writes"
    assert spec["description"] == "Writes stay rare"


def test_constants_percent_and_duration() -> None:
    text = (
        "const CEILING = 30%\nconst SPAN = 15m\nconst N = 100\n"
        "ratio write/read < CEILING over N actions\ncount distinct_actions >= 2 over SPAN"
    )
    result = compile_source(text)
    assert result.ok, concise(result)
    first, second = (spec.to_dict() for spec in result.invariants)
    assert (first["threshold"], first["window"]) == (0.3, 100)
    assert second["window_seconds"] == 900.0


def test_descriptions_normalise_whitespace_and_ids_ignore_it() -> None:
    spaced = single_spec("ratio   write/read   <  0.3\n     over 100 actions")
    plain = single_spec("ratio write/read < 0.3 over 100 actions")
    assert spaced["description"] == "ratio write/read < 0.3 over 100 actions"
    assert spaced["invariant_id"] == plain["invariant_id"]


def test_comments_and_escapes() -> None:
    spec = single_spec(
        '# a comment\ninvariant x "say \\"hi\\" \\\\ now": drift action < 0.2 # tail'
    )
    assert spec["description"] == 'say "hi" \\ now'
