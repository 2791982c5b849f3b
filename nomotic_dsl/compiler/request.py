"""What a compilation is asked to do: the record every pipeline stage carries forward.

Input: built by the drivers (``compile_source``, ``compile_file``,
``build_bundle``) from their arguments and, for ``created_at``, from
``SOURCE_DATE_EPOCH``. Output: ``CompileRequest``, the first stage's input;
each later record keeps a reference to it, so options reach the stage that
needs them without any stage reading the environment or the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nacl.signing import SigningKey

from nomotic_dsl.compiler.source import SourceFile

_LOCAL_IMPORT_HELP = 'inline the declarations, or import a standard library file ("std/...")'


@dataclass(frozen=True, slots=True)
class ImportPolicy:
    """Which imports the loader follows: the standard library always; files only when allowed.

    ``refusal_help`` is the hint on the NMO205 an import the policy refuses gets.
    """

    files: bool = True
    refusal_help: str = _LOCAL_IMPORT_HELP


ALL_IMPORTS = ImportPolicy()
STDLIB_ONLY = ImportPolicy(files=False)


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What the generate and seal stages need besides the program.

    ``agent`` chooses the contract to seal when the policy declares several;
    ``name`` overrides the bundle's name; the rest goes into the manifest.
    """

    agent: str | None = None
    name: str | None = None
    signing_keys: tuple[SigningKey, ...] = ()
    revision: int = 1
    not_before: int | None = None
    expires: int | None = None


@dataclass(frozen=True, slots=True)
class CompileRequest:
    """The root source, where it lives, the import policy, the build's fixed inputs."""

    source: SourceFile
    path: Path | None = None
    imports: ImportPolicy = ALL_IMPORTS
    # The contracts' created_at: 0.0 ("not stamped") unless the driver sets it.
    created_at: float = 0.0
    build: BuildOptions = field(default_factory=BuildOptions)


def source_date_epoch() -> float:
    """``SOURCE_DATE_EPOCH`` when set to a number (reproducible builds), else 0.0: never the clock."""
    try:
        return max(0.0, float(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    except ValueError:
        return 0.0
