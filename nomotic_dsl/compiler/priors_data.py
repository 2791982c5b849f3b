"""The priors data file: the standard library's archetypes, compiled once into JSON.

Input: ``stdlib/archetypes/*.nomo``. Output: ``stdlib/priors.json`` (canonical
JSON, archetypes sorted by name), which the runtime reads
(``nomotic_dsl.runtime.priors``) so that it never runs the compiler. Stage: a
build step of the standard library, run after changing an archetype:

    python -m nomotic_dsl.compiler.priors_data          # rewrite the file
    python -m nomotic_dsl.compiler.priors_data --check  # exit 1 when it is stale

A test runs the check, so the file cannot drift from its sources.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nomotic_dsl.compiler.pipeline import compile_file
from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.resources import stdlib_dir
from nomotic_dsl.runtime.priors import PRIORS_FILE, PRIORS_FORMAT


def compile_priors(directory: Path | None = None) -> list[ArchetypePrior]:
    """Every prior declared in the standard library's archetype files, sorted by name."""
    folder = (directory or stdlib_dir()) / "archetypes"
    priors: list[ArchetypePrior] = []
    for path in sorted(folder.glob("*.nomo")):
        result = compile_file(path)
        if not result.ok:
            raise ValueError(f"{path.name} does not compile:\n{result.render()}")
        priors.extend(prior for prior in result.archetypes if prior.name == path.stem)
    return sorted(priors, key=lambda prior: prior.name)


def priors_document(priors: list[ArchetypePrior]) -> str:
    """The data file's text: one JSON document, stable key order, one trailing newline."""
    document = {"format": PRIORS_FORMAT, "archetypes": [prior.to_dict() for prior in priors]}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the data file, or with ``--check`` report whether it is current (exit 0/1)."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print("usage: python -m nomotic_dsl.compiler.priors_data [--check]", file=sys.stderr)
        return 2
    target = stdlib_dir() / PRIORS_FILE
    text = priors_document(compile_priors())
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if args == ["--check"]:
        if current != text:
            print(
                f"{target} is stale; run python -m nomotic_dsl.compiler.priors_data",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != text:
        target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
