"""Contracts: settings, scope, anchors, drift thresholds and rules of one contract, checked.

Input: an ``ast.ContractDecl``, the program's ``Symbols`` and a way to report
into any file. Output: ``CheckedContract`` (its fields as plain data and its
rules in order: used packs and invariants first, then inline rules), or None
when the contract has errors. Stage: checking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.limits import MAX_VERSION
from nomotic_dsl.compiler.semantics.conflicts import find_conflicts
from nomotic_dsl.compiler.semantics.priors import check_distribution
from nomotic_dsl.compiler.semantics.program import CheckedContract, CheckedRule, Symbols
from nomotic_dsl.compiler.semantics.rules import CONTRACT, RuleChecker, RuleContext
from nomotic_dsl.compiler.semantics.values import (
    Report,
    SortedNames,
    ValueResolver,
    did_you_mean,
)
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.ir.contract import CONTRACT_DEFAULTS
from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime.priors import known_archetypes

TRUST_KEYS = {"initial": "initial_trust", "floor": "trust_floor", "ceiling": "trust_ceiling"}
# Problems that depend on the contract a pack's rule is used in; others were
# already reported when the pack itself was checked.
_CONTRACT_CODES = frozenset({"NMO307", "NMO400", "NMO402"})
Reporter = Callable[[SourceFile], Report]


@dataclass(slots=True)
class _Settings:
    """What the contract's settings say, before its rules are checked."""

    fields: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, list[str]] | None = None
    anchors: dict[str, dict[str, Any]] = field(default_factory=dict)
    expected: dict[str, dict[str, float]] = field(default_factory=dict)
    archetype: ArchetypePrior | None = None
    archetype_span: Span | None = None
    ok: bool = True


