"""Shared helpers: a folder holding a policy and its test file, and running them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from nomotic_dsl.policytest.runner import TestRun, run_paths

ROOT = Path(__file__).resolve().parents[2]

# A support bot held to two rules, one contract, no imports.
SUPPORT_POLICY = """\
contract "bot" {
    archetype general
    scope {
        actions read, reply
        targets tickets
    }
    expected actions { read 50%, reply 50% }
    drift thresholds { action 0.3 }
    invariant replies_follow_reads: ratio reply/read < 1.0 over 20 actions
    invariant office_hours: no activity outside 8-20 in "America/New_York"
}
"""


def write_project(folder: Path, tests: str, policy: str = SUPPORT_POLICY) -> Path:
    """``policy.nomo`` and ``policy.nomotest`` in ``folder``; the test file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.nomo").write_text(policy, encoding="utf-8")
    path = folder / "policy.nomotest"
    path.write_text(textwrap.dedent(tests), encoding="utf-8")
    return path


def run_tests(folder: Path, tests: str, policy: str = SUPPORT_POLICY) -> TestRun:
    """Write the project and run its tests in process."""
    return run_paths([write_project(folder, tests, policy)])


def nomo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``nomo`` program (``python -m nomotic_dsl``) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def failure_lines(run: TestRun) -> list[str]:
    """Each failure as ``test name: happened``."""
    return [
        f"{outcome.test.name}: {failure.happened}"
        for outcome in run.outcomes
        for failure in outcome.failures
    ]
