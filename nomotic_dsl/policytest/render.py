"""How ``nomo test`` reports: text like pytest's, a JSON document, and JUnit XML.

Input: a ``TestRun`` (and its coverage table when asked). Output: strings;
nothing is printed here. Stage: the last step of ``nomo test``.

Text: one line per test file with a mark per test (``.`` passed, ``F``
failed), then a ``FAILED`` line per failing test (its first failed
expectation, what happened instead and on which line; further failures of
the same test indented below it), then file problems, coverage when asked,
and the closing line, exactly ``N passed, M failed``. JUnit XML follows the
schema Jenkins, GitLab and GitHub's test reporters read (``testsuites`` /
``testsuite`` per file / ``testcase`` per test with ``failure`` or
``error``); it carries no times and no host names, so the same run writes
the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from xml.etree import ElementTree

from nomotic_dsl.compiler.diagnostics.render import render_all, to_json
from nomotic_dsl.policytest.check import Failure
from nomotic_dsl.policytest.coverage import InvariantCoverage, untested
from nomotic_dsl.policytest.runner import TestOutcome, TestRun

# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def closing_line(run: TestRun) -> str:
    """``N passed, M failed``: the last line of the text report."""
    return f"{run.passed} passed, {run.failed} failed"


def failure_text(failure: Failure) -> str:
    """``expected `...` (file:line); <what happened> [line N: source]``."""
    where = ""
    if failure.line is not None:
        where = f" [line {failure.line}" + (f", {failure.source}" if failure.source else "") + "]"
    return f"expected `{failure.expected}` ({failure.where}); {failure.happened}{where}"


def test_label(outcome: TestOutcome) -> str:
    return f'{outcome.file}:{outcome.test.where.line} "{outcome.test.name}"'


def render_text(run: TestRun, table: Sequence[InvariantCoverage] | None = None) -> str:
    """The whole text report, ending with the closing line."""
    lines: list[str] = []
    for file in run.files:
        marks = "".join("." if o.passed else "F" for o in run.outcomes if o.file == file)
        if marks:
            lines.append(f"{file} {marks}")
    for problem in run.policy_problems:
        lines.append("")
        lines.append(render_all(problem.result.diagnostics, problem.result.sources))
    failed = [outcome for outcome in run.outcomes if not outcome.passed]
    if failed or run.errors:
        lines.append("")
    for outcome in failed:
        first, *rest = outcome.failures
        lines.append(f"FAILED {test_label(outcome)}: {failure_text(first)}")
        lines.extend(f"    and {failure_text(more)}" for more in rest)
    for error in run.errors:
        lines.append(f"ERROR {error}")
    if not run.outcomes and not run.errors:
        lines.append("no tests ran: nothing was tested")
    if table is not None:
        lines.append("")
        lines.extend(coverage_text(table))
    lines.append(closing_line(run))
    return "\n".join(lines)


def coverage_text(table: Sequence[InvariantCoverage]) -> list[str]:
    """The coverage table: per policy and contract, one row per invariant."""
    if not table:
        return ["coverage: no policy ran"]
    lines = ["coverage (approaching / violated reached by some test; window filled; named):"]
    current: tuple[str, str | None] | None = None
    width = max(len(row.invariant_id) for row in table)
    for row in table:
        if (row.policy, row.agent_id) != current:
            current = (row.policy, row.agent_id)
            who = "" if row.agent_id is None else f" (contract {row.agent_id})"
            lines.append(f"  {row.policy}{who}")
        lines.append(
            f"    {row.invariant_id:<{width}}  approaching {_yes(row.approaching):<3}  "
            f"violated {_yes(row.violated):<3}  window {row.window:<13}  "
            f"{'named' if row.named else 'not named'}"
        )
    missing = untested(list(table))
    if missing:
        listed = ", ".join(
            row.invariant_id if row.agent_id is None else f"{row.agent_id}/{row.invariant_id}"
            for row in missing
        )
        lines.append(f"untested (no expectation names them): {listed}")
    else:
        lines.append("untested: none (every invariant is named by an expectation)")
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def render_json(run: TestRun, table: Sequence[InvariantCoverage] | None = None) -> str:
    """One JSON document (and nothing else) for build pipelines."""
    document: dict[str, object] = {
        "files": list(run.files),
        "tests": [
            {
                "file": outcome.file,
                "line": outcome.test.where.line,
                "name": outcome.test.name,
                "policy": outcome.policy,
                "outcome": "passed" if outcome.passed else "failed",
                "observations": outcome.observations,
                "failures": [failure.to_dict() for failure in outcome.failures],
            }
            for outcome in run.outcomes
        ],
        "errors": [
            {
                "file": error.where.file,
                "line": error.where.line,
                "column": error.where.column,
                "message": error.message,
            }
            for error in run.errors
        ],
        "policy_errors": [
            {"policy": problem.name, "diagnostics": to_json(problem.result.errors)}
            for problem in run.policy_problems
        ],
        "passed": run.passed,
        "failed": run.failed,
    }
    if table is not None:
        document["coverage"] = {
            "invariants": [row.to_dict() for row in table],
            "untested": [row.to_dict() for row in untested(list(table))],
        }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def render_junit(run: TestRun) -> str:
    """JUnit XML: a ``testsuite`` per test file, a ``testcase`` per test."""
    root = ElementTree.Element("testsuites", {"name": "nomo test"})
    total = failures = errors = 0
    for file in run.files:
        outcomes = [outcome for outcome in run.outcomes if outcome.file == file]
        standalone = [error for error in run.errors if error.where.file == file]
        broken = [outcome for outcome in outcomes if outcome.error is not None]
        failed = [outcome for outcome in outcomes if not outcome.passed and outcome.error is None]
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            {
                "name": _xml_text(file),
                "tests": str(len(outcomes) + len(standalone)),
                "failures": str(len(failed)),
                "errors": str(len(broken) + len(standalone)),
                "skipped": "0",
            },
        )
        total += len(outcomes) + len(standalone)
        failures += len(failed)
        errors += len(broken) + len(standalone)
        for outcome in outcomes:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                {"classname": _xml_text(file), "name": _xml_text(outcome.test.name)},
            )
            if outcome.passed:
                continue
            kind = "failure" if outcome.error is None else "error"
            body = "\n".join(failure_text(failure) for failure in outcome.failures)
            element = ElementTree.SubElement(
                case,
                kind,
                {"type": kind, "message": _xml_text(failure_text(outcome.failures[0]))},
            )
            element.text = _xml_text(f"{test_label(outcome)}\n{body}")
        for problem in standalone:
            case = ElementTree.SubElement(
                suite, "testcase", {"classname": _xml_text(file), "name": "(test file)"}
            )
            element = ElementTree.SubElement(
                case, "error", {"type": "error", "message": _xml_text(str(problem))}
            )
            element.text = _xml_text(str(problem))
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
