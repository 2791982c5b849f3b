"""What a rule measures besides its window: warm-ups, sessions, every term, growth.

Each form lowers exactly; each new diagnostic has a failing and a passing case;
the formatter keeps every form, and ``explain`` puts it in words.
"""

from __future__ import annotations

import pytest

from nomotic_dsl.compiler.explain import explain_spec
from nomotic_dsl.compiler.fmt import format_source
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.ir import InvariantSpec
from tests.language.helpers import codes_of, concise, diagnostics_of, single_spec

# source -> the spec fields it sets (besides id and description)
FORMS: list[tuple[str, dict[str, object]]] = [
    (
        "ratio write/read < 0.3 over 100 actions once full",
        {"type": "ratio", "metric": "write_to_read", "window": 100, "min_actions": 100},
    ),
    (
        "no single target above 60% over 1h after 20 actions",
        {"type": "distribution", "window_seconds": 3600.0, "min_actions": 20},
    ),
    (
        "at least 2 distinct actions over 15m after 5 actions",
        {"type": "count", "metric": "distinct_actions", "window_seconds": 900.0, "min_actions": 5},
    ),
    (
        "no single target above 60% after 50 actions",
        {"metric": "target_max", "window": None, "window_seconds": None, "min_actions": 50},
    ),
    ("drift action < 0.2 after 1 action", {"type": "drift", "min_actions": 1}),
    (
        'fidelity of "refund" above 0.8 over 20 actions after 10 actions',
        {"type": "semantic", "window": 20, "min_actions": 10},
    ),
    ("count distinct_targets <= 5 over 1 action once full", {"window": 1, "min_actions": 1}),
    (
        "count distinct_targets <= 5 per session",
        {"type": "count", "metric": "distinct_targets", "window": None, "per_session": True},
    ),
    ("at most 5 distinct targets per session", {"threshold": 5.0, "per_session": True}),
    (
        "ratio write/read < 0.3 over 20 actions per session once full",
        {"window": 20, "min_actions": 20, "per_session": True},
    ),
    (
        "no single target above 60% over 1h per session after 10 actions",
        {"window_seconds": 3600.0, "min_actions": 10, "per_session": True},
    ),
    ('fidelity of "refund" above 0.8 per session', {"type": "semantic", "per_session": True}),
    ("temporal 8-18 == 0 per session", {"type": "temporal", "per_session": True}),
    (
        "no anchor term shifts more than 15%",
        {"type": "semantic", "metric": "*", "operator": "gte", "threshold": 0.85},
    ),
    (
        "no anchor term shifts more than 0.1 over 10 actions per session",
        {"metric": "*", "threshold": 0.9, "window": 10, "per_session": True},
    ),
    (
        "semantic every term > 0.85 over 10 actions",
        {"metric": "*", "operator": "gt", "threshold": 0.85, "window": 10},
    ),
    (
        "fidelity of every term above 0.8 over 1h after 5 actions",
        {"metric": "*", "operator": "gt", "window_seconds": 3600.0, "min_actions": 5},
    ),
    (
        "rate <= 2x previous over 1h",
        {
            "type": "rate",
            "metric": "action_frequency_growth",
            "operator": "lte",
            "threshold": 2.0,
            "window_seconds": 3600.0,
        },
    ),
    (
        "rate action_frequency < 1.5x previous over 15m per session after 5 actions",
        {"metric": "action_frequency_growth", "threshold": 1.5, "per_session": True},
    ),
    (
        "rate action_frequency_growth < 2 over 1h",
        {"metric": "action_frequency_growth", "threshold": 2.0, "window_seconds": 3600.0},
    ),
]


@pytest.mark.parametrize(("source", "expected"), FORMS, ids=[form for form, _ in FORMS])
def test_form_lowers_exactly(source: str, expected: dict[str, object]) -> None:
    spec = single_spec(source)
    assert {name: spec.get(name) for name in expected} == expected
    assert spec["description"] == source
    assert InvariantSpec.from_dict(spec).to_dict() == spec


