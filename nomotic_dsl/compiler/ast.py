"""The abstract syntax tree of a .nomo file: one frozen class per construct.

Input: built by ``nomotic_dsl.compiler.syntax.ast_builder`` from Lark's parse tree. Output:
``Module`` and its children, consumed by the checker and the lowerer. Nodes
are frozen, slotted, keyword-only; children are tuples; every node carries a
``span`` that takes no part in equality or repr, so two parses of the same
policy compare equal wherever it sits in a file. No Lark object survives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nomotic_dsl.compiler.source import NO_SPAN, Span

# Fields added after the first AST: left out of dumps while they hold their default,
# so dumps of policies that do not use them stay as they were.
OMITTED_WHEN_DEFAULT = {"omitted_when_default": True}


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every node: where it came from in the source."""

    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Name(Node):
    """An identifier or quoted name as written (an action, a target, a setting...)."""

    text: str


# ---- values ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberLit(Node):
    """A plain number such as ``5``, ``0.3`` or ``-2``; ``text`` keeps the spelling."""

    value: float
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PercentLit(Node):
    """A percent literal such as ``60%``; ``value`` is the share (0.6)."""

    value: float
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitNumber(Node):
    """A number glued to a unit: ``30s``, ``15m``, ``1h``, ``2d`` (or a misspelt unit)."""

    amount: float
    unit: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineRef(Node):
    """``Nx baseline``: a multiple of the archetype's baseline rate."""

    multiplier: float
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviousRef(Node):
    """``Nx previous``: a multiple of the agent's own rate in the window before."""

    multiplier: float
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstRef(Node):
    """A use of a named constant."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLit(Node):
    """``5 per minute``: actions per unit of time; ``amount`` is a number or a constant.

    ``per_span`` is where ``per UNIT`` is written (the AST builder reads
    ``5 per session`` at the end of a rule as the amount and the ``per session``
    qualifier, which LALR(1) cannot tell apart from a rate).
    """

    amount: NumberLit | ConstRef
    per: Name
    text: str
    per_span: Span = field(default=NO_SPAN, compare=False, repr=False)


Value = NumberLit | PercentLit | UnitNumber | BaselineRef | PreviousRef | ConstRef | RateLit


# ---- rule parts -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Hours(Node):
    """Allowed hours ``start-end`` (wrapping past midnight when start > end)."""

    start: NumberLit
    end: NumberLit


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone(Node):
    """``in "Area/City"``: the IANA time zone hours are read in."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison(Node):
    """An operator as written (``<``, ``at most``, ``between``, ``=``...) and its bound(s)."""

    operator: str
    value: Value
    upper: Value | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Window(Node):
    """``over N actions``, ``over DURATION`` or ``over N UNIT``; ``unit`` is the word as written."""

    value: Value
    unit: str | None = None
    unit_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PerSession(Node):
    """``per session``: measured over the actions of the current observation's session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OnceFull(Node):
    """``once full``: measured only once the count window holds all its actions."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Warmup(Node):
    """``after N actions``: measured only once the window holds at least N actions."""

    value: Value
    unit: str | None = None
    unit_span: Span = field(default=NO_SPAN, compare=False, repr=False)


Qualifier = PerSession | OnceFull | Warmup


@dataclass(frozen=True, slots=True, kw_only=True)
class RatioMetric(Node):
    """``X/Y``: the ratio of two action types' shares."""

    numerator: Name
    denominator: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class NameMetric(Node):
    """A metric named by an identifier: ``target_max``, ``action``, ``write_to_read``."""

    name: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class TermMetric(Node):
    """A quoted metric: the anchor term of a semantic rule."""

    term: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class HoursMetric(Node):
    """The allowed hours of a temporal rule, with an optional time zone."""

    hours: Hours
    zone: Zone | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EveryTerm(Node):
    """``every term``: the semantic metric over every term (the lowest fidelity counts)."""


Metric = RatioMetric | NameMetric | TermMetric | HoursMetric | EveryTerm


# ---- rules ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PlainRule(Node):
    """``TYPE [METRIC] COMPARISON [WINDOW] [QUALIFIERS]``: the plain form of every type."""

    kind: Name
    metric: Metric | None
    comparison: Comparison
    window: Window | None = None
    qualifiers: tuple[Qualifier, ...] = field(default=(), metadata=OMITTED_WHEN_DEFAULT)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutsideHours(Node):
    """``no activity outside 8-18 [in "Zone"]``."""

    hours: Hours
    zone: Zone | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DistinctCount(Node):
    """``at most 5 distinct targets [over ...]``; ``bound`` is ``at most`` or ``at least``."""

    bound: str
    value: Value
    subject: Name
    window: Window | None = None
    qualifiers: tuple[Qualifier, ...] = field(default=(), metadata=OMITTED_WHEN_DEFAULT)


