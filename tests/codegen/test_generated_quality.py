"""Generated modules pass ruff (the project's rules) and mypy --strict, and map lines to invariants."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.runtime import EXPORTED

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def every_kind() -> list[dict[str, Any]]:
    """One spec per type, metric and window kind, so every template branch is rendered."""
    metrics = {
        "ratio": ["write_to_read"],
        "distribution": ["target_max", "action_max", "target_count"],
        "drift": ["overall"],
        "semantic": ["accuracy", "*"],
        "temporal": ["22-6@Europe/Paris", "8-18"],
        "rate": ["action_frequency"],
        "count": ["distinct_targets", "distinct_actions"],
    }
    windows: list[dict[str, Any]] = [{}, {"window": 10}, {"window_seconds": 300.0}]
    specs: list[dict[str, Any]] = [
        {
            "invariant_id": "rate-growth",
            "type": "rate",
            "metric": "action_frequency_growth",
            "operator": "lt",
            "threshold": 2.0,
            "window_seconds": 300.0,
        }
    ]
    for type_, names in sorted(metrics.items()):
        for metric in names:
            for index, window in enumerate(windows):
                specs.append(
                    {
                        "invariant_id": f"{type_}-{metric}-{index}",
                        "type": type_,
                        "metric": metric,
                        "operator": "between",
                        "threshold": 0.1,
                        "threshold_upper": 0.9,
                        **window,
                    }
                )
    return specs


def every_session_kind() -> list[dict[str, Any]]:
    """Every kind again, per session and with a warm-up, beside the global ones."""
    specs = every_kind()
    for spec in every_kind():
        if spec["type"] != "drift":
            specs.append(
                {
                    **spec,
                    "invariant_id": f"session-{spec['invariant_id']}",
                    "per_session": True,
                    "min_actions": 1,
                }
            )
    return specs


CASES = {
    "every_kind": every_kind(),
    "sessions": every_session_kind(),
    "empty": [],
    "drift_only": [
        {
            "invariant_id": "d",
            "type": "drift",
            "metric": "action",
            "operator": "lt",
            "threshold": 0.2,
        }
    ],
    "history_only": [
        {
            "invariant_id": "t",
            "type": "temporal",
            "metric": "9-17",
            "operator": "eq",
            "threshold": 0.0,
        }
    ],
}


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    for name, specs in CASES.items():
        source = generate_module(specs, module_name=name, source_digest="0" * 64).source
        (out / f"{name}.py").write_text(source, encoding="utf-8")
    return out


@pytest.mark.slow
def test_generated_modules_pass_ruff(generated_dir: Path) -> None:
    result = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
            str(generated_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_generated_modules_pass_mypy_strict(generated_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            *sorted(str(path) for path in generated_dir.glob("*.py")),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=generated_dir,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_modules_import_only_the_runtime_and_the_standard_library() -> None:
    import ast

    for specs in CASES.values():
        tree = ast.parse(generate_module(specs, module_name="m", source_digest="0").source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module in {
                    "__future__",
                    "collections",
                    "collections.abc",
                    "operator",
                    "typing",
                    "nomotic_dsl.runtime",
                }
                if node.module == "nomotic_dsl.runtime":
                    assert {alias.name for alias in node.names} <= set(EXPORTED)
            assert not isinstance(node, ast.Import)


def test_source_map_points_at_each_invariant_and_tracebacks_name_the_file() -> None:
    specs = every_kind()
    generated = generate_module(specs, module_name="m", source_digest="0")
    assert sorted(span.invariant_id for span in generated.source_map) == sorted(
        s["invariant_id"] for s in specs
    )
    lines = generated.source.splitlines()
    for span in generated.source_map:
        assert lines[span.first_line - 1].startswith("def _inv_")
        assert "return new_result(" in "\n".join(lines[span.first_line - 1 : span.last_line])
        assert generated.invariant_at(span.first_line + 1) == span.invariant_id
    assert generated.invariant_at(1) is None
    module = load_generated(generated.source, "<bundle>/policy_evaluator.py")
    with pytest.raises(ValueError) as caught:
        module.evaluate({"actions": [{"timestamp": -1, "action_type": "a", "target": "b"}]})
    assert "<bundle>/policy_evaluator.py" in "".join(str(entry.path) for entry in caught.traceback)