@pytest.mark.parametrize("source", [form for form, _ in FORMS])
def test_the_formatter_keeps_every_form(source: str) -> None:
    assert format_source(source) == source + "\n"
    assert format_source("  ".join(source.split(" ")) + "\n") == source + "\n"


def test_a_rule_without_a_warm_up_has_the_seeds_nine_keys_and_its_old_id() -> None:
    spec = single_spec("ratio write/read < 0.3 over 100 actions")
    assert "min_actions" not in spec and len(spec) == 9
    warm = single_spec("ratio write/read < 0.3 over 100 actions once full")
    assert warm["invariant_id"] != spec["invariant_id"]


def test_explain_says_when_a_rule_starts_to_be_measured() -> None:
    result = compile_source(
        "ratio write/read < 0.3 over 100 actions once full\n"
        "no single target above 60% after 20 actions\n"
    )
    first, second = (explain_spec(spec) for spec in result.invariants)
    assert first == (
        "The write-to-read ratio must stay below 0.3, measured over the last 100 actions; "
        "it is not measured until the window holds 100 actions."
    )
    assert second.endswith(
        "over the agent's whole recorded history; it is not measured until 20 actions are recorded."
    )


# (code, failing source, underlined snippet, message fragment, passing source)
DIAGNOSTICS: list[tuple[str, str, str, str, str]] = [
    (
        "NMO320",
        "ratio write/read < 0.3 over 1h once full",
        "once full",
        "a time window is never full",
        "ratio write/read < 0.3 over 1h after 20 actions",
    ),
    (
        "NMO320",
        "ratio write/read < 0.3 once full",
        "once full",
        "needs a window of N actions to fill",
        "ratio write/read < 0.3 after 20 actions",
    ),
    (
        "NMO320",
        "ratio write/read < 0.3 over 10 actions after 20 actions",
        "after 20 actions",
        "is never reached: the window holds at most 10 actions",
        "ratio write/read < 0.3 over 10 actions after 10 actions",
    ),
    (
        "NMO320",
        "ratio write/read < 0.3 over 10 actions once full after 5 actions",
        "once full after 5 actions",
        "give one warm-up",
        "ratio write/read < 0.3 over 10 actions after 5 actions",
    ),
    (
        "NMO321",
        "drift action < 0.2 per session",
        "per session",
        "a drift rule reads the runtime's drift scores",
        "drift action < 0.2",
    ),
    (
        "NMO320",
        "count distinct_targets <= 5 per session once full",
        "once full",
        "needs a window of N actions to fill",
        "count distinct_targets <= 5 over 50 actions per session once full",
    ),
    (
        "NMO201",
        'semantic "*" > 0.8',
        '"*"',
        "is not a term name",
        "semantic every term > 0.8",
    ),
    (
        "NMO201",
        "ratio every term < 3",
        "every term",
        "this is not a ratio metric",
        "ratio write/read < 3",
    ),
    (
        "NMO300",
        "no anchor term shifts more than 150%",
        "150%",
        "is not a share of the baseline",
        "no anchor term shifts more than 15%",
    ),
    (
        "NMO306",
        "no anchor term shifts more than 1h",
        "1h",
        "is a duration, not a threshold",
        "no anchor term shifts more than 15% over 1h",
    ),
    (
        "NMO402",
        'contract "bot" { no anchor term shifts more than 15% }',
        "no anchor term shifts more than 15%",
        "declares no anchor, so a rule over every anchor term has nothing to check",
        'contract "bot" { anchor "refund" { description "refunds" } '
        "no anchor term shifts more than 15% }",
    ),
    (
        "NMO322",
        "rate < 2x previous over 100 actions",
        "2x previous",
        "needs a time window",
        "rate < 2x previous over 1h",
    ),
    (
        "NMO322",
        "rate < 2x previous",
        "2x previous",
        "needs a time window",
        "rate < 2x previous over 30m",
    ),
    (
        "NMO322",
        "rate action_frequency_growth < 2",
        "rate action_frequency_growth < 2",
        "needs a time window",
        "rate action_frequency_growth < 2 over 1h",
    ),
    (
        "NMO322",
        "ratio write/read < 2x previous over 1h",
        "2x previous",
        "can only bound a rate rule with one threshold",
        "ratio write/read < 2 over 1h",
    ),
    (
        "NMO322",
        "rate between 1x previous and 2x previous over 1h",
        "1x previous",
        "can only bound a rate rule with one threshold",
        "rate < 2x previous over 1h",
    ),
    (
        "NMO203",
        "rate < 2y previous over 1h",
        "2y",
        "unknown multiplier unit `y`",
        "rate < 2x previous over 1h",
    ),
    (
        "NMO104",
        "ratio write/read < 0.3 after 5",
        "5",
        "`after 5` has no unit",
        "ratio write/read < 0.3 after 5 actions",
    ),
    (
        "NMO306",
        "ratio write/read < 0.3 after 1h",
        "1h",
        "counts actions, not time",
        "ratio write/read < 0.3 over 1h",
    ),
    (
        "NMO303",
        "ratio write/read < 0.3 after 0 actions",
        "0",
        "not a whole number of at least 1",
        "ratio write/read < 0.3 after 1 action",
    ),
    (
        "NMO303",
        "ratio write/read < 0.3 after 2.5 actions",
        "2.5",
        "not a whole number of at least 1",
        "ratio write/read < 0.3 after 2 actions",
    ),
]


