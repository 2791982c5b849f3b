"""docs/testing.md tells the truth: its test blocks parse, its first example passes, and the
outputs it shows are what `nomo test` prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nomotic_dsl.policytest.syntax import parse_test_file
from tests.policytest.helpers import ROOT, nomo

DOC = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
POLICIES = re.findall(r"^```nomo\n(.*?)^```$", DOC, flags=re.S | re.M)
TESTS = re.findall(r"^```nomotest\n(.*?)^```$", DOC, flags=re.S | re.M)


def test_the_doc_has_its_examples() -> None:
    assert len(POLICIES) >= 1 and len(TESTS) >= 5


@pytest.mark.parametrize("block", TESTS, ids=lambda text: text.splitlines()[0][:50])
def test_every_test_block_parses(block: str) -> None:
    parsed = parse_test_file(block, "docs.nomotest")
    assert parsed.tests


def _project(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "policy.nomo").write_text(POLICIES[0], encoding="utf-8")
    (tmp_path / "policy.nomotest").write_text(tests, encoding="utf-8")
    return tmp_path


def test_the_first_example_passes_and_its_failure_reads_as_documented(tmp_path: Path) -> None:
    folder = _project(tmp_path, TESTS[0])
    passed = nomo("test", "policy.nomotest", cwd=folder)
    assert passed.returncode == 0
    assert "policy.nomotest ..\n2 passed, 0 failed\n" in DOC
    assert passed.stdout == "policy.nomotest ..\n2 passed, 0 failed\n"
    broken = TESTS[0].replace("first violated at line 20", "first violated at line 19")
    _project(tmp_path, broken)
    failed = nomo("test", "policy.nomotest", cwd=folder)
    assert failed.returncode == 1
    for line in failed.stdout.splitlines():
        assert line in DOC, line
    coverage = nomo("test", "policy.nomotest", "--coverage", cwd=_project(tmp_path, TESTS[0]))
    for line in coverage.stdout.splitlines()[1:]:
        assert line in DOC, line


def test_the_inline_pack_example_passes(tmp_path: Path) -> None:
    (block,) = [text for text in TESTS if "policy {" in text]
    (tmp_path / "pack.nomotest").write_text(block, encoding="utf-8")
    result = nomo("test", "pack.nomotest", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
