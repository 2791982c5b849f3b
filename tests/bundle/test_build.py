"""Building bundles from real .nomo files: diagnostics, determinism, contracts, running policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from nomotic_dsl import build_bundle, load_bundle
from nomotic_dsl.cli.main import cli
from nomotic_dsl.compiler.generate import source_member_names
from nomotic_dsl.compiler.pipeline import compile_file
from nomotic_dsl.runtime.bundle import BundleError
from nomotic_dsl.runtime.bundle.archive import read_archive
from nomotic_dsl.runtime.bundle.keys import signing_key_to_text, verify_key_to_text
from nomotic_dsl.runtime.interpreter import CompiledInvariants, Observation

POLICY = """\
import "lib/limits"

ratio write/read < 0.5 over 10 actions
count distinct_targets <= 2 over 3 actions
"""
LIMITS = "rate action_frequency <= 2 over 60s\n"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    root = tmp_path / "project" / "agents"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "limits.nomo").write_text(LIMITS)
    path = root / "policy.nomo"
    path.write_text(POLICY)
    return path


@pytest.fixture
def key_files(tmp_path: Path, old_key: SigningKey) -> tuple[Path, Path]:
    secret, public = tmp_path / "release.key", tmp_path / "release.pub"
    secret.write_text(signing_key_to_text(old_key))
    public.write_text(verify_key_to_text(old_key.verify_key))
    return secret, public


def test_a_built_policy_loads_and_agrees_with_the_interpreter(
    policy: Path, old_key: SigningKey, tmp_path: Path
) -> None:
    out = tmp_path / "policy.nomob"
    data = build_bundle(policy, old_key, out, revision=2)
    assert out.read_bytes() == data
    members = read_archive(data)
    assert sorted(name for name in members if name.startswith("sources/")) == [
        "sources/lib/limits.nomo",
        "sources/policy.nomo",
    ]
    assert members["sources/policy.nomo"].decode() == POLICY
    loaded = load_bundle(out, [old_key.verify_key])
    assert loaded.manifest.name == "policy" and loaded.contract is None
    assert [spec.type for spec in loaded.invariants] == ["rate", "ratio", "count"]
    state = {
        "actions": [
            Observation(10.0 * i, "write" if i % 2 else "read", f"t{i}").to_dict() for i in range(8)
        ]
    }
    reference = CompiledInvariants.compile(loaded.invariants).evaluate(state)
    assert [r.to_dict() for r in loaded.evaluate(state)] == [r.to_dict() for r in reference]


def test_the_bundle_does_not_depend_on_the_build_directory(
    policy: Path, old_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(policy.parent.parent.parent)
    from_above = build_bundle(Path("project/agents/policy.nomo"), old_key)
    monkeypatch.chdir(policy.parent)
    from_inside = build_bundle(Path("policy.nomo"), old_key)
    assert from_above == from_inside


def test_source_names_are_relative_to_the_root_file() -> None:
    names = ["std/packs/a.nomo", "x/lib/b.nomo", "x/main.nomo", "shared/c.nomo", "x/d\nq.nomo"]
    assert source_member_names(names, "x/main.nomo") == [
        "std/packs/a.nomo",
        "lib/b.nomo",
        "main.nomo",
        "external/shared/c.nomo",
        "d_q.nomo",
    ]


def test_a_contract_is_sealed_with_its_invariants(tmp_path: Path, old_key: SigningKey) -> None:
    path = tmp_path / "bot.nomo"
    path.write_text(
        'contract "support-bot" {\n'
        "    version 2\n"
        "    invariant careful: ratio write/read < 0.3 over 100 actions\n"
        "}\n"
        'contract "other-bot" {\n'
        "    invariant calm: rate < 1 over 1m\n"
        "}\n"
    )
    result = compile_file(path)
    assert result.ok, result.render()
    out = tmp_path / "bot.nomob"
    build_bundle(result, old_key, out, agent="support-bot")
    loaded = load_bundle(out, [old_key.verify_key])
    assert loaded.manifest.name == "support-bot" and loaded.manifest.agent_id == "support-bot"
    assert loaded.contract is not None and loaded.contract.agent_id == "support-bot"
    assert [spec.invariant_id for spec in loaded.invariants] == ["careful"]
    with pytest.raises(BundleError, match="no contract for agent 'other'"):
        build_bundle(result, old_key, agent="other")


def test_every_contract_is_sealed_when_no_agent_is_chosen(
    tmp_path: Path, old_key: SigningKey
) -> None:
    path = tmp_path / "fleet.nomo"
    path.write_text(
        'contract "support-bot" {\n'
        "    invariant careful: ratio write/read < 0.3 over 100 actions\n"
        "}\n"
        'contract "other-bot" {\n'
        "    invariant calm: rate < 1 over 1m\n"
        "}\n"
    )
    out = tmp_path / "fleet.nomob"
    build_bundle(path, old_key, out)
    loaded = load_bundle(out, [old_key.verify_key])
    manifest = loaded.manifest
    assert manifest.name == "fleet" and manifest.agent_id is None
    assert manifest.agents == ("other-bot", "support-bot") == loaded.agents
    assert [policy.agent_id for policy in loaded.policies] == ["other-bot", "support-bot"]
    assert [spec.invariant_id for spec in loaded.policy("support-bot").invariants] == ["careful"]
    assert [spec.invariant_id for spec in loaded.policy("other-bot").invariants] == ["calm"]
    assert loaded.policy("other-bot").module is not loaded.policy("support-bot").module
    assert (
        loaded.policy("other-bot")
        .monitor()
        .observe({"timestamp": 1.0, "action_type": "read", "target": "a"})[0]
        .invariant_id
        == "calm"
    )
    for attribute in ("contract", "invariants", "module"):
        with pytest.raises(BundleError, match="holds 2 contracts"):
            getattr(loaded, attribute)
    with pytest.raises(BundleError, match="no contract for agent 'nobody'"):
        loaded.policy("nobody")
    assert {m.split("/")[0] for m in manifest.member_names()} == {"policies", "sources"}


def test_cli_build_then_verify_then_run(
    policy: Path, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    secret, public = key_files
    out = tmp_path / "p.nomob"
    runner = CliRunner()
    built = runner.invoke(
        cli,
        [
            "build",
            str(policy),
            "--key",
            str(secret),
            "-o",
            str(out),
            "--revision",
            "5",
            "--expires",
            "2100-01-01",
        ],
    )
    assert built.exit_code == 0, built.output
    assert runner.invoke(cli, ["verify", str(out), "--trust", str(public)]).exit_code == 0
    described = json.loads(runner.invoke(cli, ["inspect", str(out), "--format", "json"]).output)
    assert described["revision"] == 5 and described["validity"]["expires"] == 4_102_444_800
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        "".join(
            json.dumps({"timestamp": 1000 + i, "action_type": "read", "target": f"t{i}"}) + "\n"
            for i in range(4)
        )
    )
    for target in (out, policy):
        ran = runner.invoke(
            cli,
            ["run", str(target), "--trace", str(trace), "--trust", str(public), "--format", "json"],
        )
        report = json.loads(ran.output)
        assert ran.exit_code == 1, ran.output
        assert report["observations"] == 4
        assert [(v["line"], v["time"]) for v in report["violations"]] == [
            (3, "1970-01-01T00:16:42Z")
        ]
        assert report["violations"][0]["detail"].startswith("Number of distinct targets is 3")


def test_cli_build_shows_diagnostics_and_writes_nothing(
    tmp_path: Path, key_files: tuple[Path, Path], policy: Path
) -> None:
    bad = tmp_path / "bad.nomo"
    bad.write_text("rate < 3 over 1q\n")
    out = tmp_path / "bad.nomob"
    runner = CliRunner()
    text = runner.invoke(cli, ["build", str(bad), "--key", str(key_files[0]), "-o", str(out)])
    assert text.exit_code == 1 and "^^" in text.output and "1q" in text.output
    as_json = runner.invoke(
        cli, ["build", str(bad), "--key", str(key_files[0]), "-o", str(out), "--format", "json"]
    )
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["diagnostics"][0]["line"] == 1
    assert not out.exists()
    wrong_key = runner.invoke(
        cli, ["build", str(policy), "--key", str(key_files[1]), "-o", str(out)]
    )
    assert wrong_key.exit_code == 1 and "this is a public key file" in wrong_key.output
    assert not out.exists()


def test_a_folder_builds_into_one_bundle_of_every_contract(
    tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    secret, public = key_files
    folder = tmp_path / "fleet"
    folder.mkdir()
    (folder / "a.nomo").write_text('contract "a-bot" {\n    invariant x: rate < 1 over 1m\n}\n')
    (folder / "b.nomo").write_text(
        'contract "b-bot" {\n    invariant y: count distinct_targets <= 5 over 10 actions\n}\n'
    )
    out = tmp_path / "fleet.nomob"
    built = CliRunner().invoke(cli, ["build", str(folder), "--key", str(secret), "-o", str(out)])
    assert built.exit_code == 0, built.output
    loaded = load_bundle(out, [public])
    assert loaded.agents == ("a-bot", "b-bot")
    assert loaded.manifest.name == "fleet"
    assert loaded.manifest.source_names() == (
        "sources/__folder__.nomo",
        "sources/a.nomo",
        "sources/b.nomo",
    )
    only_b = tmp_path / "b.nomob"
    chosen = CliRunner().invoke(
        cli, ["build", str(folder), "--key", str(secret), "-o", str(only_b), "--agent", "b-bot"]
    )
    assert chosen.exit_code == 0, chosen.output
    assert load_bundle(only_b, [public]).agents == ("b-bot",)
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = CliRunner().invoke(cli, ["build", str(empty), "--key", str(secret), "-o", str(out)])
    assert refused.exit_code == 1 and "holds no .nomo file" in refused.output