@pytest.mark.parametrize(
    ("code", "failing", "snippet", "fragment", "passing"),
    DIAGNOSTICS,
    ids=[f"{case[0]}:{case[1]}" for case in DIAGNOSTICS],
)
def test_diagnostic_fails_and_passes(
    code: str, failing: str, snippet: str, fragment: str, passing: str
) -> None:
    result = compile_source(failing, "policy.nomo")
    assert [(d.code, d.severity) for d in result.diagnostics] == [(code, "error")]
    assert fragment in result.diagnostics[0].message
    assert diagnostics_of(failing) == [(code, snippet)]
    assert not result.invariants
    clean = compile_source(passing, "policy.nomo")
    assert clean.ok and not clean.diagnostics, [str(d) for d in clean.diagnostics]


def test_warm_ups_in_a_contract_and_a_pack() -> None:
    result = compile_source(
        "pack spread { no single target above 60% over 100 actions once full }\n"
        'contract "bot" { use spread\n ratio write/read < 0.3 over 50 actions after 10 actions }'
    )
    assert result.ok, [str(d) for d in result.diagnostics]
    (contract,) = result.contracts
    assert [spec.get("min_actions") for spec in contract.invariants] == [100, 10]


def test_rules_with_different_warm_ups_are_not_reported_redundant() -> None:
    result = compile_source(
        "ratio write/read < 0.3 over 100 actions\nratio write/read < 0.5 over 100 actions once full"
    )
    assert result.ok and not result.diagnostics
    same = compile_source(
        "ratio write/read < 0.3 over 100 actions once full\n"
        "ratio write/read < 0.5 over 100 actions once full"
    )
    assert [d.code for d in same.diagnostics] == ["NMO501"]


def test_a_session_rule_and_a_global_one_are_not_compared() -> None:
    result = compile_source(
        "count distinct_targets <= 5 per session\ncount distinct_targets <= 3\n"
        "count distinct_targets <= 4 per session"
    )
    # The looser session rule (line 1) is implied by the other session rule (line 3);
    # the global rule on line 2 is compared with neither.
    assert [d.code for d in result.diagnostics] == ["NMO501"]
    assert result.diagnostics[0].line == 1
    assert "<input>:3" in result.diagnostics[0].message


def test_explain_names_the_session() -> None:
    result = compile_source("count distinct_targets <= 5 per session")
    assert explain_spec(result.invariants[0]) == (
        "The number of distinct targets must stay at or below 5, measured over the actions "
        "of the current session."
    )


def test_explain_an_every_term_rule() -> None:
    result = compile_source("no anchor term shifts more than 15%")
    assert explain_spec(result.invariants[0]) == (
        "The lowest semantic fidelity of any anchor term (1 minus how far the term has shifted "
        "from its baseline; the term is named in each result) must stay at or above 0.85, "
        "as reported in the agent's behavioral state."
    )


