"""Every checker rule: a failing case (code and underlined snippet) and a passing case."""

from __future__ import annotations

import pytest

from tests.language.helpers import codes_of, diagnostics_of

CONTRACT = """
archetype shop {{ actions {{ read 50%, write 50% }} baseline rate 0.02 }}
contract "bot" {{
    archetype shop
    scope {{ actions read, write  targets db }}
    anchor "refund" {{ actions write description "refunds" }}
    {body}
}}
"""

# (code, failing source, underlined snippet, passing source)
CASES: list[tuple[str, str, str, str]] = [
    ("NMO100", "ratio write/read < 0.3 over 100 actions }", "}", "ratio write/read < 0.3"),
    ("NMO101", "ratio write/read <", "<", "ratio write/read < 1"),
    ("NMO102", "drift action = 0.2", "=", "drift action == 0.2"),
    ("NMO103", "drift action => 0.2", "=>", "drift action >= 0.2"),
    (
        "NMO104",
        "count distinct_targets <= 5 over 60",
        "60",
        "count distinct_targets <= 5 over 60 actions",
    ),
    (
        "NMO105",
        'invariant a "bad \\q": drift action < 0.2',
        "\\q",
        'invariant a "ok": drift action < 0.2',
    ),
    ("NMO200", "ratoi write/read < 0.3", "ratoi", "ratio write/read < 0.3"),
    ("NMO201", "distribution target_mx < 0.6", "target_mx", "distribution target_max < 0.6"),
    ("NMO202", "drift action != 0.2", "!= 0.2", "drift action <= 0.2"),
    ("NMO203", "rate < 0.5 over 10y", "10y", "rate < 0.5 over 10d"),
    (
        "NMO204",
        "const LIMIT = 5\ncount distinct_targets <= LIMT",
        "LIMT",
        "const LIMIT = 5\ncount distinct_targets <= LIMIT",
    ),
    ("NMO205", 'import "./nowhere"', 'import "./nowhere"', 'import "std/packs/drift_guard"'),
    ("NMO207", "const A = 1\nconst A = 2", "A", "const A = 1\nconst B = 2"),
    (
        "NMO208",
        'contract "x" { archetype custmer-experience }',
        "custmer-experience",
        'contract "x" { archetype customer-experience }',
    ),
    (
        "NMO209",
        'contract "x" { use nothing_here }',
        "nothing_here",
        'import "std/packs/drift_guard"\ncontract "x" { use drift_guard }',
    ),
    (
        "NMO210",
        'contract "x" { trust { inital 0.5 } }',
        "inital",
        'contract "x" { trust { initial 0.5 } }',
    ),
    ("NMO300", "drift action < 1.5", "1.5", "drift action < 0.5"),
    ("NMO300", "no single target above 160%", "160%", "no single target above 60%"),
    (
        "NMO301",
        "drift overall between 0.3 and 0.05",
        "0.3 and 0.05",
        "drift overall between 0.05 and 0.3",
    ),
    ("NMO302", "no activity outside 8-25", "25", "no activity outside 8-24"),
    ("NMO302", "temporal 8-8 == 0", "8-8", "temporal 8-9 == 0"),
    ("NMO303", "rate < 1 over 0 actions", "0", "rate < 1 over 1 action"),
    ("NMO303", "rate < 1 over 2.5 actions", "2.5", "rate < 1 over 2 actions"),
    ("NMO303", "rate < 1 over 0s", "0s", "rate < 1 over 1s"),
    ("NMO303", "rate < 1 over -3 actions", "-3", "rate < 1 over 3 actions"),
    ("NMO304", "at most 2.5 distinct targets", "2.5", "at most 2 distinct targets"),
    (
        "NMO305",
        'no activity outside 8-18 in "Mars/Olympus"',
        '"Mars/Olympus"',
        'no activity outside 8-18 in "Europe/Paris"',
    ),
    ("NMO306", "drift action < 1h", "1h", "drift action < 0.1"),
    (
        "NMO307",
        "rate < 2x baseline over 1h",
        "2x baseline",
        CONTRACT.format(body="rate < 2x baseline over 1h"),
    ),
    (
        "NMO307",
        'contract "x" { archetype general  rate < 2x baseline }',
        "2x baseline",
        'contract "x" { archetype customer-experience  rate < 2x baseline }',
    ),
    (
        "NMO308",
        "archetype a { actions { read 60%, write 60% } }",
        "actions { read 60%, write 60% }",
        "archetype a { actions { read 40%, write 60% } }",
    ),
    (
        "NMO400",
        CONTRACT.format(body="ratio delete/read < 0.1"),
        "delete",
        CONTRACT.format(body="ratio write/read < 0.1"),
    ),
    (
        "NMO400",
        CONTRACT.format(body='anchor "x" { actions erase }'),
        "erase",
        CONTRACT.format(body='anchor "x" { actions read }'),
    ),
    (
        "NMO402",
        CONTRACT.format(body='fidelity of "refnd" above 0.8'),
        '"refnd"',
        CONTRACT.format(body='fidelity of "refund" above 0.8'),
    ),
    ("NMO403", "drift behaviour < 0.2", "behaviour", "drift outcome < 0.2"),
    (
        "NMO403",
        'contract "x" { drift thresholds { actoin 0.2 } }',
        "actoin",
        'contract "x" { drift thresholds { action 0.2 } }',
    ),
    (
        "NMO404",
        'contract "x" { trust { initial 0.1 floor 0.5 } }',
        'contract "x" { trust { initial 0.1 floor 0.5 } }',
        'contract "x" { trust { initial 0.6 floor 0.5 } }',
    ),
    ("NMO405", 'contract "x" { version 1 version 2 }', "version 2", 'contract "x" { version 2 }'),
    (
        "NMO500",
        "drift action < 0.2\ndrift action > 0.5",
        "drift action > 0.5",
        "drift action < 0.2\ndrift action > 0.1",
    ),
    (
        "NMO501",
        "drift action < 0.2\ndrift action < 0.5",
        "drift action < 0.5",
        "drift action < 0.2\ndrift target < 0.5",
    ),
]


@pytest.mark.parametrize(
    ("code", "failing", "snippet", "passing"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_checker_rule(code: str, failing: str, snippet: str, passing: str) -> None:
    found = diagnostics_of(failing)
    assert (code, snippet) in found, found
    assert code not in codes_of(passing), diagnostics_of(passing)


def test_warning_for_prior_outside_scope_is_not_an_error() -> None:
    text = 'contract "x" { archetype customer-experience  scope { actions read, reply } }'
    found = diagnostics_of(text)
    assert found == [("NMO401", "customer-experience")]


def test_one_run_reports_every_error() -> None:
    text = "drift action < 1.5\ndistribution target_mx < 0.6\nrate < 1 over 0 actions"
    assert codes_of(text) == ["NMO300", "NMO201", "NMO303"]


def test_redundancy_across_pack_and_contract() -> None:
    text = 'import "std/packs/drift_guard"\ncontract "x" { use drift_guard  drift action < 0.5 }'
    assert ("NMO501", "drift action < 0.5") in diagnostics_of(text)
