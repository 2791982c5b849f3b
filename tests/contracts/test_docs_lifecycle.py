"""The lifecycle example in docs/contracts.md runs as written."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def lifecycle_code() -> str:
    blocks = [block for block in CODE_BLOCK.findall(DOC.read_text()) if "# 1. Generate" in block]
    assert len(blocks) == 1, "docs/contracts.md must hold exactly one lifecycle example"
    return blocks[0]


def test_the_example_covers_every_step() -> None:
    code = lifecycle_code()
    for step in (
        "generate_contract(",
        ".seal(",
        "store.store(",
        "next_version(",
        "diff_contracts(",
        ".verify(",
        "runtime.record(",
    ):
        assert step in code


@pytest.mark.skipif(
    importlib.util.find_spec("nomotic_dsl.compiler.pipeline") is None,
    reason="the example reads the customer-experience archetype, which needs the compiler",
)
def test_lifecycle_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(lifecycle_code(), str(DOC), "exec"), {"__name__": "docs_contracts"})
    assert "'distribution': 'action'" in capsys.readouterr().out
