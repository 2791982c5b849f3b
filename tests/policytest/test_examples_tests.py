"""Every example's tests pass, and loosening the rule that catches its incident fails them.

The mutation proof: each example folder is copied, one rule of its policy is loosened
(a bound raised, hours widened, a target let into scope), and the copy's tests must then
fail, naming that rule.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nomotic_dsl.policytest.runner import run_paths
from tests.policytest.helpers import ROOT, failure_lines

EXAMPLES = ROOT / "examples"
SCENARIOS = sorted(path.parent.name for path in EXAMPLES.glob("*/policy.nomotest"))

# (example, text in policy.nomo, loosened text, the name the failures must mention)
LOOSENINGS = [
    ("customer_support", "REPLY_CEILING = 1.0", "REPLY_CEILING = 3.0", "replies_follow_reads"),
    ("customer_support", "REFUND_FIDELITY = 85%", "REFUND_FIDELITY = 50%", "refunds_on_topic"),
    ("data_pipeline", "DELETE_CEILING = 25%", "DELETE_CEILING = 60%", "careful_deletes"),
    ("data_pipeline", "above 70% over 100", "above 90% over 100", "no_single_step_loop"),
    (
        "financial_analysis",
        "target above 60% over 100",
        "target above 80% over 100",
        "no_ledger_fixation",
    ),
    ("financial_analysis", "outside 7-19 in", "outside 0-24 in", "market_hours"),
    (
        "research_assistant",
        'semantic "research" > 0.85',
        'semantic "research" > 0.5',
        "stays_on_brief",
    ),
    ("healthcare_scheduling", "temporal 7-19 in", "temporal 2-19 in", "clinic_hours"),
    ("healthcare_scheduling", '"scheduling" above 0.8', '"scheduling" above 0.5', "on_task"),
    ("fleet", "reply/read < 1.5 over 50", "reply/read < 3 over 50", "replies_follow_reads"),
    ("fleet", "delete/read < 0.5 over 40", "delete/read < 2 over 40", "few_deletes"),
    (
        "fleet",
        "targets raw_data, staging, warehouse",
        "targets raw_data, staging, warehouse, prod_database",
        "scope",
    ),
    (
        "fleet",
        "drift thresholds { target 0.15 }",
        "drift thresholds { target 0.5 }",
        "drift target",
    ),
]


def test_every_example_has_tests() -> None:
    assert set(SCENARIOS) == {path.parent.name for path in EXAMPLES.glob("*/policy.nomo")}


@pytest.mark.parametrize("name", SCENARIOS)
def test_example_tests_pass(name: str) -> None:
    run = run_paths([EXAMPLES / name])
    assert not run.errors, run.errors
    assert run.failed == 0, failure_lines(run)
    assert run.passed >= 3


@pytest.mark.parametrize(
    ("name", "rule", "loosened", "mentioned"),
    LOOSENINGS,
    ids=[f"{name}-{mentioned}" for name, _, _, mentioned in LOOSENINGS],
)
def test_loosening_the_rule_that_catches_the_incident_fails_its_tests(
    tmp_path: Path, name: str, rule: str, loosened: str, mentioned: str
) -> None:
    copy = tmp_path / name
    shutil.copytree(EXAMPLES / name, copy)
    policy = copy / "policy.nomo"
    text = policy.read_text(encoding="utf-8")
    assert text.count(rule) == 1, f"{rule!r} is not in {name}/policy.nomo once"
    policy.write_text(text.replace(rule, loosened), encoding="utf-8")
    run = run_paths([copy])
    assert not run.errors, run.errors
    assert run.failed >= 1, f"loosening {rule!r} left every test of {name} passing"
    expectations = [f.expected for o in run.outcomes for f in o.failures]
    assert any(mentioned in expected for expected in expectations), expectations
