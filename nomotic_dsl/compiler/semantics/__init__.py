"""Semantics: imports, names, constants and the checker (ASTs -> checked program)."""

from nomotic_dsl.compiler.semantics.checker import check_program
from nomotic_dsl.compiler.semantics.imports import LoadedProgram, display_name, load_program
from nomotic_dsl.compiler.semantics.program import CheckedContract, CheckedProgram, CheckedRule

__all__ = [
    "CheckedContract",
    "CheckedProgram",
    "CheckedRule",
    "LoadedProgram",
    "check_program",
    "display_name",
    "load_program",
]