@dataclass(frozen=True, slots=True, kw_only=True)
class SingleShare(Node):
    """``no single target above 60% [over ...]``."""

    subject: Name
    comparison: Comparison
    window: Window | None = None
    qualifiers: tuple[Qualifier, ...] = field(default=(), metadata=OMITTED_WHEN_DEFAULT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fidelity(Node):
    """``fidelity of "term" above 0.85 [over ...]`` (or ``fidelity of every term ...``)."""

    term: Name | EveryTerm
    comparison: Comparison
    window: Window | None = None
    qualifiers: tuple[Qualifier, ...] = field(default=(), metadata=OMITTED_WHEN_DEFAULT)


@dataclass(frozen=True, slots=True, kw_only=True)
class TermShift(Node):
    """``no anchor term shifts more than 15% [over ...]``: every term's fidelity stays >= 85%."""

    value: Value
    window: Window | None = None
    qualifiers: tuple[Qualifier, ...] = field(default=(), metadata=OMITTED_WHEN_DEFAULT)


Rule = PlainRule | OutsideHours | DistinctCount | SingleShare | Fidelity | TermShift


@dataclass(frozen=True, slots=True, kw_only=True)
class InvariantDecl(Node):
    """``invariant NAME ["description"]: RULE``."""

    name: Name
    description: str | None
    rule: Rule


# ---- file-level declarations ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Import(Node):
    """``import "path"``: another .nomo file (``std/...`` is the standard library)."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstDecl(Node):
    """``const NAME = VALUE``."""

    name: Name
    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class UseStmt(Node):
    """``use NAME``: bring a pack or a named invariant into a contract."""

    name: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class PackDecl(Node):
    """``pack NAME { ... }``: reusable rules a contract can ``use``."""

    name: Name
    items: tuple[InvariantDecl | Rule, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Share(Node):
    """One entry of a distribution block: ``read 45%``."""

    name: Name
    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class DistributionBlock(Node):
    """``actions { ... }``, ``targets { ... }`` or ``outcomes { ... }``."""

    kind: str
    shares: tuple[Share, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveHours(Node):
    """``active hours 8-20 [in "Zone"]`` of an archetype."""

    hours: Hours
    zone: Zone | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineRate(Node):
    """``baseline rate VALUE [per second|minute|hour|day]``."""

    value: Value
    per: Name | None = None


ArchetypeItem = DistributionBlock | ActiveHours | BaselineRate


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchetypeDecl(Node):
    """``archetype NAME { ... }``: an archetype's prior."""

    name: Name
    items: tuple[ArchetypeItem, ...]


# ---- contracts --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionDecl(Node):
    """``version N``."""

    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateDecl(Node):
    """``certificate "id"``."""

    certificate: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractArchetype(Node):
    """``archetype NAME`` inside a contract."""

    name: Name


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeEntry(Node):
    """``actions a, b`` or ``targets x, y`` inside ``scope { }``."""

    kind: str
    names: tuple[Name, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeDecl(Node):
    """``scope { actions ... targets ... }``."""

    entries: tuple[ScopeEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting(Node):
    """``NAME VALUE`` inside ``trust { }`` or ``drift thresholds { }``."""

    name: Name
    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustDecl(Node):
    """``trust { initial N floor N ceiling N }``."""

    settings: tuple[Setting, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AnchorDecl(Node):
    """``anchor "term" { actions a, b  description "..." }``."""

    term: Name
    actions: tuple[Name, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftThresholds(Node):
    """``drift thresholds { action 0.2 ... }``."""

    settings: tuple[Setting, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedDecl(Node):
    """``expected actions { ... }``: the contract's own expected distribution."""

    block: DistributionBlock


ContractItem = (
    VersionDecl
    | CertificateDecl
    | ContractArchetype
    | ScopeDecl
    | TrustDecl
    | AnchorDecl
    | DriftThresholds
    | ExpectedDecl
    | UseStmt
    | InvariantDecl
    | Rule
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractDecl(Node):
    """``contract "agent-id" { ... }``."""

    agent_id: Name
    items: tuple[ContractItem, ...]


Statement = Import | ConstDecl | InvariantDecl | PackDecl | ArchetypeDecl | ContractDecl | Rule


@dataclass(frozen=True, slots=True, kw_only=True)
class Module(Node):
    """One .nomo file: its statements in source order."""

    statements: tuple[Statement, ...]


RULE_TYPES = (PlainRule, OutsideHours, DistinctCount, SingleShare, Fidelity, TermShift)


def is_rule(node: object) -> bool:
    """True for any of the rule node kinds."""
    return isinstance(node, RULE_TYPES)
