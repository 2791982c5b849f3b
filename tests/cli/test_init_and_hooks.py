"""``nomo init`` scaffolds a project whose checks, tests and CI commands pass; the
pre-commit hooks are valid for pre-commit and their entries work."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pre_commit.clientlib import load_manifest

ROOT = Path(__file__).resolve().parents[2]


def nomo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_init_writes_a_project_that_checks_and_passes_its_tests(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    result = nomo("init", str(folder), "--agent", "ops.bot@eu-1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        f"wrote {folder}/policy.nomo",
        f"wrote {folder}/policy.nomotest",
        f"wrote {folder}/.github/workflows/nomo.yml",
    ]
    assert 'contract "ops.bot@eu-1"' in (folder / "policy.nomo").read_text(encoding="utf-8")
    assert nomo("check", ".", cwd=folder).returncode == 0
    assert nomo("fmt", "--check", ".", cwd=folder).returncode == 0
    tested = nomo("test", ".", cwd=folder)
    assert tested.returncode == 0, tested.stdout
    assert tested.stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_the_workflow_is_valid_yaml_and_its_nomo_commands_pass(tmp_path: Path) -> None:
    assert nomo("init", "p", cwd=tmp_path).returncode == 0
    folder = tmp_path / "p"
    workflow = yaml.safe_load((folder / ".github/workflows/nomo.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["nomo"]["steps"]
    commands = [step["run"] for step in steps if "run" in step and step["run"].startswith("nomo ")]
    assert [command.split()[1] for command in commands] == ["check", "fmt", "test"]
    for command in commands:
        ran = nomo(*shlex.split(command)[1:], cwd=folder)
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
    assert (folder / "nomo-tests.xml").read_text(encoding="utf-8").startswith("<?xml")
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    refused = nomo("init", ".", cwd=tmp_path)
    assert refused.returncode == 1
    assert "is not empty (notes.txt): nothing was written; use --force" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    forced = nomo("init", ".", "--force", cwd=tmp_path)
    assert forced.returncode == 0
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "policy.nomotest").is_file()


def test_init_misuse_and_bad_folders(tmp_path: Path) -> None:
    bad = nomo("init", "x", "--agent", "bad agent!", cwd=tmp_path)
    assert bad.returncode == 2 and "agent id" in bad.stderr
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert nomo("init", "file", cwd=tmp_path).returncode == 1
    assert nomo("init", "a", "b", cwd=tmp_path).returncode == 2


def test_pre_commit_hooks_are_a_valid_manifest() -> None:
    hooks = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert [hook["id"] for hook in hooks] == ["nomo-check", "nomo-fmt", "nomo-test"]
    assert all(hook["language"] == "python" for hook in hooks)


@pytest.mark.parametrize("hook", ["nomo-check", "nomo-fmt"])
def test_each_hook_entry_works_as_pre_commit_runs_it(tmp_path: Path, hook: str) -> None:
    (entry,) = [h for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml")) if h["id"] == hook]
    good = tmp_path / "good.nomo"
    shutil.copy(ROOT / "examples/customer_support/policy.nomo", good)
    messy = tmp_path / "messy.nomo"
    messy.write_text("ratio write / read<0.3 over 100 actions\n", encoding="utf-8")
    # pre-commit runs `entry args files...`; the entry's first word is the installed `nomo`.
    argv = shlex.split(entry["entry"])[1:]
    clean = nomo(*argv, str(good), cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    if hook == "nomo-fmt":
        assert nomo(*argv, str(messy), cwd=tmp_path).returncode == 0
        assert messy.read_text(encoding="utf-8") == "ratio write/read < 0.3 over 100 actions\n"
    else:
        messy.write_text("ratio write/read < 0.3 over 0 actions\n", encoding="utf-8")
        failed = nomo(*argv, str(messy), cwd=tmp_path)
        assert failed.returncode == 1
        assert "messy.nomo:1:29: error[NMO303]" in failed.stdout


def test_the_test_hook_runs_the_repository_tests(tmp_path: Path) -> None:
    (entry,) = [
        h for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml")) if h["id"] == "nomo-test"
    ]
    assert entry["pass_filenames"] is False
    assert nomo("init", ".", cwd=tmp_path).returncode == 0
    ran = nomo(*shlex.split(entry["entry"])[1:], cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout
