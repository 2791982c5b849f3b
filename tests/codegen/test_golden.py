"""Golden: the quickstart specs generate exactly the checked-in module (``--update-golden`` rewrites it)."""

from __future__ import annotations

import json
from pathlib import Path

from nomotic_dsl.compiler.codegen import generate_module
from nomotic_dsl.ir.canonical import canonical_digest
from tests.conftest import GoldenCheck

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "quickstart_evaluator.py"


def test_quickstart_module_matches_golden(golden: GoldenCheck) -> None:
    specs = json.loads(
        (ROOT / "examples" / "quickstart" / "specs.json").read_text(encoding="utf-8")
    )
    source = generate_module(
        specs, module_name="quickstart", source_digest=canonical_digest(specs)
    ).source
    golden(source, GOLDEN)
