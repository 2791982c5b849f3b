"""The fleet example: its trace is fresh and its run gives exactly the documented decisions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from click.testing import CliRunner

from nomotic_dsl.cli.main import cli

FLEET = Path(__file__).resolve().parents[2] / "examples" / "fleet"


def test_the_trace_matches_its_recipe() -> None:
    spec = importlib.util.spec_from_file_location("fleet_trace", FLEET / "make_trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


def test_the_documented_decisions(tmp_path: Path) -> None:
    runner = CliRunner()
    trace = str(FLEET / "trace.jsonl")
    result = runner.invoke(
        cli, ["run", str(FLEET / "policy.nomo"), "--trace", trace, "--format", "json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(v["line"], v["agent_id"], v["invariant_id"]) for v in report["violations"]] == [
        (216, "support-bot", "replies_follow_reads"),
        (229, "support-bot", "burst_rate"),
        (368, "etl-pipeline", "few_deletes"),
    ]
    scope = report["scope_violations"]
    assert [s["line"] for s in scope] == list(range(362, 402))
    assert {s["agent_id"] for s in scope} == {"etl-pipeline"}
    assert all(s["outside"] == {"target": "prod_database"} for s in scope)
    assert [(e["line"], e["agent_id"]) for e in report["errors"]] == [
        (642, "shadow-agent"),
        (643, None),
    ]
    assert report["drift_exceedances"] == 141 and report["end"]["decisions"] == 742
    text = runner.invoke(cli, ["run", str(FLEET / "policy.nomo"), "--trace", trace]).output
    readme = (FLEET / "README.md").read_text(encoding="utf-8")
    summary = text.splitlines()[-1]
    assert summary in readme
    assert "line 388  etl-pipeline  drift: target" in text
    assert "line 560  ops-coordinator  drift: action" in text
    # Built into a bundle, the same decisions come out, and the log verifies.
    assert runner.invoke(cli, ["keygen", str(tmp_path / "k")]).exit_code == 0
    bundle = tmp_path / "fleet.nomob"
    built = runner.invoke(
        cli,
        ["build", str(FLEET / "policy.nomo"), "--key", str(tmp_path / "k.key"), "-o", str(bundle)],
    )
    assert built.exit_code == 0, built.output
    log = runner.invoke(
        cli,
        [
            "run",
            str(bundle),
            "--trust",
            str(tmp_path / "k.pub"),
            "--trace",
            trace,
            "--format",
            "jsonl",
        ],
    )
    direct = runner.invoke(
        cli, ["run", str(FLEET / "policy.nomo"), "--trace", trace, "--format", "jsonl"]
    )
    assert log.stdout == direct.stdout and log.stdout.count("\n") == 743
    (tmp_path / "log.jsonl").write_text(log.stdout)
    verified = runner.invoke(
        cli,
        [
            "log",
            "verify",
            str(tmp_path / "log.jsonl"),
            "--bundle",
            str(bundle),
            "--trust",
            str(tmp_path / "k.pub"),
        ],
    )
    assert verified.exit_code == 0, verified.output
