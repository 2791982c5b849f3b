"""What hover and completion say about a rule, a constant, a pack, an archetype or a file.

Input: an ``Analysis`` and AST nodes of it. Output: Markdown text. A rule is
described by the compiler's own stages: the checked rule (in the contract that
carries it, with that contract's scope, anchors and baseline) is lowered with
``lower.lower_rule`` and explained with ``explain.explain_spec``, the words of
``nomo explain``; a rule no contract carries (a pack's, or one in a contract
that has errors elsewhere) is checked on its own as a pack rule is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.explain import explain_contract, explain_spec
from nomotic_dsl.compiler.lower import lower_rule
from nomotic_dsl.compiler.semantics.program import CheckedRule
from nomotic_dsl.compiler.semantics.rules import PACK as PACK_MODE
from nomotic_dsl.compiler.semantics.rules import RuleChecker, RuleContext
from nomotic_dsl.compiler.semantics.values import (
    BASELINE,
    DURATION,
    PERCENT,
    ValueResolver,
)
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.ir.describe import format_duration, format_number
from nomotic_dsl.ir.spec import InvariantSpec
from nomotic_dsl.lsp.analysis import CONSTANT, FILE, Analysis, Site
from nomotic_dsl.lsp.syntax_tree import walk

MAX_SNIPPET_LINES = 24
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RuleMeaning:
    """One way a rule lowers: in which contract (None at file level or alone), to what spec."""

    contract: str | None
    spec: InvariantSpec | None
    alone: bool  # checked on its own, outside any contract


def _ignore(code: str, span: Span, message: str, help_text: str | None) -> None:
    """Problems of a rule checked alone are the diagnostics' business, not the hover's."""


def constants_of(analysis: Analysis) -> dict[str, ast.ConstDecl]:
    """The constant table the checker resolves names against."""
    return {
        name: site.node
        for (kind, name), site in analysis.declarations.items()
        if kind == CONSTANT and isinstance(site.node, ast.ConstDecl)
    }


def written(analysis: Analysis, file: str, span: Span, limit: int | None = None) -> str:
    """The source text a span covers, whitespace collapsed when ``limit`` is None."""
    source = analysis.source(file)
    if source is None:
        return ""
    text = source.snippet(span)
    if limit is None:
        return _SPACES.sub(" ", text).strip()
    lines = text.splitlines()
    if len(lines) > limit:
        lines = [*lines[:limit], "    ..."]
    return "\n".join(lines)


def leading_comment(source: SourceFile, offset: int) -> str:
    """The comment lines right above the line of ``offset`` (a declaration's doc comment)."""
    lines = source.text[:offset].split("\n")
    lines.pop()  # the declaration's own line
    found: list[str] = []
    while lines and lines[-1].strip().startswith("#"):
        found.append(lines.pop().strip().lstrip("#").strip())
    return "\n".join(reversed(found)).strip()


def file_comment(source: SourceFile) -> str:
    """The comment block a file starts with."""
    found: list[str] = []
    for line in source.text.split("\n"):
        if not line.strip().startswith("#"):
            break
        found.append(line.strip().lstrip("#").strip())
    return "\n".join(found).strip()


def constant_value(decl: ast.ConstDecl, analysis: Analysis) -> str:
    """What a constant stands for, in words."""
    resolver = ValueResolver(constants_of(analysis), _ignore)
    quantity = resolver.resolve(decl.value)
    text = f"`const {decl.name.text} = {_value_text(decl.value)}`"
    if quantity is None:
        return f"{text}: has no value (see the diagnostics)"
    if quantity.kind == PERCENT:
        return f"{text}: a percent, the share {format_number(quantity.amount)}"
    if quantity.kind == DURATION:
        return f"{text}: a duration of {format_duration(quantity.amount)}"
    if quantity.kind == BASELINE:
        return f"{text}: {format_number(quantity.amount)} × the archetype's baseline rate"
    return f"{text}: the number {format_number(quantity.amount)}"


def _value_text(value: ast.Value) -> str:
    if isinstance(value, ast.ConstRef):
        return value.name
    return str(getattr(value, "text", ""))


# ---- rules ----------------------------------------------------------------------------------


def rule_meanings(analysis: Analysis, file: str, rule: ast.Rule) -> list[RuleMeaning]:
    """Each spec the rule lowers to, in each contract that carries it (or alone)."""
    checked = analysis.checked
    found: list[tuple[str | None, CheckedRule]] = []
    if checked is not None:
        found.extend((None, item) for item in checked.file_rules if item.rule is rule)
        for contract in checked.contracts:
            agent = str(contract.fields.get("agent_id", ""))
            found.extend((agent, item) for item in contract.rules if item.rule is rule)
    meanings = [RuleMeaning(agent, _lowered(item), False) for agent, item in found]
    if meanings:
        return meanings
    return [RuleMeaning(None, _alone(analysis, file, rule), True)]


def _lowered(item: CheckedRule) -> InvariantSpec | None:
    spec = lower_rule(item)
    return None if spec.validate() else spec


def _alone(analysis: Analysis, file: str, rule: ast.Rule) -> InvariantSpec | None:
    """The rule checked as a pack rule is: no scope, no anchors, no baseline."""
    resolver = ValueResolver(constants_of(analysis), _ignore)
    facts = RuleChecker(RuleContext(mode=PACK_MODE), resolver, _ignore).check(rule)
    if facts is None:
        return None
    source = analysis.source(file) or SourceFile(file, analysis.text)
    return _lowered(CheckedRule(facts, None, None, source, rule))


def describe_rule(
    analysis: Analysis, file: str, rule: ast.Rule, decl: ast.InvariantDecl | None = None
) -> str:
    """Markdown for a rule: as written, in plain words, and the spec it lowers to."""
    heading = f"**invariant `{decl.name.text}`**" if decl is not None else "**rule**"
    parts = [f"{heading}: `{written(analysis, file, rule.span)}`"]
    if decl is not None and decl.description:
        parts.append(f"_{decl.description}_")
    baseline = uses_baseline(analysis, rule)
    for meaning in rule_meanings(analysis, file, rule):
        parts.append(_meaning_text(meaning, baseline))
    return "\n\n".join(parts)


def _meaning_text(meaning: RuleMeaning, baseline: bool) -> str:
    where = f'In contract "{meaning.contract}": ' if meaning.contract else ""
    if meaning.spec is None:
        if meaning.alone and baseline:
            return (
                "Its threshold is a multiple of the archetype's baseline rate, so it lowers "
                "once for each contract that uses it, with that contract's archetype."
            )
        if meaning.alone:
            return "It does not lower to an invariant: it has errors (see the diagnostics)."
        return f"{where}it does not make a valid invariant."
    try:
        sentence = explain_spec(meaning.spec)
    except ValueError:
        sentence = meaning.spec.description
    spec = json.dumps(meaning.spec.to_dict(), indent=2, ensure_ascii=False)
    note = " (checked on its own, outside any contract)" if meaning.alone else ""
    return f"{where}{sentence}{note}\n\n```json\n{spec}\n```"


def uses_baseline(analysis: Analysis, rule: ast.Rule) -> bool:
    """True when a bound of the rule is `Nx baseline` (written, or through a constant)."""
    resolver = ValueResolver(constants_of(analysis), _ignore)
    for node in walk(rule):
        if isinstance(node, ast.BaselineRef):
            return True
        if isinstance(node, ast.ConstRef):
            quantity = resolver.resolve(node)
            if quantity is not None and quantity.kind == BASELINE:
                return True
    return False


# ---- declarations ---------------------------------------------------------------------------


def describe_site(analysis: Analysis, site: Site) -> str | None:
    """Markdown for what a name stands for: its declaration, value or file."""
    target = analysis.definition(site)
    if target is None:
        return f"`{site.name}`: no {site.kind} of that name is declared in scope"
    if target.kind == FILE:
        return describe_file(analysis, target.name)
    node = target.node
    source = analysis.source(target.file)
    where = f"declared in `{target.file}`"
    if source is not None and target.kind != FILE:
        where += f", line {source.position(node.span.start).line}"
    doc = leading_comment(source, node.span.start) if source is not None else ""
    if isinstance(node, ast.ConstDecl):
        body = constant_value(node, analysis)
    elif isinstance(node, ast.InvariantDecl):
        body = describe_rule(analysis, target.file, node.rule, node)
    elif isinstance(node, ast.ContractDecl):
        body = describe_contract(analysis, target, node)
    else:
        snippet = written(analysis, target.file, node.span, MAX_SNIPPET_LINES)
        body = f"**{target.kind} `{target.name}`**\n\n```nomo\n{snippet}\n```"
    parts = [body, where]
    if doc:
        parts.insert(1, doc)
    return "\n\n".join(parts)


def describe_contract(analysis: Analysis, site: Site, node: ast.ContractDecl) -> str:
    """A contract's settings in words, when it compiled."""
    lowered = analysis.lowered
    contracts = [] if lowered is None else list(lowered.contracts)
    match = next((c for c in contracts if c.agent_id == site.name), None)
    if match is None:
        return f'**contract "{site.name}"**: has errors (see the diagnostics)'
    explained = explain_contract(match)
    lines = [f"**{explained.heading}**", ""]
    lines.extend(f"- {line}" for line in explained.settings)
    lines.append(f"- {len(explained.rules)} invariants.")
    return "\n".join(lines)


def describe_file(analysis: Analysis, name: str) -> str:
    """A loaded file: where it is, its opening comment, what it declares."""
    source = analysis.source(name)
    path = analysis.path_of(name)
    parts = [f"**file `{name}`**" + (f": `{path}`" if path is not None else "")]
    if source is None:
        parts.append("It was not loaded (see the diagnostics).")
        return "\n\n".join(parts)
    comment = file_comment(source)
    if comment:
        parts.append(comment)
    statements = {id(node) for node in _statements(analysis, name)}
    declared = [
        f"- {site.kind} `{site.name}`"
        for site in analysis.sites
        if site.file == name and site.declaration and id(site.node) in statements
    ]
    if declared:
        parts.append("Declares:\n" + "\n".join(declared))
    return "\n\n".join(parts)


def _statements(analysis: Analysis, name: str) -> tuple[ast.Node, ...]:
    loaded = analysis.files.get(name)
    if loaded is None or loaded.module is None:
        return ()
    return loaded.module.statements