class ContractChecker:
    """Checks one contract declaration."""

    def __init__(
        self,
        decl: ast.ContractDecl,
        source: SourceFile,
        symbols: Symbols,
        values: ValueResolver,
        reporter: Reporter,
    ) -> None:
        self.decl = decl
        self.source = source
        self.symbols = symbols
        self.values = values
        self.reporter = reporter
        self.report = reporter(source)
        self.settings = _Settings()
        self.scope_sets: dict[str, SortedNames] = {}
        self.agent_id = decl.agent_id.text

    def check(self) -> CheckedContract:
        """The checked contract; ``ok`` is False when anything in it is wrong.

        A contract with errors keeps the rules that did check, so every rule
        of the source is accounted for (a spec or an error), but it is never
        lowered: its errors stop the compile.
        """
        if not self.agent_id.strip():
            self.report(
                "NMO406", self.decl.agent_id.span, "a contract needs a non-empty agent id", None
            )
            self.settings.ok = False
        # Scope first: anchors and expected distributions are checked against it.
        for item in self.decl.items:
            if isinstance(item, ast.ScopeDecl):
                self._scope(item)
        for item in self.decl.items:
            if not isinstance(item, ast.ScopeDecl):
                self._setting(item)
        self._check_expected_scope()
        rules, rules_ok = self._rules()
        ok = rules_ok and self.settings.ok
        return CheckedContract(self._fields(), rules, self.source, self.decl.span, ok=ok)

    # ---- settings --------------------------------------------------------------

    def _once(self, key: str, span: Span) -> bool:
        if key in self.settings.fields:
            self.report("NMO405", span, f"`{key}` is given twice in this contract", None)
            self.settings.ok = False
            return False
        return True

    def _setting(self, item: ast.ContractItem) -> None:
        match item:
            case ast.VersionDecl():
                self._version(item)
            case ast.CertificateDecl():
                if self._once("certificate_id", item.span):
                    self.settings.fields["certificate_id"] = item.certificate
            case ast.ContractArchetype():
                self._archetype(item)
            case ast.TrustDecl():
                self._trust(item)
            case ast.AnchorDecl():
                self._anchor(item)
            case ast.DriftThresholds():
                self._drift(item)
            case ast.ExpectedDecl():
                self._expected(item)
            case _:
                pass  # rules, invariants and `use` are checked once settings are known

    def _version(self, item: ast.VersionDecl) -> None:
        if not self._once("version", item.span):
            return
        quantity = self.values.whole(item.value, "a version", code="NMO306")
        if quantity is None or not 1 <= quantity.amount <= MAX_VERSION:
            if quantity is not None:
                self.report(
                    "NMO306" if quantity.amount < 1 else "NMO313",
                    item.value.span,
                    f"a version is a whole number from 1 to {MAX_VERSION:,}",
                    None,
                )
            self.settings.ok = False
            return
        self.settings.fields["version"] = int(quantity.amount)

    def _archetype(self, item: ast.ContractArchetype) -> None:
        if not self._once("archetype", item.span):
            return
        name = item.name.text
        self.settings.fields["archetype"] = name
        self.settings.archetype_span = item.name.span
        if name not in self.symbols.archetypes:
            self.report(
                "NMO208",
                item.name.span,
                f"unknown archetype `{name}`",
                did_you_mean(name, {*self.symbols.archetypes, *known_archetypes()})
                or "declare it with `archetype NAME { ... }`, or name a standard one: "
                + ", ".join(known_archetypes()),
            )
            self.settings.ok = False
            return
        self.settings.archetype = self.symbols.priors.get(name)

    def _scope(self, item: ast.ScopeDecl) -> None:
        if self.settings.scope is not None:
            self.report("NMO405", item.span, "`scope` is given twice in this contract", None)
            self.settings.ok = False
            return
        scope: dict[str, set[str]] = {}
        for entry in item.entries:
            scope.setdefault(entry.kind, set()).update(name.text for name in entry.names)
        self.settings.scope = {kind: sorted(names) for kind, names in scope.items()}
        self.scope_sets = {kind: SortedNames(names) for kind, names in scope.items()}

    def _trust(self, item: ast.TrustDecl) -> None:
        for setting in item.settings:
            key = TRUST_KEYS.get(setting.name.text)
            if key is None:
                self.report(
                    "NMO210",
                    setting.name.span,
                    f"unknown trust setting `{setting.name.text}`",
                    did_you_mean(setting.name.text, TRUST_KEYS) or "use initial, floor and ceiling",
                )
                self.settings.ok = False
                continue
            if not self._once(key, setting.span):
                continue
            quantity = self.values.number(setting.value, "a trust value")
            if quantity is None or not 0.0 <= quantity.amount <= 1.0:
                if quantity is not None:
                    self.report(
                        "NMO308", quantity.span, f"trust `{quantity.text}` is outside 0..1", None
                    )
                self.settings.ok = False
                continue
            self.settings.fields[key] = quantity.amount

    def _anchor(self, item: ast.AnchorDecl) -> None:
        term = item.term.text
        if term in self.settings.anchors:
            self.report("NMO207", item.term.span, f"anchor {term!r} is declared twice", None)
            self.settings.ok = False
            return
        self._in_scope("actions", item.actions, "NMO400")
        actions = [name.text for name in item.actions]
        self.settings.anchors[term] = {
            "term": term,
            "actions": actions,
            "description": item.description or "",
        }

    def _drift(self, item: ast.DriftThresholds) -> None:
        thresholds: dict[str, float] = self.settings.fields.setdefault("drift_thresholds", {})
        for setting in item.settings:
            key = setting.name.text
            if key not in DRIFT_DISTRIBUTIONS:
                self.report(
                    "NMO403",
                    setting.name.span,
                    f"unknown drift key `{key}`",
                    did_you_mean(key, DRIFT_DISTRIBUTIONS)
                    or f"use one of {', '.join(DRIFT_DISTRIBUTIONS)}",
                )
                self.settings.ok = False
                continue
            quantity = self.values.number(setting.value, "a drift threshold")
            if quantity is None or not 0.0 <= quantity.amount <= 1.0 or key in thresholds:
                self._bad_drift(key, setting, quantity is not None and key not in thresholds)
                continue
            thresholds[key] = quantity.amount

    def _bad_drift(self, key: str, setting: ast.Setting, out_of_range: bool) -> None:
        self.settings.ok = False
        if out_of_range:
            self.report(
                "NMO300", setting.value.span, f"drift threshold for `{key}` is outside 0..1", None
            )
        elif key in self.settings.fields.get("drift_thresholds", {}):
            self.report("NMO405", setting.span, f"drift threshold `{key}` is given twice", None)

    def _expected(self, item: ast.ExpectedDecl) -> None:
        if item.block.kind in self.settings.expected:
            self.report("NMO405", item.span, f"`expected {item.block.kind}` is given twice", None)
            self.settings.ok = False
            return
        checked = check_distribution(item.block, self.values, self.report)
        if checked is None:
            self.settings.ok = False
            return
        self.settings.expected[item.block.kind] = checked.shares
        names = tuple(share.name for share in item.block.shares)
        self._in_scope(item.block.kind, names, "NMO400")

    def _in_scope(self, kind: str, names: tuple[ast.Name, ...], code: str) -> None:
        scope = self.scope_sets.get(kind)
        if scope is None:
            return
        for name in names:
            if name.text not in scope:
                self.report(
                    code,
                    name.span,
                    f"{kind[:-1]} `{name.text}` is outside the "
                    f"authorized scope of contract {self.agent_id!r}",
                    did_you_mean(name.text, scope) or f"add it to `scope {{ {kind} ... }}`",
                )
                self.settings.ok = self.settings.ok and code != "NMO400"

    def _check_expected_scope(self) -> None:
        """A prior expecting actions the scope does not authorise is worth a warning."""
        prior, span = self.settings.archetype, self.settings.archetype_span
        if prior is None or span is None or self.settings.scope is None:
            return
        for kind, shares in (
            ("actions", prior.action_distribution),
            ("targets", prior.target_distribution),
        ):
            scope = self.scope_sets.get(kind)
            if kind in self.settings.expected or scope is None:
                continue
            outside = sorted(name for name in shares if name not in scope)
            if outside:
                self.report(
                    "NMO401",
                    span,
                    f"archetype `{prior.name}` expects {kind} outside "
                    f"the scope: {', '.join(outside)}",
                    f"give the contract its own `expected {kind} {{ ... }}`, or widen the scope",
                )

    # ---- rules -------------------------------------------------------------------

    def _context(self) -> RuleContext:
        scope = self.settings.scope
        prior = self.settings.archetype
        actions = self.scope_sets.get("actions", SortedNames(()))
        return RuleContext(
            mode=CONTRACT,
            agent_id=self.agent_id,
            scope_actions=None if scope is None else actions,
            anchors=frozenset(self.settings.anchors),
            archetype=self.settings.fields.get("archetype", CONTRACT_DEFAULTS["archetype"]),
            baseline_rate=None if prior is None else prior.baseline_rate,
        )

    def _rules(self) -> tuple[tuple[CheckedRule, ...], bool]:
        context = self._context()
        used: list[CheckedRule] = []
        inline: list[CheckedRule] = []
        ok = True
        for item in self.decl.items:
            if isinstance(item, ast.UseStmt):
                ok = self._use(item, context, used) and ok
            elif isinstance(item, ast.InvariantDecl) or ast.is_rule(item):
                checked = self._rule(item, self.source, context, self.report)  # type: ignore[arg-type]
                ok = ok and checked is not None
                inline.extend([checked] if checked is not None else [])
        rules, unique = _unique(used + inline, self.reporter)
        # Conflicts among the rules that did check are worth knowing even when others did not.
        find_conflicts([(r.facts, self.reporter(r.source), r.place) for r in rules])
        return rules, ok and unique

    def _use(self, item: ast.UseStmt, context: RuleContext, out: list[CheckedRule]) -> bool:
        name = item.name.text
        found = self.symbols.packs.get(name) or self.symbols.invariants.get(name)
        if found is None:
            known = [*self.symbols.packs, *self.symbols.invariants]
            self.report(
                "NMO209",
                item.name.span,
                f"`use {name}`: no pack or invariant of that name is in scope",
                did_you_mean(name, known) or "import the file that declares it",
            )
            return False
        node = found.node
        items = node.items if isinstance(node, ast.PackDecl) else (node,)
        report = self._via(found.source, name)
        ok = True
        for member in items:
            checked = self._rule(member, found.source, context, report)  # type: ignore[arg-type]
            ok = ok and checked is not None
            out.extend([checked] if checked is not None else [])
        return ok

    def _via(self, source: SourceFile, used: str) -> Report:
        """Report only contract-dependent problems of a used rule, naming the contract."""
        inner = self.reporter(source)

        def report(code: str, span: Span, message: str, help_text: str | None) -> None:
            if code in _CONTRACT_CODES:
                inner(
                    code,
                    span,
                    f"{message} (in contract {self.agent_id!r}, via `use {used}`)",
                    help_text,
                )

        return report

    def _rule(
        self,
        item: ast.InvariantDecl | ast.Rule,
        source: SourceFile,
        context: RuleContext,
        report: Report,
    ) -> CheckedRule | None:
        rule = item.rule if isinstance(item, ast.InvariantDecl) else item
        facts = RuleChecker(context, self.values, report).check(rule)
        if facts is None:
            return None
        if isinstance(item, ast.InvariantDecl):
            return CheckedRule(facts, item.name.text, item.description, source, rule)
        return CheckedRule(facts, None, None, source, rule)

    # ---- fields ------------------------------------------------------------------

    def _fields(self) -> dict[str, Any]:
        """The contract's fields, every value plain JSON data, invariants excepted."""
        given = self.settings.fields
        prior = self.settings.archetype
        expected = self.settings.expected
        defaults = CONTRACT_DEFAULTS
        scope = self.settings.scope
        return {
            "agent_id": self.agent_id,
            "version": given.get("version", defaults["version"]),
            "certificate_id": given.get("certificate_id", defaults["certificate_id"]),
            "archetype": given.get("archetype", defaults["archetype"]),
            "expected_action_distribution": _distribution(expected, "actions", prior),
            "expected_target_distribution": _distribution(expected, "targets", prior),
            "expected_outcome_distribution": _distribution(expected, "outcomes", prior),
            "authorized_scope": {}
            if scope is None
            else {"actions": scope.get("actions", []), "targets": scope.get("targets", [])},
            "initial_trust": given.get("initial_trust", defaults["initial_trust"]),
            "trust_floor": given.get("trust_floor", defaults["trust_floor"]),
            "trust_ceiling": given.get("trust_ceiling", defaults["trust_ceiling"]),
            "semantic_anchors": [self.settings.anchors[t] for t in self.settings.anchors],
            "drift_thresholds": dict(given.get("drift_thresholds", {})),
        }


