"""Semantics: imports, names, constants and the checker (ASTs -> checked program)."""

from nomotic_dsl.semantics.checker import check_program
from nomotic_dsl.semantics.loader import LoadedProgram, display_name, load_program
from nomotic_dsl.semantics.program import CheckedContract, CheckedProgram, CheckedRule

__all__ = [
    "CheckedContract",
    "CheckedProgram",
    "CheckedRule",
    "LoadedProgram",
    "check_program",
    "display_name",
    "load_program",
]
