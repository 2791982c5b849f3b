"""The checker: every file of a loaded program, checked in one run.

Input: ``LoadedProgram`` (ASTs in dependency order). Output: ``CheckedProgram``
(checked file-level rules, contracts, archetype priors, all diagnostics).
Stage: ASTs -> checked program. It collects every declared name first
(duplicates reported), then checks archetypes, file-level rules, packs and
contracts, and finally rule conflicts. Nothing here raises for bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic, DiagnosticBag
from nomotic_dsl.compiler.limits import MAX_RULES
from nomotic_dsl.compiler.semantics.conflicts import find_conflicts
from nomotic_dsl.compiler.semantics.contracts import ContractChecker
from nomotic_dsl.compiler.semantics.imports import LoadedFile, LoadedProgram
from nomotic_dsl.compiler.semantics.priors import check_archetype
from nomotic_dsl.compiler.semantics.program import (
    CheckedContract,
    CheckedProgram,
    CheckedRule,
    Declared,
    Symbols,
)
from nomotic_dsl.compiler.semantics.rules import FILE, PACK, RuleChecker, RuleContext
from nomotic_dsl.compiler.semantics.values import Report, ValueResolver
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.ir.prior import ArchetypePrior

_KINDS = {
    ast.ConstDecl: ("constants", "constant"),
    ast.PackDecl: ("packs", "pack"),
    ast.InvariantDecl: ("invariants", "invariant"),
    ast.ArchetypeDecl: ("archetypes", "archetype"),
    ast.ContractDecl: ("contracts", "contract"),
}


@dataclass(frozen=True, slots=True)
class _Located:
    source: SourceFile
    module: ast.Module


class Checker:
    """Checks a whole program; one diagnostic bag per file."""

    def __init__(self, loaded: LoadedProgram) -> None:
        self.loaded = loaded
        self.files = [_Located(f.source, f.module) for f in loaded.files if f.module is not None]
        self.bags = {f.source.name: DiagnosticBag(f.source) for f in loaded.files}
        self.symbols = Symbols()

    def reporter(self, source: SourceFile) -> Report:
        """The report function of one file's bag."""
        bag = self.bags[source.name]

        def report(code: str, span: Span, message: str, help_text: str | None) -> None:
            bag.report(code, span, message, help_text)

        return report

    def run(self) -> CheckedProgram:
        """Check everything and gather the results."""
        if self._too_many_rules():
            return CheckedProgram(self.loaded, (), (), (), self._diagnostics())
        for located in self.files:
            self._collect(located)
        priors = self._archetypes()
        file_rules = self._file_rules()
        contracts = self._contracts()
        return CheckedProgram(self.loaded, file_rules, contracts, priors, self._diagnostics())

    def _diagnostics(self) -> tuple[Diagnostic, ...]:
        diagnostics = list(self.loaded.diagnostics)
        for loaded in self.loaded.files:
            diagnostics.extend(self.bags[loaded.source.name].items)
        return tuple(diagnostics)

    def _too_many_rules(self) -> bool:
        """More than ``MAX_RULES`` rules in the program: NMO111 at the first one too many."""
        count = 0
        for located in self.files:
            for rule in _rules_of(located.module):
                count += 1
                if count > MAX_RULES:
                    self.reporter(located.source)(
                        "NMO111",
                        rule.span,
                        f"the program has more than {MAX_RULES:,} rules; this is the first "
                        "one too many, and nothing was checked",
                        "split the policy into smaller ones",
                    )
                    return True
        return False

    def _values(self, source: SourceFile) -> ValueResolver:
        constants = {
            name: d.node
            for name, d in self.symbols.constants.items()
            if isinstance(d.node, ast.ConstDecl)
        }
        return ValueResolver(constants, self.reporter(source))

    # ---- names ---------------------------------------------------------------

    def _collect(self, located: _Located) -> None:
        report = self.reporter(located.source)
        for statement in located.module.statements:
            if isinstance(statement, ast.PackDecl):
                self._collect_pack_members(statement, located.source)
            kind = _KINDS.get(type(statement))
            if kind is None:
                continue
            table = getattr(self.symbols, kind[0])
            name = _declared_name(statement)
            if name is None:
                continue
            if name.text in table:
                first = table[name.text]
                where = f"{first.source.name}:{first.source.position(first.node.span.start).line}"
                report(
                    "NMO207",
                    name.span,
                    f"{kind[1]} `{name.text}` is already declared at {where}",
                    "rename one of them",
                )
                continue
            table[name.text] = Declared(statement, located.source)  # type: ignore[arg-type]

    def _collect_pack_members(self, pack: ast.PackDecl, source: SourceFile) -> None:
        """Names of invariants inside packs share the program-wide invariant namespace."""
        report = self.reporter(source)
        for item in pack.items:
            if not isinstance(item, ast.InvariantDecl):
                continue
            if item.name.text in self.symbols.invariants:
                report(
                    "NMO207",
                    item.name.span,
                    f"invariant `{item.name.text}` is already declared",
                    "rename one of them",
                )

    # ---- archetypes, rules, contracts --------------------------------------------

    def _archetypes(self) -> tuple[ArchetypePrior, ...]:
        priors: list[ArchetypePrior] = []
        for name, declared in self.symbols.archetypes.items():
            assert isinstance(declared.node, ast.ArchetypeDecl)
            values = self._values(declared.source)
            prior = check_archetype(declared.node, values, self.reporter(declared.source))
            if prior is not None:
                self.symbols.priors[name] = prior
                priors.append(prior)
        return tuple(priors)

    def _file_rules(self) -> tuple[CheckedRule, ...]:
        rules: list[CheckedRule] = []
        for located in self.files:
            report = self.reporter(located.source)
            values = self._values(located.source)
            found: list[CheckedRule] = []
            for statement in located.module.statements:
                if isinstance(statement, ast.PackDecl):
                    self._check_pack(statement, values, report)
                elif isinstance(statement, ast.InvariantDecl) or ast.is_rule(statement):
                    checked = _check_rule(statement, located.source, FILE, values, report)  # type: ignore[arg-type]
                    found.extend([checked] if checked is not None else [])
            find_conflicts([(r.facts, report, r.place) for r in found])
            rules.extend(found)
        return tuple(rules)

    def _check_pack(self, pack: ast.PackDecl, values: ValueResolver, report: Report) -> None:
        for item in pack.items:
            _check_rule(item, None, PACK, values, report)

    def _contracts(self) -> tuple[CheckedContract, ...]:
        contracts: list[CheckedContract] = []
        for located in self.files:
            for statement in located.module.statements:
                if isinstance(statement, ast.ContractDecl):
                    checker = ContractChecker(
                        statement,
                        located.source,
                        self.symbols,
                        self._values(located.source),
                        self.reporter,
                    )
                    contracts.append(checker.check())
        return tuple(contracts)