def _distribution(
    expected: dict[str, dict[str, float]], kind: str, prior: ArchetypePrior | None
) -> dict[str, float]:
    if kind in expected:
        return dict(expected[kind])
    if prior is None:
        return {}
    source = {
        "actions": prior.action_distribution,
        "targets": prior.target_distribution,
        "outcomes": prior.outcome_distribution,
    }[kind]
    return dict(source)


def _unique(rules: list[CheckedRule], reporter: Reporter) -> tuple[tuple[CheckedRule, ...], bool]:
    """Drop repeats of one declaration (a pack used twice); two declarations of a name are an error.

    Two declarations are two places in the sources, even when they read the
    same: an author who writes one invariant twice is told so.
    """
    by_name: dict[str, CheckedRule] = {}
    out: list[CheckedRule] = []
    ok = True
    for rule in rules:
        if rule.name is None:
            out.append(rule)
            continue
        first = by_name.get(rule.name)
        if first is None:
            by_name[rule.name] = rule
            out.append(rule)
        elif (
            first.facts != rule.facts
            or first.source != rule.source
            or first.facts.span != rule.facts.span
        ):
            reporter(rule.source)(
                "NMO207",
                rule.facts.span,
                f"invariant `{rule.name}` is declared twice in "
                f"this contract (first at {first.place})",
                None,
            )
            ok = False
    return tuple(out), ok