def test_the_baseline_and_the_previous_forms_stay_apart() -> None:
    result = compile_source(
        'archetype shop { baseline rate 0.02 }\ncontract "bot" { archetype shop\n'
        "rate < 2x baseline over 1h\nrate < 2x previous over 1h }"
    )
    assert result.ok, [str(d) for d in result.diagnostics]
    baseline, previous = result.contracts[0].invariants
    assert (baseline["metric"], baseline["threshold"]) == ("action_frequency", 0.04)
    assert (previous["metric"], previous["threshold"]) == ("action_frequency_growth", 2.0)


def test_explain_a_growth_rule() -> None:
    result = compile_source("rate <= 2x previous over 1h")
    assert explain_spec(result.invariants[0]) == (
        "The number of actions in the last hour, divided by the number in the hour before, "
        "must stay at or below 2 (the agent's own earlier rate is the baseline); it is not "
        "measured until the recorded actions reach back 2 hours and the hour before holds "
        "an action."
    )


# ---- the four forms under the front end's rules (units, the line rule, one spec or an error) ----

# (failing source, [(code, underlined snippet)], a message fragment of the first)
UNIT_TYPED: list[tuple[str, list[tuple[str, str]], str]] = [
    # A multiple used as a window is an error, never a rule silently dropped.
    ("count distinct_targets <= 5 over 2x previous", [("NMO306", "2x previous")], "a window is"),
    ("count distinct_targets <= 5 over 2x baseline", [("NMO306", "2x baseline")], "a window is"),
    (
        "ratio write/read < 0.3 after 20 minutes",
        [("NMO306", "minutes")],
        "counts actions, not time",
    ),
    ("ratio write/read < 0.3 after 20 acitons", [("NMO203", "acitons")], "unknown warm-up unit"),
    ("ratio write/read < 0.3 over 15 minutes once full", [("NMO320", "once full")], "never full"),
    ("rate < 5 per session over 1h", [("NMO203", "per session")], "`per session` is not a unit"),
    ("count distinct_targets <= 5 per session per session", [("NMO100", "per session")], "twice"),
    ("count distinct_targets <= 5 over 100 per session", [("NMO104", "100")], "has no unit"),
    ("count distinct_targets <= 2x previous over 1h", [("NMO322", "2x previous")], "rate rule"),
    (
        "rate action_frequency_growth < 5 per minute over 1h",
        [("NMO306", "5 per minute")],
        "a bound on the rate growth is a plain number",
    ),
    (
        "ratio write/read < 0.3 over 100 actions once\nratio write/read < 0.5",
        [("NMO107", "once")],
        "the line ends inside an unfinished statement",
    ),
]


@pytest.mark.parametrize(
    ("source", "expected", "fragment"), UNIT_TYPED, ids=[case[0] for case in UNIT_TYPED]
)
def test_the_new_forms_are_unit_typed_and_never_dropped(
    source: str, expected: list[tuple[str, str]], fragment: str
) -> None:
    from tests.language.test_every_rule import account_for_every_rule

    result = compile_source(source, "policy.nomo")
    assert diagnostics_of(source) == expected
    assert fragment in result.diagnostics[0].message
    assert not result.ok
    account_for_every_rule(source)


def test_per_session_after_a_number_or_a_constant_is_the_qualifier() -> None:
    # After a number or a name, LALR(1) reads `per` as the start of a rate (`5 per minute`);
    # the AST builder gives `N per session` at the end of a rule back to the qualifier.
    for source in (
        "count distinct_targets <= 5 per session",
        "const N = 5\ncount distinct_targets <= N per session",
        "const W = 1h\nrate < 2x previous over W per session",
        "rate < 5 per minute per session",
        "count distinct_targets between 2 and 5 per session",
    ):
        result = compile_source(source, "policy.nomo")
        assert result.ok and not result.diagnostics, concise(result)
        (spec,) = result.invariants
        assert spec.per_session, source
        assert format_source(source) == source + "\n"
    assert single_spec("rate < 5 per minute per session")["threshold"] == 5 / 60


def test_a_growth_bound_far_below_one_is_vacuous() -> None:
    assert codes_of("rate < 0x previous over 1h") == ["NMO310"]
