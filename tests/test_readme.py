"""The README's policies compile, and its Python example runs against a real bundle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nomotic_dsl import CompiledInvariants, compile_file, compile_source, load_bundle
from nomotic_dsl.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
POLICIES = re.findall(r"^```nomo\n(.*?)^```$", README, flags=re.S | re.M)


def test_readme_has_policy_blocks() -> None:
    assert len(POLICIES) == 2


@pytest.mark.parametrize("policy", POLICIES, ids=lambda text: text.splitlines()[0][:40])
def test_readme_policy_compiles_cleanly(policy: str) -> None:
    result = compile_source(policy, filename="README.md")
    assert result.ok, result.render()
    assert not result.diagnostics, result.render()  # not even a warning
    assert result.invariants


def test_readme_python_example(tmp_path: Path) -> None:
    result = compile_file(ROOT / "examples/customer_support/policy.nomo")
    assert result.ok, result.render()
    compiled = CompiledInvariants.compile(result.invariants)
    state = {
        "actions": [{"timestamp": 1_712_577_960.0, "action_type": "read", "target": "tickets"}]
    }
    assert len(compiled.evaluate(state)) == len(result.invariants)

    runner = CliRunner()
    key, bundle = tmp_path / "demo", tmp_path / "support.nomob"
    assert runner.invoke(cli, ["keygen", str(key)]).exit_code == 0
    built = runner.invoke(
        cli,
        [
            "build",
            str(ROOT / "examples/customer_support/policy.nomo"),
            "--key",
            f"{key}.key",
            "-o",
            str(bundle),
        ],
    )
    assert built.exit_code == 0, built.output
    loaded = load_bundle(bundle, trusted_keys=[f"{key}.pub"])
    monitor = loaded.monitor()
    observed = monitor.observe(state["actions"][0])
    assert [r.invariant_id for r in observed] == [s.invariant_id for s in result.invariants]


LAYOUT = re.search(r"^## Layout\n.*?^```text\n(.*?)^```$", README, flags=re.S | re.M)


def test_readme_layout_names_real_paths() -> None:
    assert LAYOUT is not None
    parents: list[tuple[int, str]] = []
    checked = 0
    for line in LAYOUT.group(1).splitlines():
        indent = len(line) - len(line.lstrip())
        entry = line.strip().split("  ")[0]
        parents = [(depth, name) for depth, name in parents if depth < indent]
        base = "".join(name for _, name in parents)
        for name in (part.strip() for part in entry.split(",")):
            if not name or " " in name:
                continue
            path = ROOT / (base + name)
            assert path.exists(), f"README Layout names {base + name}, which does not exist"
            checked += 1
        if entry.endswith("/") and "," not in entry:
            parents.append((indent, entry))
    assert checked >= 20
