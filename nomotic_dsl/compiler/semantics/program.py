"""What the checker hands the lowerer: checked rules, contracts, priors, diagnostics.

Input: produced by ``nomotic_dsl.compiler.semantics.checker``. Output: read by
``nomotic_dsl.compiler.lower``. Stage: the boundary between checking and lowering.
Results live beside the AST, never as attributes stuck onto nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic
from nomotic_dsl.compiler.fmt import rule_text
from nomotic_dsl.compiler.semantics.imports import LoadedProgram
from nomotic_dsl.compiler.semantics.rules import RuleFacts
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.ir.prior import ArchetypePrior


@dataclass(frozen=True, slots=True)
class CheckedRule:
    """One rule that passed checking, with what its invariant's id and text come from."""

    facts: RuleFacts
    name: str | None
    description: str | None
    source: SourceFile
    rule: ast.Rule

    @property
    def text(self) -> str:
        """The rule in the author's words and canonical spacing.

        Built from the AST rather than the source text, so reformatting a file
        never changes the descriptions (and so the specs) it compiles to.
        """
        return rule_text(self.rule)

    @property
    def place(self) -> str:
        """``file:line`` of the rule, for messages."""
        return f"{self.source.name}:{self.source.position(self.facts.span.start).line}"


@dataclass(frozen=True, slots=True)
class CheckedContract:
    """A contract's fields (all but invariants), its rules in order, and where it is."""

    fields: dict[str, Any]
    rules: tuple[CheckedRule, ...]
    source: SourceFile
    span: Span
    ok: bool = True  # False: the contract has errors (reported) and is never lowered


@dataclass(frozen=True, slots=True)
class Declared:
    """A named declaration and the file it is in."""

    node: ast.ConstDecl | ast.PackDecl | ast.InvariantDecl | ast.ArchetypeDecl | ast.ContractDecl
    source: SourceFile


@dataclass(slots=True)
class Symbols:
    """Every name declared across the program, one table per kind of name."""

    constants: dict[str, Declared] = field(default_factory=dict)
    packs: dict[str, Declared] = field(default_factory=dict)
    invariants: dict[str, Declared] = field(default_factory=dict)
    archetypes: dict[str, Declared] = field(default_factory=dict)
    contracts: dict[str, Declared] = field(default_factory=dict)
    priors: dict[str, ArchetypePrior] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckedProgram:
    """Everything the lowerer needs, plus every diagnostic found so far."""

    loaded: LoadedProgram
    file_rules: tuple[CheckedRule, ...]
    contracts: tuple[CheckedContract, ...]
    archetypes: tuple[ArchetypePrior, ...]
    diagnostics: tuple[Diagnostic, ...]
