"""The AST builder: Lark parse tree -> ``nomotic_dsl.compiler.ast`` nodes.

Input: a parse tree from ``nomotic_dsl.compiler.syntax.parser`` and a ``DiagnosticBag``.
Output: an ``ast.Module``. Stage: parse tree -> AST. The grammar accepts a few
common mistakes (`=` for `==`, `=>`, a window with no unit, bad escapes) so
this builder can explain them precisely; it records each problem in the bag
and keeps building, and it never raises for bad input.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from lark import Token, Tree

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import DiagnosticBag
from nomotic_dsl.compiler.limits import MAX_NAME_CHARS, MAX_TEXT_CHARS
from nomotic_dsl.compiler.source import Span

# Spelling mistakes the grammar accepts on purpose: written -> meant, code.
_OPERATOR_FIXES: dict[str, tuple[str, str]] = {
    "=": ("==", "NMO102"),
    "=>": (">=", "NMO103"),
    "=<": ("<=", "NMO103"),
}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n"}
# Rules written with `!` in the grammar: their keyword tokens are their value.
KEEP_EVERY_TOKEN = frozenset(
    {"dist_kind", "scope_kind", "window_unit", "bound_word", "word_op", "per_rate"}
)
# `N per session` ending a rule is the amount N and the `per session` qualifier:
# after a number `per` could start either, and LALR(1) shifts it into a rate.
SESSION_WORD = "session"
# Keywords and punctuation that only shape a statement; no builder method reads
# them (tests/language/test_golden.py pins that the AST is what it was when
# Lark filtered them).
SYNTAX_ONLY = frozenset(
    {
        "ACTIONS",
        "ACTIVE",
        "ACTIVITY",
        "AFTER",
        "ANCHOR",
        "AND",
        "ARCHETYPE",
        "BASELINE",
        "BETWEEN",
        "CERTIFICATE",
        "COLON",
        "COMMA",
        "CONST",
        "CONTRACT",
        "DESCRIPTION",
        "DISTINCT",
        "EQUAL",
        "EVERY",
        "EXPECTED",
        "FIDELITY",
        "FULL",
        "HOURS",
        "IMPORT",
        "IN",
        "INVARIANT",
        "LBRACE",
        "MINUS",
        "MORE",
        "NO",
        "OF",
        "ONCE",
        "OUTSIDE",
        "OVER",
        "PACK",
        "PER",
        "PREVIOUS",
        "RATE",
        "RBRACE",
        "SCOPE",
        "SESSION",
        "SHIFTS",
        "SINGLE",
        "SLASH",
        "TERM",
        "THAN",
        "THRESHOLDS",
        "TRUST",
        "USE",
        "VERSION",
    }
)
_DROPPED = object()


def _meta_span(meta: Meta) -> Span:
    if meta.start_pos is None or meta.end_pos is None:
        return Span(0, 0)
    return Span(meta.start_pos, meta.end_pos)


def _token_span(token: Token) -> Span:
    start = token.start_pos or 0
    end = token.end_pos if token.end_pos is not None else start + len(str(token))
    return Span(start, end)


def _present(children: list[Any]) -> list[Any]:
    return [child for child in children if child is not None]


@dataclass(frozen=True, slots=True)
class Meta:
    """Where a subtree is: from its first token to its last (what Lark's meta would say)."""

    start_pos: int | None
    end_pos: int | None

    @property
    def empty(self) -> bool:
        """True when the subtree holds no token at all."""
        return self.start_pos is None


class AstBuilder:
    """Explicit tree -> AST conversion, one method per grammar rule.

    The parser keeps every token (``keep_all_tokens``) and propagates no
    positions; ``build`` walks the tree once, computing each subtree's span
    from its first and last token and dropping the keyword and punctuation
    tokens the methods do not look at, which is what Lark's own position
    propagation and token filtering did, at a third of the cost.
    """

    def __init__(self, bag: DiagnosticBag) -> None:
        self.bag = bag

    def build(self, tree: Tree) -> Any:
        """The AST of a parse tree."""
        value, _, _ = self._walk(tree)
        return value

    def _walk(self, tree: Tree) -> tuple[Any, int | None, int | None]:
        rule = str(tree.data)
        keep = rule in KEEP_EVERY_TOKEN
        children: list[Any] = []
        start = end = None
        for child in tree.children:
            if child.__class__ is Token:  # the usual child, as the Token branch below treats it
                first = child.start_pos
                if first is not None:
                    start = first if start is None else start
                    end = child.end_pos
                if keep or child.type not in SYNTAX_ONLY:
                    children.append(child)
                continue
            if isinstance(child, Tree):
                value, first, last = self._walk(child)
            elif isinstance(child, Token):
                value, first, last = child, child.start_pos, child.end_pos
                if not keep and child.type in SYNTAX_ONLY:
                    value = _DROPPED
            else:  # None: an optional part that is absent (maybe_placeholders)
                children.append(None)
                continue
            if first is not None:
                start = first if start is None else start
                end = last
            if value is not _DROPPED:
                children.append(value)
        return getattr(self, rule)(Meta(start, end), children), start, end

    # ---- tokens ------------------------------------------------------------

    def _name(self, token: Token | ast.Name, limit: int = MAX_NAME_CHARS) -> ast.Name:
        if isinstance(token, ast.Name):
            return token
        text = self._unquote(token) if token.type == "STRING" else str(token)
        if len(text) > limit:
            what = "name" if limit == MAX_NAME_CHARS else "text"
            self.bag.report(
                "NMO112",
                _token_span(token),
                f"this {what} has {len(text):,} characters, more than the {limit:,} allowed",
                None,
            )
        return ast.Name(text=text, span=_token_span(token))

    def _text(self, token: Token) -> str:
        """A string of free text (a description, a certificate): a longer limit than names."""
        return self._name(token, MAX_TEXT_CHARS).text

    def _unquote(self, token: Token) -> str:
        body, out, index = str(token)[1:-1], [], 0
        while index < len(body):
            char = body[index]
            if unicodedata.category(char) == "Cc" and char != "\t":
                start = (token.start_pos or 0) + 1 + index
                self.bag.report(
                    "NMO105",
                    Span(start, start + 1),
                    f"a string cannot hold the control character U+{ord(char):04X}",
                    "write `\\n` for a line break; remove other control characters",
                )
            if char == "\\" and index + 1 < len(body):
                escaped = body[index + 1]
                if escaped not in _ESCAPES:
                    start = (token.start_pos or 0) + 1 + index
                    self.bag.report(
                        "NMO105",
                        Span(start, start + 2),
                        f"unknown escape `\\{escaped}` in a string",
                        'only `\\"`, `\\\\` and `\\n` are escapes; write `\\\\` for a backslash',
                    )
                out.append(_ESCAPES.get(escaped, escaped))
                index += 2
                continue
            out.append(char)
            index += 1
        return "".join(out)

    # ---- file and declarations --------------------------------------------

    def start(self, meta: Meta, children: list[Any]) -> ast.Module:
        return ast.Module(statements=tuple(_present(children)), span=_meta_span(meta))

    def import_stmt(self, meta: Meta, children: list[Any]) -> ast.Import:
        return ast.Import(path=self._unquote(children[0]), span=_meta_span(meta))

    def const_decl(self, meta: Meta, children: list[Any]) -> ast.ConstDecl:
        name, value = children
        return ast.ConstDecl(name=self._name(name), value=value, span=_meta_span(meta))

    def invariant_decl(self, meta: Meta, children: list[Any]) -> ast.InvariantDecl:
        name, description, rule = children
        text = None if description is None else self._text(description)
        return ast.InvariantDecl(
            name=self._name(name), description=text, rule=rule, span=_meta_span(meta)
        )

    def use_stmt(self, meta: Meta, children: list[Any]) -> ast.UseStmt:
        return ast.UseStmt(name=self._name(children[0]), span=_meta_span(meta))

    def pack_decl(self, meta: Meta, children: list[Any]) -> ast.PackDecl:
        name, *items = children
        return ast.PackDecl(name=self._name(name), items=tuple(items), span=_meta_span(meta))

    def archetype_decl(self, meta: Meta, children: list[Any]) -> ast.ArchetypeDecl:
        name, *items = children
        return ast.ArchetypeDecl(name=self._name(name), items=tuple(items), span=_meta_span(meta))

    def distribution_block(self, meta: Meta, children: list[Any]) -> ast.DistributionBlock:
        kind = children[0]
        shares = tuple(child for child in children[1:] if isinstance(child, ast.Share))
        return ast.DistributionBlock(kind=kind.text, shares=shares, span=_meta_span(meta))

    def share(self, meta: Meta, children: list[Any]) -> ast.Share:
        return ast.Share(name=children[0], value=children[1], span=_meta_span(meta))

    def active_hours(self, meta: Meta, children: list[Any]) -> ast.ActiveHours:
        return ast.ActiveHours(hours=children[0], zone=children[1], span=_meta_span(meta))

    def baseline_rate(self, meta: Meta, children: list[Any]) -> ast.BaselineRate:
        (value,) = children
        if isinstance(value, ast.RateLit):  # `baseline rate 1.2 per minute`
            return ast.BaselineRate(value=value.amount, per=value.per, span=_meta_span(meta))
        return ast.BaselineRate(value=value, per=None, span=_meta_span(meta))

    # ---- contracts -----------------------------------------------------------

    def contract_decl(self, meta: Meta, children: list[Any]) -> ast.ContractDecl:
        agent, *items = children
        return ast.ContractDecl(
            agent_id=self._name(agent), items=tuple(items), span=_meta_span(meta)
        )

    def version(self, meta: Meta, children: list[Any]) -> ast.VersionDecl:
        return ast.VersionDecl(value=children[0], span=_meta_span(meta))

    def certificate(self, meta: Meta, children: list[Any]) -> ast.CertificateDecl:
        text = self._text(children[0])
        return ast.CertificateDecl(certificate=text, span=_meta_span(meta))

    def contract_archetype(self, meta: Meta, children: list[Any]) -> ast.ContractArchetype:
        return ast.ContractArchetype(name=self._name(children[0]), span=_meta_span(meta))

    def scope(self, meta: Meta, children: list[Any]) -> ast.ScopeDecl:
        return ast.ScopeDecl(entries=tuple(children), span=_meta_span(meta))

    def scope_entry(self, meta: Meta, children: list[Any]) -> ast.ScopeEntry:
        kind, *names = children
        return ast.ScopeEntry(kind=kind.text, names=tuple(names), span=_meta_span(meta))

    def trust(self, meta: Meta, children: list[Any]) -> ast.TrustDecl:
        return ast.TrustDecl(settings=tuple(children), span=_meta_span(meta))

    def anchor(self, meta: Meta, children: list[Any]) -> ast.AnchorDecl:
        term, *items = children
        actions: list[ast.Name] = []
        description: str | None = None
        for kind, value in items:
            if kind == "actions":
                actions.extend(value)
            else:
                description = value
        return ast.AnchorDecl(
            term=self._name(term),
            actions=tuple(actions),
            description=description,
            span=_meta_span(meta),
        )

    def anchor_actions(self, meta: Meta, children: list[Any]) -> tuple[str, list[ast.Name]]:
        return ("actions", list(children))

    def anchor_description(self, meta: Meta, children: list[Any]) -> tuple[str, str]:
        return ("description", self._text(children[0]))

    def drift_thresholds(self, meta: Meta, children: list[Any]) -> ast.DriftThresholds:
        return ast.DriftThresholds(settings=tuple(children[1:]), span=_meta_span(meta))

    def expected(self, meta: Meta, children: list[Any]) -> ast.ExpectedDecl:
        return ast.ExpectedDecl(block=children[0], span=_meta_span(meta))

    def setting(self, meta: Meta, children: list[Any]) -> ast.Setting:
        return ast.Setting(name=self._name(children[0]), value=children[1], span=_meta_span(meta))

    # ---- rules ---------------------------------------------------------------

    def plain_rule(self, meta: Meta, children: list[Any]) -> ast.PlainRule:
        kind, metric, comparison, window, *rest = children
        comparison, window, qualifiers = self._trailing_session(comparison, window, rest)
        return ast.PlainRule(
            kind=kind,
            metric=metric,
            comparison=comparison,
            window=window,
            qualifiers=qualifiers,
            span=_meta_span(meta),
        )

    def rule_kind(self, meta: Meta, children: list[Any]) -> ast.Name:
        return self._name(children[0])

    def ratio_metric(self, meta: Meta, children: list[Any]) -> ast.RatioMetric:
        numerator, denominator = (self._name(child) for child in children)
        return ast.RatioMetric(numerator=numerator, denominator=denominator, span=_meta_span(meta))

    def name_metric(self, meta: Meta, children: list[Any]) -> ast.NameMetric:
        return ast.NameMetric(name=self._name(children[0]), span=_meta_span(meta))

    def term_metric(self, meta: Meta, children: list[Any]) -> ast.TermMetric:
        return ast.TermMetric(term=self._name(children[0]), span=_meta_span(meta))

    def hours_metric(self, meta: Meta, children: list[Any]) -> ast.HoursMetric:
        return ast.HoursMetric(hours=children[0], zone=children[1], span=_meta_span(meta))

    def outside_hours(self, meta: Meta, children: list[Any]) -> ast.OutsideHours:
        return ast.OutsideHours(hours=children[0], zone=children[1], span=_meta_span(meta))

    def distinct_count(self, meta: Meta, children: list[Any]) -> ast.DistinctCount:
        bound, value, subject, window, *rest = children
        _, window, qualifiers = self._trailing_session(None, window, rest)
        return ast.DistinctCount(
            bound=bound.text,
            value=value,
            subject=self._name(subject),
            window=window,
            qualifiers=qualifiers,
            span=_meta_span(meta),
        )

    def single_share(self, meta: Meta, children: list[Any]) -> ast.SingleShare:
        subject, comparison, window, *rest = children
        comparison, window, qualifiers = self._trailing_session(comparison, window, rest)
        return ast.SingleShare(
            subject=self._name(subject),
            comparison=comparison,
            window=window,
            qualifiers=qualifiers,
            span=_meta_span(meta),
        )

    def fidelity(self, meta: Meta, children: list[Any]) -> ast.Fidelity:
        term, comparison, window, *rest = children
        comparison, window, qualifiers = self._trailing_session(comparison, window, rest)
        return ast.Fidelity(
            term=term if isinstance(term, ast.EveryTerm) else self._name(term),
            comparison=comparison,
            window=window,
            qualifiers=qualifiers,
            span=_meta_span(meta),
        )

    def term_shift(self, meta: Meta, children: list[Any]) -> ast.TermShift:
        value, window, *rest = children
        session = None
        if window is None:
            value, session = _session_split(value)
        else:
            window, session = self._window_session(window)
        qualifiers = self._with_session(session, rest)
        return ast.TermShift(
            value=value, window=window, qualifiers=qualifiers, span=_meta_span(meta)
        )

    def _trailing_session(
        self, comparison: ast.Comparison | None, window: ast.Window | None, rest: list[Any]
    ) -> tuple[Any, ast.Window | None, tuple[ast.Qualifier, ...]]:
        """The rule's last value split from a ``per session`` the parser read into it."""
        session = None
        if window is not None:
            window, session = self._window_session(window)
        elif comparison is not None:
            last = comparison.value if comparison.upper is None else comparison.upper
            amount, session = _session_split(last)
            if session is not None:
                bound = "value" if comparison.upper is None else "upper"
                span = Span(comparison.span.start, amount.span.end)
                comparison = replace(comparison, **{bound: amount}, span=span)
        return comparison, window, self._with_session(session, rest)

    def _window_session(self, window: ast.Window) -> tuple[ast.Window, ast.PerSession | None]:
        if window.unit is not None:
            return window, None
        amount, session = _session_split(window.value)
        if session is None:
            return window, None
        return self._window_node(amount, None, Span(window.span.start, amount.span.end)), session

    def _with_session(
        self, session: ast.PerSession | None, rest: list[Any]
    ) -> tuple[ast.Qualifier, ...]:
        qualifiers = _qualifiers(rest)
        if session is None:
            return qualifiers
        twice = [q for q in qualifiers if isinstance(q, ast.PerSession)]
        if twice:
            self.bag.report(
                "NMO100",
                twice[0].span,
                "`per session` is written twice",
                "write it once, after the window",
            )
            return qualifiers
        return (session, *qualifiers)

    def every_term(self, meta: Meta, children: list[Any]) -> ast.EveryTerm:
        return ast.EveryTerm(span=_meta_span(meta))

    def hours(self, meta: Meta, children: list[Any]) -> ast.Hours:
        start, end = (self._number(token) for token in children)
        return ast.Hours(start=start, end=end, span=_meta_span(meta))

    def zone(self, meta: Meta, children: list[Any]) -> ast.Zone:
        name = self._name(children[0])  # the span is the zone's name, where problems lie
        return ast.Zone(name=name.text, span=name.span)

    # ---- comparisons and windows ----------------------------------------------

    def compare(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        token, value = children
        written = str(token)
        operator = written
        if written in _OPERATOR_FIXES:
            operator, code = _OPERATOR_FIXES[written]
            self.bag.report(
                code,
                _token_span(token),
                f"`{written}` is not a comparison operator",
                f"write `{operator}`",
            )
        return ast.Comparison(operator=operator, value=value, span=_meta_span(meta))

    def between(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        lower, upper = children
        return ast.Comparison(operator="between", value=lower, upper=upper, span=_meta_span(meta))

    def word_compare(self, meta: Meta, children: list[Any]) -> ast.Comparison:
        word, value = children
        return ast.Comparison(operator=word.text, value=value, span=_meta_span(meta))

    def window(self, meta: Meta, children: list[Any]) -> ast.Window:
        value, unit = children
        return self._window_node(value, unit, _meta_span(meta))

    def _window_node(self, value: ast.Value, unit: ast.Name | None, span: Span) -> ast.Window:
        if unit is None and isinstance(value, ast.NumberLit):
            amount = value.text
            self.bag.report(
                "NMO104",
                value.span,
                f"the window `over {amount}` has no unit",
                f"add a unit: `{amount} actions` or `{amount}s`",
            )
        if unit is None:
            return ast.Window(value=value, span=span)
        return ast.Window(value=value, unit=unit.text, unit_span=unit.span, span=span)

    def per_session(self, meta: Meta, children: list[Any]) -> ast.PerSession:
        return ast.PerSession(span=_meta_span(meta))

    def once_full(self, meta: Meta, children: list[Any]) -> ast.OnceFull:
        return ast.OnceFull(span=_meta_span(meta))

    def warmup(self, meta: Meta, children: list[Any]) -> ast.Warmup:
        value, unit = children
        if unit is None:
            return ast.Warmup(value=value, span=_meta_span(meta))
        return ast.Warmup(value=value, unit=unit.text, unit_span=unit.span, span=_meta_span(meta))

    def _keyword(self, meta: Meta, children: list[Any]) -> ast.Name:
        return ast.Name(text=" ".join(str(token) for token in children), span=_meta_span(meta))

    dist_kind = scope_kind = window_unit = bound_word = word_op = _keyword

    # ---- values ----------------------------------------------------------------

    def _number(self, token: Token, sign: float = 1.0) -> ast.NumberLit:
        text = ("-" if sign < 0 else "") + str(token)
        return ast.NumberLit(value=sign * float(token), text=text, span=_token_span(token))

    def number(self, meta: Meta, children: list[Any]) -> ast.NumberLit:
        return self._number(children[0])

    def negative(self, meta: Meta, children: list[Any]) -> ast.NumberLit:
        literal = self._number(children[0], sign=-1.0)
        return ast.NumberLit(value=literal.value, text=literal.text, span=_meta_span(meta))

    def percent(self, meta: Meta, children: list[Any]) -> ast.PercentLit:
        token = children[0]
        share = float(str(token)[:-1]) / 100
        return ast.PercentLit(value=share, text=str(token), span=_token_span(token))

    def unit_number(self, meta: Meta, children: list[Any]) -> ast.UnitNumber:
        token = children[0]
        amount, unit = _split_unit(str(token))
        return ast.UnitNumber(amount=amount, unit=unit, text=str(token), span=_token_span(token))

    def baseline(self, meta: Meta, children: list[Any]) -> ast.BaselineRef:
        if not children:
            return ast.BaselineRef(multiplier=1.0, text="baseline", span=_meta_span(meta))
        amount, unit = _split_unit(str(children[0]))
        text = f"{children[0]} baseline"
        if unit != "x":
            self.bag.report(
                "NMO203",
                _token_span(children[0]),
                f"unknown multiplier unit `{unit}`",
                f"write `{_format_amount(amount)}x baseline`",
            )
        return ast.BaselineRef(multiplier=amount, text=text, span=_meta_span(meta))

    def previous(self, meta: Meta, children: list[Any]) -> ast.PreviousRef:
        amount, unit = _split_unit(str(children[0]))
        if unit != "x":
            self.bag.report(
                "NMO203",
                _token_span(children[0]),
                f"unknown multiplier unit `{unit}`",
                f"write `{_format_amount(amount)}x previous`",
            )
        return ast.PreviousRef(
            multiplier=amount, text=f"{children[0]} previous", span=_meta_span(meta)
        )

    def per_rate(self, meta: Meta, children: list[Any]) -> ast.RateLit:
        amount_token, per_keyword, per_token = children  # `per` kept (KEEP_EVERY_TOKEN)
        amount: ast.NumberLit | ast.ConstRef
        if amount_token.type == "NUMBER":
            amount = self._number(amount_token)
        else:
            amount = ast.ConstRef(name=str(amount_token), span=_token_span(amount_token))
        per = self._name(per_token)
        text = f"{amount_token} per {per_token}"
        per_span = Span(per_keyword.start_pos or 0, per.span.end)
        return ast.RateLit(
            amount=amount, per=per, text=text, per_span=per_span, span=_meta_span(meta)
        )

    def constant_ref(self, meta: Meta, children: list[Any]) -> ast.ConstRef:
        return ast.ConstRef(name=str(children[0]), span=_token_span(children[0]))

    def name(self, meta: Meta, children: list[Any]) -> ast.Name:
        return self._name(children[0])


def _qualifiers(children: list[Any]) -> tuple[ast.Qualifier, ...]:
    """The qualifiers written after a rule's window, in the grammar's order."""
    return tuple(child for child in children if child is not None)


def _session_split(value: Any) -> tuple[Any, ast.PerSession | None]:
    """``5 per session`` -> (``5``, the qualifier); any other value -> (it, None)."""
    if isinstance(value, ast.RateLit) and value.per.text == SESSION_WORD:
        return value.amount, ast.PerSession(span=value.per_span)
    return value, None


def _split_unit(text: str) -> tuple[float, str]:
    index = 0
    while index < len(text) and (text[index].isdigit() or text[index] == "."):
        index += 1
    return float(text[:index]), text[index:]


def _format_amount(amount: float) -> str:
    return str(int(amount)) if amount == int(amount) else str(amount)


def build_module(tree: Tree, bag: DiagnosticBag) -> ast.Module:
    """Convert a parse tree to a Module, recording problems in ``bag``."""
    module: ast.Module = AstBuilder(bag).build(tree)
    return module