def _check_rule(
    item: ast.InvariantDecl | ast.Rule,
    source: SourceFile | None,
    mode: str,
    values: ValueResolver,
    report: Report,
) -> CheckedRule | None:
    rule = item.rule if isinstance(item, ast.InvariantDecl) else item
    facts = RuleChecker(RuleContext(mode=mode), values, report).check(rule)
    if facts is None or source is None:
        return None
    if isinstance(item, ast.InvariantDecl):
        return CheckedRule(facts, item.name.text, item.description, source, rule)
    return CheckedRule(facts, None, None, source, rule)


def _rules_of(module: ast.Module) -> Iterator[ast.Node]:
    """Every rule and named invariant of a file, in packs and contracts too."""
    for statement in module.statements:
        if isinstance(statement, ast.PackDecl | ast.ContractDecl):
            for item in statement.items:
                if isinstance(item, ast.InvariantDecl) or ast.is_rule(item):
                    yield item
        elif isinstance(statement, ast.InvariantDecl) or ast.is_rule(statement):
            yield statement


def _declared_name(statement: ast.Statement) -> ast.Name | None:
    match statement:
        case ast.ConstDecl() | ast.PackDecl() | ast.InvariantDecl() | ast.ArchetypeDecl():
            return statement.name
        case ast.ContractDecl():
            return statement.agent_id
    return None


def check_program(loaded: LoadedProgram) -> CheckedProgram:
    """Check a loaded program."""
    return Checker(loaded).run()


__all__ = ["Checker", "Diagnostic", "LoadedFile", "check_program"]
