"""``nomo diff``: one trace through two bundles; every verdict that differs, and where.

The lines it reports are checked against the decision logs ``nomo run`` writes for each
bundle separately: a verdict differs on exactly the lines where the two logs' states do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.policytest.helpers import ROOT, nomo

FLEET = ROOT / "examples" / "fleet"
TRACE = FLEET / "trace.jsonl"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    assert nomo("keygen", str(folder / "release")).returncode == 0
    return folder / "release"


def bundle(keys: Path, folder: Path, name: str, edits: dict[str, str]) -> Path:
    """The fleet policy with ``edits`` applied, sealed into ``name``.nomob."""
    text = (FLEET / "policy.nomo").read_text(encoding="utf-8")
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    source = folder / f"{name}.nomo"
    source.write_text(text, encoding="utf-8")
    out = folder / f"{name}.nomob"
    built = nomo("build", str(source), "--key", f"{keys}.key", "-o", str(out))
    assert built.returncode == 0, built.stderr
    return out


def diff(a: Path, b: Path, keys: Path, *more: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = nomo(
        "diff",
        str(a),
        str(b),
        "--trust",
        f"{keys}.pub",
        "--trace",
        str(TRACE),
        "--format",
        "json",
        *more,
    )
    assert result.stderr == "", result.stderr
    return result.returncode, json.loads(result.stdout)


def states_by_line(log: str) -> dict[tuple[str | None, str], dict[int, str]]:
    """(agent, invariant) -> line -> state, from a decision log's `changed` entries."""
    current: dict[tuple[str | None, str], str] = {}
    seen: dict[tuple[str | None, str], dict[int, str]] = {}
    for text in log.splitlines():
        record = json.loads(text)
        if record.get("end") or record["error"] is not None:
            continue
        agent = record["agent_id"]
        for change in record["changed"]:
            current[(agent, change["invariant"])] = change["to"]
        for (who, ident), state in current.items():
            if who == agent:
                seen.setdefault((who, ident), {})[record["line"]] = state
    return seen


