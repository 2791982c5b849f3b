"""The built wheel carries grammar/ and stdlib/, and the installed package uses them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK_INSTALLED = """
import json, nomotic_dsl
from nomotic_dsl.resources import grammar_dir, stdlib_dir
from nomotic_dsl.runtime.priors import get_archetype, known_archetypes
from nomotic_dsl.compiler.pipeline import compile_source
prior = get_archetype("customer-experience")
result = compile_source('import "std/packs/business_hours"\\nratio write/read < 0.3 over 100 actions\\n')
print(json.dumps({
    "package": nomotic_dsl.__file__,
    "grammar": str(grammar_dir()),
    "stdlib": str(stdlib_dir()),
    "archetypes": list(known_archetypes()),
    "prior_actions": dict(prior.action_distribution) if prior else None,
    "compiled_ok": result.ok,
    "invariants": len(result.invariants),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("nomotic_dsl-*.whl")
    return built


@pytest.mark.slow
def test_wheel_contains_grammar_stdlib_and_templates(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("nomotic_dsl/_data/grammar/") and n.endswith(".lark") for n in names)
    assert "nomotic_dsl/_data/stdlib/archetypes/customer-experience.nomo" in names
    assert any(n.startswith("nomotic_dsl/compiler/codegen/templates/") for n in names)


@pytest.mark.slow
def test_installed_wheel_loads_grammar_and_stdlib_from_itself(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", CHECK_INSTALLED],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    import json

    facts = json.loads(done.stdout)
    for key in ("package", "grammar", "stdlib"):
        assert facts[key].startswith(str(target)), (key, facts[key])
    assert "customer-experience" in facts["archetypes"] and "general" in facts["archetypes"]
    assert facts["prior_actions"] and abs(sum(facts["prior_actions"].values()) - 1.0) < 0.01
    assert facts["compiled_ok"] and facts["invariants"] >= 1
