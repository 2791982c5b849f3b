"""What ``nomo init`` writes: a policy, its tests and a CI workflow, ready to run.

Input: the agent id of the policy's contract. Output: file name -> text, in
the order they are written. Stage: the library behind ``nomo init``; the
texts are templates filled with a checked agent id (letters, digits and
``_ . : @ -``), so they always compile and their tests pass (a test checks
both, and runs the workflow's commands).
"""

from __future__ import annotations

import re

AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}")

POLICY = """\
# The policy of {agent}: what it may do and what normal looks like.
# `nomo check .` checks it, `nomo explain policy.nomo` says it in words,
# `nomo test .` runs policy.nomotest, the tests beside it.

contract "{agent}" {{
    archetype general
    scope {{
        actions read, reply, escalate
        targets tickets, knowledge_base
    }}
    expected actions {{ read 60%, reply 30%, escalate 10% }}
    drift thresholds {{ action 0.2 }}
    invariant replies_follow_reads "Replies never outnumber reads": ratio reply/read < 1.0 over 50 actions
    invariant working_hours "Work happens 08:00-20:00 UTC": no activity outside 8-20
    invariant no_runaway "At most one action a second in any minute": rate <= 1 over 1m
}}
"""

TESTS = """\
# Tests of policy.nomo (beside this file): `nomo test .` runs them.
# Each test replays observations through the same runtime as `nomo run` and checks
# what the rules decided. docs/testing.md describes the format.
contract "{agent}"
start "2024-04-08 09:00" in "UTC"

test "an ordinary morning keeps every rule" {{
    observe 5 read on tickets, knowledge_base every 1m
    observe 100 read 60%, reply 30%, escalate 10% on tickets 70%, knowledge_base 30% every 2m
    expect no violations
    expect no scope violations
}}

test "more replies than reads break replies_follow_reads" {{
    observe 20 read on tickets every 1m
    observe 30 reply on tickets every 1m
    expect replies_follow_reads never violated to line 39
    expect replies_follow_reads first violated at line 40
}}

test "work after 20:00 breaks working_hours" {{
    clock "19:58"
    observe 4 read on tickets every 1m
    expect working_hours satisfied at line 2
    expect working_hours first violated at line 3
}}

test "deleting is outside the scope" {{
    observe 3 read on tickets every 1m
    observe delete on tickets
    expect scope first violated at line 4
}}
"""

WORKFLOW = """\
# Checks, formatting and tests of the .nomo policies on every push and pull request.
name: policies
on:
  push:
  pull_request:
jobs:
  nomo:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install nomo
        run: python -m pip install nomotic-dsl
      - name: Check the policies (problems become annotations on the pull request)
        run: nomo check --format github .
      - name: Check their layout
        run: nomo fmt --check .
      - name: Run the policy tests
        run: nomo test . --junit nomo-tests.xml
      - name: Keep the test report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: nomo-tests
          path: nomo-tests.xml
"""

FILES: tuple[tuple[str, str], ...] = (
    ("policy.nomo", POLICY),
    ("policy.nomotest", TESTS),
    (".github/workflows/nomo.yml", WORKFLOW),
)


def scaffold(agent: str) -> list[tuple[str, str]]:
    """The files ``nomo init`` writes for ``agent`` (ValueError for an id it cannot use)."""
    if not AGENT_ID.fullmatch(agent):
        raise ValueError(
            f"agent id {agent!r} must be 1-100 letters, digits and _ . : @ - (starting with a "
            "letter or digit)"
        )
    return [(name, text.format(agent=agent)) for name, text in FILES]