def test_identical_bundles_differ_in_nothing(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    result = nomo("diff", str(a), str(a), "--trust", f"{keys}.pub", "--trace", str(TRACE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "no verdict differs; 0 invariants added, 0 removed"


def test_a_loosened_rule_flips_exactly_where_the_two_logs_differ(
    keys: Path, tmp_path: Path
) -> None:
    a = bundle(keys, tmp_path, "a", {})
    b = bundle(keys, tmp_path, "b", {"reply/read < 1.5 over 50": "reply/read < 1.8 over 50"})
    code, document = diff(a, b, keys)
    assert code == 1 and document["differs"]
    logs = []
    for side in (a, b):
        run = nomo(
            "run", str(side), "--trust", f"{keys}.pub", "--trace", str(TRACE), "--format", "jsonl"
        )
        logs.append(states_by_line(run.stdout))
    key = ("support-bot", "replies_follow_reads")
    expected = sorted(line for line, state in logs[0][key].items() if logs[1][key][line] != state)
    assert expected, "the loosening must change something on this trace"
    (flip,) = [f for f in document["flips"] if f["subject"] == "replies_follow_reads"]
    listed = [
        line
        for run in flip["runs"]
        for line in range(run["from_line"], run["to_line"] + 1)
        if line in logs[0][key]
    ]
    assert listed == expected
    assert flip["first_line"] == expected[0] == document["first_line"]
    assert flip["observations"] == len(expected)
    for run in flip["runs"]:
        assert (
            run["a"] == logs[0][key][run["from_line"]]
            and run["b"] == logs[1][key][run["from_line"]]
        )
    assert [f["subject"] for f in document["flips"]] == ["replies_follow_reads"]


def test_added_and_removed_invariants(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    b = bundle(
        keys,
        tmp_path,
        "b",
        {
            "    invariant few_targets: count distinct_targets <= 4 over 20 actions\n": "",
            "    invariant few_deletes: ratio delete/read < 0.5 over 40 actions\n": (
                "    invariant few_deletes: ratio delete/read < 0.5 over 40 actions\n"
                "    invariant no_deletes: ratio delete/read < 0.01 over 10 actions\n"
            ),
        },
    )
    code, document = diff(a, b, keys)
    assert code == 1
    assert document["added"] == [
        {"agent_id": "etl-pipeline", "invariant": "no_deletes", "first_violated": 84}
    ]
    assert document["removed"] == [
        {"agent_id": "ops-coordinator", "invariant": "few_targets", "first_violated": None}
    ]
    assert document["flips"] == []


def test_scope_and_drift_thresholds_flip_too(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    b = bundle(
        keys,
        tmp_path,
        "b",
        {
            "targets raw_data, staging, warehouse": "targets raw_data, staging, warehouse, prod_database",
            "drift thresholds { target 0.15 }": "drift thresholds { target 0.9 }",
        },
    )
    code, document = diff(a, b, keys)
    assert code == 1
    subjects = {(f["agent_id"], f["subject"]): f for f in document["flips"]}
    scope = subjects[("etl-pipeline", "scope")]
    assert (scope["observations"], scope["first_line"]) == (40, 362)
    assert {(run["a"], run["b"]) for run in scope["runs"]} == {("violated", "in scope")}
    drift = subjects[("etl-pipeline", "drift target")]
    assert drift["first_line"] == 388
    assert {(run["a"], run["b"]) for run in drift["runs"]} == {("exceeded", "within")}


def test_an_agent_only_one_side_governs(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    b = bundle(keys, tmp_path, "b", {'contract "ops-coordinator" {': 'contract "ops-bot" {'})
    code, document = diff(a, b, keys)
    assert code == 1
    decision = [f for f in document["flips"] if f["subject"] == "decision"]
    assert [f["agent_id"] for f in decision] == ["ops-coordinator"]
    assert {(run["a"], run["b"]) for run in decision[0]["runs"]} == {("decided", "refused")}
    assert {c["agent_id"] for c in document["removed"]} == {"ops-coordinator"}
    assert {c["agent_id"] for c in document["added"]} == {"ops-bot"}


def test_text_output_lists_runs_and_the_first_line(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    b = bundle(keys, tmp_path, "b", {"delete/read < 0.5 over 40": "delete/read < 5 over 40"})
    result = nomo("diff", str(a), str(b), "--trust", f"{keys}.pub", "--trace", str(TRACE))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"A: {a} (bundle ")
    assert lines[2] == f"trace: {TRACE}, 742 observations"
    assert "etl-pipeline few_deletes: verdicts differ on " in result.stdout
    assert lines[-1].startswith("1 verdict differs on ") and "first at line" in lines[-1]
    assert any(line.strip().startswith("line") and "A violated, B " in line for line in lines)


def test_violations_only_ignores_approaching(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    b = bundle(keys, tmp_path, "b", {"reply/read < 1.5 over 50": "reply/read < 1.51 over 50"})
    _, full = diff(a, b, keys)
    _, narrow = diff(a, b, keys, "--violations-only")
    states = {state for f in narrow["flips"] for run in f["runs"] for state in (run["a"], run["b"])}
    assert states <= {"violated", "not violated"}
    assert sum(f["observations"] for f in narrow["flips"]) <= sum(
        f["observations"] for f in full["flips"]
    )


def test_policies_compiled_here(tmp_path: Path) -> None:
    a = tmp_path / "a.nomo"
    a.write_text((FLEET / "policy.nomo").read_text(encoding="utf-8"), encoding="utf-8")
    result = nomo("diff", str(a), str(FLEET / "policy.nomo"), "--trace", str(TRACE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_and_bad_input(keys: Path, tmp_path: Path) -> None:
    a = bundle(keys, tmp_path, "a", {})
    no_trust = nomo("diff", str(a), str(a), "--trace", str(TRACE))
    assert no_trust.returncode == 2 and "--trust" in no_trust.stderr and no_trust.stdout == ""
    assert nomo("diff", str(a), "--trace", str(TRACE)).returncode == 2
    missing = nomo(
        "diff", str(a), str(a), "--trust", f"{keys}.pub", "--trace", str(tmp_path / "none.jsonl")
    )
    assert (
        missing.returncode == 1 and "cannot read trace" in missing.stderr and missing.stdout == ""
    )
    other = tmp_path / "other"
    assert nomo("keygen", str(other)).returncode == 0
    refused = nomo("diff", str(a), str(a), "--trust", f"{other}.pub", "--trace", str(TRACE))
    assert refused.returncode == 1 and "refused" in refused.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    nothing = nomo("diff", str(a), str(a), "--trust", f"{keys}.pub", "--trace", str(empty))
    assert nothing.returncode == 1 and "nothing was compared" in nothing.stderr
    broken = tmp_path / "broken.nomo"
    broken.write_text("rate < 2 over 0 actions\n", encoding="utf-8")
    errors = nomo("diff", str(broken), str(broken), "--trace", str(TRACE))
    assert errors.returncode == 1 and "NMO303" in errors.stderr
