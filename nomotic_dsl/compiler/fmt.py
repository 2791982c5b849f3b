"""The canonical formatter: .nomo source text -> the same policy in canonical layout.

Input: source text. Output: text with one statement per line, 4-space
indentation inside blocks, single spaces between tokens, canonical quoting, at
most one blank line where the author left blank lines, and every comment kept
(a comment on its own line stays before the statement that follows it; a
comment after code stays at the end of that statement's line). Stage: a tool
over the syntax stage (text -> AST -> text); it needs a file that parses, not
one that checks. Numbers, percents and durations keep the author's spelling
(``0.20`` stays ``0.20``) because spellings are part of the AST and of the
descriptions generated from a rule's text. Formatting is idempotent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import assert_never

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic
from nomotic_dsl.compiler.gcpause import collector_paused
from nomotic_dsl.compiler.source import SourceFile
from nomotic_dsl.compiler.syntax import parse_module
from nomotic_dsl.compiler.syntax.keywords import KEYWORDS

INDENT = "    "
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_BLANK_LINE = re.compile(r"\n[ \t\r\f]*\n")
_SYMBOL_OPERATORS = frozenset({"<", "<=", ">", ">=", "==", "!=", "<>"})


class FormatError(ValueError):
    """The text does not parse, so it cannot be formatted; carries the diagnostics."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        super().__init__("; ".join(item.message for item in diagnostics) or "cannot parse")
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class Line:
    """One output line: its depth, text, and the source offsets it stands for.

    ``start`` orders the line against comments; ``end`` is where the next
    item's leading whitespace begins (for keeping the author's blank lines).
    ``closes`` marks a block's closing brace, before which comments belong
    inside the block.
    """

    depth: int
    text: str
    start: int
    end: int
    closes: bool = False


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` comment: where it starts, its text, and whether code precedes it on its line."""

    start: int
    end: int
    text: str
    trailing: bool


def format_source(text: str, filename: str = "<input>") -> str:
    """The canonical layout of ``text``; raise FormatError when it does not parse."""
    with collector_paused():
        outcome = parse_module(SourceFile(filename, text))
    errors = tuple(item for item in outcome.diagnostics if item.is_error)
    if outcome.module is None or errors:
        raise FormatError(errors or outcome.diagnostics)
    return render(layout_module(outcome.module), scan_comments(text), text)


# ---- comments -----------------------------------------------------------------


def scan_comments(text: str) -> list[Comment]:
    """Every comment in the text, in order (a ``#`` inside a string is not one)."""
    comments: list[Comment] = []
    index, in_string, line_start = 0, False, 0
    while index < len(text):
        char = text[index]
        if in_string:
            in_string = char != '"' and char != "\n"
            index += 2 if char == "\\" else 1
            continue
        if char == "#":
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            trailing = bool(text[line_start:index].strip())
            comments.append(Comment(index, end, text[index:end].rstrip(), trailing))
            index = end
            continue
        if char == "\n":
            line_start = index + 1
        in_string = char == '"'
        index += 1
    return comments


# ---- assembling lines and comments -----------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    """A line (``line`` is its index) or an own-line comment (``line`` is -1), in output order."""

    depth: int
    text: str
    start: int
    end: int
    closes: bool
    line: int


def render(lines: list[Line], comments: list[Comment], text: str) -> str:
    """Join lines and comments, keeping at most one blank line where the author had one."""
    trailing = _trailing_comments(lines, [c for c in comments if c.trailing])
    out: list[str] = []
    previous: _Item | None = None
    for item in _merge(lines, [c for c in comments if not c.trailing]):
        if previous is not None and _blank_between(previous, item, text):
            out.append("")
        out.append(INDENT * item.depth + item.text + trailing.get(item.line, ""))
        previous = item
    return "\n".join(out) + "\n" if out else ""


def _blank_between(previous: _Item, item: _Item, text: str) -> bool:
    """True when the author left a blank line here (never just inside a block's braces)."""
    if item.closes or (previous.line >= 0 and previous.text.endswith("{")):
        return False
    return _BLANK_LINE.search(text, previous.end, max(previous.end, item.start)) is not None


def _trailing_comments(lines: list[Line], comments: list[Comment]) -> dict[int, str]:
    """Line index -> the end-of-line comments of the statement that precedes them."""
    attached: dict[int, str] = {}
    for comment in comments:
        owner = max((i for i, line in enumerate(lines) if line.start <= comment.start), default=0)
        attached[owner] = attached.get(owner, "") + "  " + comment.text
    return attached


def _merge(lines: list[Line], comments: list[Comment]) -> list[_Item]:
    """Lines in order, each own-line comment placed before the first line after it."""
    items: list[_Item] = []
    pending = list(comments)
    for index, line in enumerate(lines):
        while pending and pending[0].start < line.start:
            comment = pending.pop(0)
            depth = line.depth + 1 if line.closes else line.depth
            items.append(_Item(depth, comment.text, comment.start, comment.end, False, -1))
        items.append(_Item(line.depth, line.text, line.start, line.end, line.closes, index))
    items.extend(_Item(0, c.text, c.start, c.end, False, -1) for c in pending)
    return items


# ---- statements -------------------------------------------------------------------


def layout_module(module: ast.Module) -> list[Line]:
    """The module's statements as output lines, in source order."""
    lines: list[Line] = []
    for statement in module.statements:
        lines.extend(layout_statement(statement, 0))
    return lines


def layout_statement(statement: ast.Statement, depth: int) -> list[Line]:
    """One top-level statement: a single line, or a block of lines."""
    match statement:
        case ast.Import():
            return [_leaf(statement, depth, f"import {quote(statement.path)}")]
        case ast.ConstDecl():
            text = f"const {statement.name.text} = {value_text(statement.value)}"
            return [_leaf(statement, depth, text)]
        case ast.InvariantDecl():
            return [_leaf(statement, depth, invariant_text(statement))]
        case ast.PackDecl():
            body = [line for item in statement.items for line in _pack_item(item, depth + 1)]
            return _block(statement, depth, f"pack {statement.name.text}", body)
        case ast.ArchetypeDecl():
            body = [_leaf(item, depth + 1, archetype_item_text(item)) for item in statement.items]
            return _block(statement, depth, f"archetype {statement.name.text}", body)
        case ast.ContractDecl():
            body = [line for item in statement.items for line in _contract_item(item, depth + 1)]
            return _block(statement, depth, f"contract {quote(statement.agent_id.text)}", body)
        case _:
            return [_leaf(statement, depth, rule_text(statement))]


def _pack_item(item: ast.InvariantDecl | ast.Rule, depth: int) -> list[Line]:
    if isinstance(item, ast.InvariantDecl):
        return [_leaf(item, depth, invariant_text(item))]
    return [_leaf(item, depth, rule_text(item))]


def _contract_item(item: ast.ContractItem, depth: int) -> list[Line]:
    match item:
        case ast.ScopeDecl():
            body = [_leaf(entry, depth + 1, scope_entry_text(entry)) for entry in item.entries]
            return _block(item, depth, "scope", body)
        case ast.InvariantDecl():
            return [_leaf(item, depth, invariant_text(item))]
        case _:
            return [_leaf(item, depth, contract_item_text(item))]


def _leaf(node: ast.Node, depth: int, text: str) -> Line:
    return Line(depth, text, node.span.start, node.span.end)


def _block(node: ast.Node, depth: int, head: str, body: list[Line]) -> list[Line]:
    """``head {`` / body / ``}``, or ``head { }`` when the block is empty."""
    if not body:
        return [_leaf(node, depth, f"{head} {{ }}")]
    opener = Line(depth, f"{head} {{", node.span.start, node.span.start)
    closer_at = max(node.span.end - 1, body[-1].end)
    return [opener, *body, Line(depth, "}", closer_at, node.span.end, closes=True)]


def invariant_text(decl: ast.InvariantDecl) -> str:
    """``invariant NAME ["description"]: RULE``."""
    description = "" if decl.description is None else f" {quote(decl.description)}"
    return f"invariant {decl.name.text}{description}: {rule_text(decl.rule)}"


def archetype_item_text(item: ast.ArchetypeItem) -> str:
    """One line of an archetype block."""
    match item:
        case ast.DistributionBlock():
            return distribution_text(item)
        case ast.ActiveHours():
            return f"active hours {hours_text(item.hours, item.zone)}"
        case ast.BaselineRate():
            per = "" if item.per is None else f" per {item.per.text}"
            return f"baseline rate {value_text(item.value)}{per}"
        case _:
            assert_never(item)


def contract_item_text(item: ast.ContractItem) -> str:
    """One single-line item of a contract block."""
    match item:
        case ast.VersionDecl():
            return f"version {value_text(item.value)}"
        case ast.CertificateDecl():
            return f"certificate {quote(item.certificate)}"
        case ast.ContractArchetype():
            return f"archetype {item.name.text}"
        case ast.TrustDecl():
            return f"trust {settings_text(item.settings)}"
        case ast.AnchorDecl():
            return anchor_text(item)
        case ast.DriftThresholds():
            return f"drift thresholds {settings_text(item.settings)}"
        case ast.ExpectedDecl():
            return f"expected {distribution_text(item.block)}"
        case ast.UseStmt():
            return f"use {item.name.text}"
        case ast.ScopeDecl() | ast.InvariantDecl():
            raise ValueError("blocks and invariants are laid out by _contract_item")
        case _:
            return rule_text(item)


def distribution_text(block: ast.DistributionBlock) -> str:
    """``actions { read 45%, reply 30% }``."""
    shares = ", ".join(f"{name_text(s.name)} {value_text(s.value)}" for s in block.shares)
    return f"{block.kind} {{ {shares} }}" if shares else f"{block.kind} {{ }}"


def scope_entry_text(entry: ast.ScopeEntry) -> str:
    """``actions read, reply``."""
    return f"{entry.kind} {', '.join(name_text(name) for name in entry.names)}"


def settings_text(settings: tuple[ast.Setting, ...]) -> str:
    """``{ initial 0.6 floor 0.2 }``."""
    inner = " ".join(f"{s.name.text} {value_text(s.value)}" for s in settings)
    return f"{{ {inner} }}" if inner else "{ }"


def anchor_text(anchor: ast.AnchorDecl) -> str:
    """``anchor "term" { actions a, b description "..." }``."""
    parts = []
    if anchor.actions:
        parts.append("actions " + ", ".join(name_text(name) for name in anchor.actions))
    if anchor.description is not None:
        parts.append(f"description {quote(anchor.description)}")
    inner = f"{{ {' '.join(parts)} }}" if parts else "{ }"
    return f"anchor {quote(anchor.term.text)} {inner}"


# ---- rules ----------------------------------------------------------------------


def rule_text(rule: ast.Rule) -> str:
    """A rule on one line, single-spaced."""
    match rule:
        case ast.PlainRule():
            metric = "" if rule.metric is None else f" {metric_text(rule.metric)}"
            head = f"{rule.kind.text}{metric} {comparison_text(rule.comparison)}"
            return head + window_text(rule.window) + qualifiers_text(rule.qualifiers)
        case ast.OutsideHours():
            return f"no activity outside {hours_text(rule.hours, rule.zone)}"
        case ast.DistinctCount():
            head = f"{rule.bound} {value_text(rule.value)} distinct {rule.subject.text}"
            return head + window_text(rule.window) + qualifiers_text(rule.qualifiers)
        case ast.SingleShare():
            head = f"no single {rule.subject.text} {comparison_text(rule.comparison)}"
            return head + window_text(rule.window) + qualifiers_text(rule.qualifiers)
        case ast.Fidelity():
            term = "every term" if isinstance(rule.term, ast.EveryTerm) else quote(rule.term.text)
            head = f"fidelity of {term} {comparison_text(rule.comparison)}"
            return head + window_text(rule.window) + qualifiers_text(rule.qualifiers)
        case ast.TermShift():
            head = f"no anchor term shifts more than {value_text(rule.value)}"
            return head + window_text(rule.window) + qualifiers_text(rule.qualifiers)
        case _:
            assert_never(rule)


def metric_text(metric: ast.Metric) -> str:
    """``write/read``, ``target_max``, ``"research"`` or ``8-18 in "Zone"``."""
    match metric:
        case ast.RatioMetric():
            return f"{metric.numerator.text}/{metric.denominator.text}"
        case ast.NameMetric():
            return metric.name.text
        case ast.TermMetric():
            return quote(metric.term.text)
        case ast.HoursMetric():
            return hours_text(metric.hours, metric.zone)
        case ast.EveryTerm():
            return "every term"
        case _:
            assert_never(metric)


def comparison_text(comparison: ast.Comparison) -> str:
    """``< 0.3``, ``at most 5``, ``between 0.05 and 0.3``."""
    if comparison.operator == "between" and comparison.upper is not None:
        return f"between {value_text(comparison.value)} and {value_text(comparison.upper)}"
    return f"{comparison.operator} {value_text(comparison.value)}"


def window_text(window: ast.Window | None) -> str:
    """`` over 100 actions``, `` over 1h``, or nothing."""
    if window is None:
        return ""
    unit = "" if window.unit is None else f" {window.unit}"
    return f" over {value_text(window.value)}{unit}"


def qualifiers_text(qualifiers: tuple[ast.Qualifier, ...]) -> str:
    """`` per session``, `` once full``, `` after 20 actions``, or nothing."""
    parts = []
    for qualifier in qualifiers:
        match qualifier:
            case ast.PerSession():
                parts.append(" per session")
            case ast.OnceFull():
                parts.append(" once full")
            case ast.Warmup():
                unit = "" if qualifier.unit is None else f" {qualifier.unit}"
                parts.append(f" after {value_text(qualifier.value)}{unit}")
            case _:
                assert_never(qualifier)
    return "".join(parts)


def hours_text(hours: ast.Hours, zone: ast.Zone | None) -> str:
    """``8-18`` or ``8-18 in "Europe/Berlin"``."""
    text = f"{hours.start.text}-{hours.end.text}"
    return text if zone is None else f"{text} in {quote(zone.name)}"


def value_text(value: ast.Value) -> str:
    """A value as the author spelt it (constants by name)."""
    match value:
        case (
            ast.NumberLit()
            | ast.PercentLit()
            | ast.UnitNumber()
            | ast.BaselineRef()
            | ast.PreviousRef()
        ):
            return value.text
        case ast.RateLit():
            return f"{value_text(value.amount)} per {value.per.text}"
        case ast.ConstRef():
            return value.name
        case _:
            assert_never(value)


# ---- names and strings -------------------------------------------------------------


def quote(text: str) -> str:
    """A string literal for ``text``, escaping what the grammar requires."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def name_text(name: ast.Name) -> str:
    """A name where the grammar takes an identifier or a string: bare when it can be."""
    if _IDENT.fullmatch(name.text) and name.text not in KEYWORDS:
        return name.text
    return quote(name.text)
