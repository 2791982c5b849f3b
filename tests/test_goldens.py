"""Every golden comparison fails when its golden file is missing, unless ``--update-golden``.

Each family of golden files is exercised on a copy of the test tree with one
golden file deleted: the test that reads it must fail, and must pass again
(recreating the file) under ``--update-golden``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import check_golden

ROOT = Path(__file__).resolve().parents[1]

# (golden file relative to the repository, the test that compares against it)
FAMILIES = [
    ("tests/cases/parse/every_form.ast", "tests/language/test_golden.py::test_parse_golden"),
    (
        "tests/cases/diagnostics/contract_scope.diag",
        "tests/language/test_golden.py::test_diagnostics_golden",
    ),
    ("tests/cases/specs/support.json", "tests/language/test_golden.py::test_spec_golden"),
    (
        "tests/fmt/golden/messy_rules.formatted.nomo",
        "tests/fmt/test_fmt_golden.py::test_golden_case",
    ),
    ("tests/codegen/golden/quickstart_evaluator.py", "tests/codegen/test_golden.py"),
    (
        "tests/codegen/golden/runtime_exported.txt",
        "tests/codegen/test_runtime.py::test_exported_names_are_pinned",
    ),
]


def test_the_helper_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="missing"):
        check_golden("text", tmp_path / "absent.txt", update=False)
    assert not (tmp_path / "absent.txt").exists()
    check_golden("text", tmp_path / "absent.txt", update=True)
    check_golden("text", tmp_path / "absent.txt", update=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("golden", "test"), FAMILIES, ids=[f[0].rsplit("/", 1)[1] for f in FAMILIES]
)
def test_a_missing_golden_file_fails_its_test(golden: str, test: str, tmp_path: Path) -> None:
    assert (ROOT / golden).is_file(), f"the family's example golden {golden} is gone"
    for name in ("tests", "examples", "stdlib", "grammar", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / name)
    (tmp_path / golden).unlink()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test]
    failed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert not (tmp_path / golden).exists(), "the comparison recreated the missing golden file"
    updated = subprocess.run(
        [*command, "--update-golden"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (tmp_path / golden).read_bytes() == (ROOT / golden).read_bytes()
