"""What may be written where, read from the compiler's own tables.

Input: the grammar (through the parser), ``nomotic_dsl.ir.spec``'s metric
tables, ``compiler.units.DURATION_UNITS``, ``semantics.contracts.TRUST_KEYS``
and the standard library directory. Output: the words completion offers and
the snippets of the rule forms. Nothing here is a copy of a list the checker
keeps: a metric added to a table in ``ir/spec.py``, a unit spelling added to
``DURATION_UNITS`` or a file added to ``stdlib/`` is offered at once. The
snippets of the rule forms are written out (a grammar does not say which
values make a good example); a test compiles every one of them and checks
every invariant type has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lark import Token as LarkToken

from nomotic_dsl.compiler.semantics.contracts import TRUST_KEYS
from nomotic_dsl.compiler.syntax.parser import nomo_parser
from nomotic_dsl.compiler.units import DURATION_UNITS
from nomotic_dsl.ir import spec as spec_tables
from nomotic_dsl.ir.describe import subject_of
from nomotic_dsl.ir.spec import INVARIANT_TYPES, InvariantSpec
from nomotic_dsl.lsp.lexer import keyword_terminals
from nomotic_dsl.resources import stdlib_dir

# ---- metrics -------------------------------------------------------------------


@cache
def metrics_by_type() -> dict[str, tuple[str, ...]]:
    """Invariant type -> the metric names its checker accepts, for types with a closed set.

    ``ir/spec.py`` names each table ``<TYPE>_METRICS`` (``drift``'s is
    ``DRIFT_DISTRIBUTIONS``); ratio, semantic and temporal metrics are
    written by the author (actions, a term, hours) and have no table.
    """
    table: dict[str, tuple[str, ...]] = {}
    for kind in INVARIANT_TYPES:
        for suffix in ("METRICS", "DISTRIBUTIONS"):
            names = getattr(spec_tables, f"{kind.upper()}_{suffix}", None)
            if isinstance(names, tuple) and all(isinstance(name, str) for name in names):
                table[kind] = names
                break
    return table


def drift_keys() -> tuple[str, ...]:
    """The six distributions a drift rule or a `drift thresholds` block names."""
    return spec_tables.DRIFT_DISTRIBUTIONS


def metric_summary(kind: str, metric: str) -> str:
    """What a metric measures, in the words results and explanations use."""
    probe = InvariantSpec("probe", kind, "", metric, "lt", 0.0)
    try:
        return subject_of(probe)
    except ValueError:
        return f"{kind} {metric}"


def distinct_subjects() -> tuple[str, ...]:
    """What `at most N distinct ...` counts: the count metrics' subjects (``targets``, ``actions``)."""
    return tuple(
        name.removeprefix("distinct_")
        for name in spec_tables.COUNT_METRICS
        if name.startswith("distinct_")
    )


def single_subjects() -> tuple[str, ...]:
    """What `no single ...` bounds: the distribution metrics ``<subject>_max``."""
    return tuple(
        name.removesuffix("_max")
        for name in spec_tables.DISTRIBUTION_METRICS
        if name.endswith("_max")
    )


def trust_keys() -> tuple[str, ...]:
    """The settings of a `trust { }` block."""
    return tuple(TRUST_KEYS)


def duration_units() -> tuple[str, ...]:
    """Every unit spelling a duration may carry, shortest first (``s``, ``m``...)."""
    return tuple(sorted(DURATION_UNITS, key=lambda unit: (DURATION_UNITS[unit], len(unit), unit)))


# ---- the standard library ------------------------------------------------------------


@cache
def stdlib_imports() -> tuple[str, ...]:
    """Every standard-library file as an import path (``std/packs/burst_limits``)."""
    root = stdlib_dir()
    return tuple(
        "std/" + path.relative_to(root).with_suffix("").as_posix()
        for path in sorted(root.rglob("*.nomo"))
    )


@cache
def stdlib_archetypes() -> tuple[str, ...]:
    """The archetypes a contract may name without importing anything."""
    return tuple(sorted(path.stem for path in (stdlib_dir() / "archetypes").glob("*.nomo")))


# ---- the grammar's positions ------------------------------------------------------------


def _accepts_after(text: str) -> frozenset[str]:
    parser = nomo_parser().parse_interactive(text)
    for _ in parser.iter_parse():
        pass
    return frozenset(parser.accepts())


@cache
def top_level_starts() -> frozenset[str]:
    """Terminals that may begin a file-level statement."""
    return _accepts_after("") - {"$END"}


@cache
def rule_starts() -> frozenset[str]:
    """Terminals that may begin a rule (what a pack body accepts, less `invariant` and `}`)."""
    return _accepts_after("pack p {") - {"RBRACE", "INVARIANT"}


@cache
def contract_item_starts() -> frozenset[str]:
    """Terminals that may begin a contract item."""
    return _accepts_after('contract "c" {') - {"RBRACE"}


def phrases_after(parser: object, keyword: str) -> tuple[str, ...]:
    """Multi-word keywords the grammar spells (``at most``, ``no single``) after ``keyword``.

    ``parser`` is a Lark interactive parser positioned where ``keyword`` may
    come; when every terminal that may follow the keyword is itself a keyword,
    each pair is a phrase. What follows depends only on the parser's state
    stack, so answers are kept per stack.
    """
    stack = tuple(getattr(getattr(parser, "parser_state", None), "state_stack", ()) or ())
    key = (keyword, stack)
    known = _PHRASES.get(key)
    if known is None:
        known = _phrases(parser, keyword)
        if len(_PHRASES) > 4096:
            _PHRASES.clear()
        _PHRASES[key] = known
    return known


_PHRASES: dict[tuple[str, tuple[int, ...]], tuple[str, ...]] = {}


def _phrases(parser: object, keyword: str) -> tuple[str, ...]:
    terminals = {spelling: name for name, spelling in keyword_terminals().items()}
    copy = parser.copy()  # type: ignore[attr-defined]
    try:
        copy.feed_token(LarkToken(terminals[keyword], keyword))
        following = copy.accepts()
    except Exception:  # the parser refused the keyword after all: no phrase
        return ()
    words = keyword_terminals()
    if not following or any(name not in words for name in following):
        return ()
    return tuple(sorted(f"{keyword} {words[name]}" for name in following))


# ---- snippets --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snippet:
    """One rule form or declaration: a label, the snippet (LSP syntax) and what it does."""

    label: str
    body: str
    detail: str
    kind: str  # the invariant type it lowers to, or "declaration"/"contract"


def _choice(names: tuple[str, ...], index: int) -> str:
    return f"${{{index}|{','.join(names)}|}}" if names else f"${{{index}:metric}}"


@cache
def rule_snippets() -> tuple[Snippet, ...]:
    """Every rule form, with example values."""
    metrics = metrics_by_type()
    first_distinct = distinct_subjects()
    first_single = single_subjects()
    return (
        Snippet(
            "ratio X/Y < N over N actions",
            "ratio ${1:write}/${2:read} < ${3:0.3} over ${4:100} actions",
            "the ratio of two action types' shares",
            "ratio",
        ),
        Snippet(
            "distribution METRIC < N",
            f"distribution {_choice(metrics.get('distribution', ()), 1)} < ${{2:0.6}}",
            "a share or count of the action and target distributions",
            "distribution",
        ),
        Snippet(
            "drift KEY < N",
            f"drift {_choice(drift_keys(), 1)} < ${{2:0.2}}",
            "a drift score from the behavioral state",
            "drift",
        ),
        Snippet(
            'semantic "TERM" > N over N actions',
            'semantic "${1:term}" > ${2:0.85} over ${3:10} actions',
            "the semantic fidelity of an anchor term",
            "semantic",
        ),
        Snippet(
            "temporal H-H == 0",
            "temporal ${1:8}-${2:18} == 0",
            "the share of actions outside allowed hours",
            "temporal",
        ),
        Snippet(
            "rate < N over DURATION",
            "rate < ${1:0.5} over ${2:60s}",
            "actions per second",
            "rate",
        ),
        Snippet(
            "rate < Nx baseline over DURATION",
            "rate < ${1:2}x baseline over ${2:1h}",
            "actions per second, against the archetype's baseline rate",
            "rate",
        ),
        Snippet(
            "count METRIC <= N over N actions",
            f"count {_choice(metrics.get('count', ()), 1)} <= ${{2:5}} over ${{3:50}} actions",
            "how many distinct targets or actions",
            "count",
        ),
        Snippet(
            "no activity outside H-H in ZONE",
            'no activity outside ${1:8}-${2:18} in "${3:Europe/Berlin}"',
            "no action outside allowed hours (temporal)",
            "temporal",
        ),
        Snippet(
            "at most N distinct SUBJECT over N actions",
            f"at most ${{1:5}} distinct {_choice(first_distinct, 2)} over ${{3:50}} actions",
            "a bound on distinct targets or actions (count)",
            "count",
        ),
        Snippet(
            "no single SUBJECT above N%",
            f"no single {_choice(first_single, 1)} above ${{2:60%}}",
            "a bound on the largest single share (distribution)",
            "distribution",
        ),
        Snippet(
            'fidelity of "TERM" above N% over N actions',
            'fidelity of "${1:term}" above ${2:85%} over ${3:20} actions',
            "semantic fidelity of an anchor term (semantic)",
            "semantic",
        ),
    )


@cache
def declaration_snippets() -> tuple[Snippet, ...]:
    """File-level declarations."""
    return (
        Snippet("import", 'import "${1:std/packs/business_hours}"', "import a file", "declaration"),
        Snippet("const", "const ${1:NAME} = ${2:0.3}", "a named value", "declaration"),
        Snippet(
            "invariant NAME: RULE",
            "invariant ${1:name}: ${2:ratio write/read < 0.3 over 100 actions}",
            "a named rule",
            "declaration",
        ),
        Snippet(
            "pack NAME { ... }",
            "pack ${1:name} {\n\t${2:no single target above 60%}\n}",
            "reusable rules a contract can `use`",
            "declaration",
        ),
        Snippet(
            "archetype NAME { ... }",
            "archetype ${1:name} {\n\tactions { ${2:read} 100% }\n\tbaseline rate ${3:0.01}\n}",
            "an archetype's prior",
            "declaration",
        ),
        Snippet(
            'contract "AGENT" { ... }',
            'contract "${1:agent-id}" {\n\tversion ${2:1}\n\tarchetype ${3:general}\n'
            "\tscope {\n\t\tactions ${4:read}\n\t}\n\t${0}\n}",
            "a behavioral contract",
            "declaration",
        ),
    )


@cache
def contract_snippets() -> tuple[Snippet, ...]:
    """The settings blocks of a contract."""
    return (
        Snippet(
            "scope { ... }",
            "scope {\n\tactions ${1:read}\n\ttargets ${2:tickets}\n}",
            "authorized actions and targets",
            "contract",
        ),
        Snippet(
            "trust { ... }",
            "trust { initial ${1:0.5} floor ${2:0.2} ceiling ${3:0.9} }",
            "the trust range",
            "contract",
        ),
        Snippet(
            'anchor "TERM" { ... }',
            'anchor "${1:term}" { actions ${2:read} }',
            "a semantic anchor",
            "contract",
        ),
        Snippet(
            "drift thresholds { ... }",
            f"drift thresholds {{ {_choice(drift_keys(), 1)} ${{2:0.2}} }}",
            "drift scores that flag the contract",
            "contract",
        ),
        Snippet(
            "expected actions { ... }",
            "expected actions { ${1:read} ${2:100%} }",
            "the contract's own expected distribution",
            "contract",
        ),
    )


def snippet_example(body: str) -> str:
    """A snippet with every placeholder replaced by its default (first choice for a choice)."""
    text = re.sub(r"\$\{\d+\|([^,|]*)[^}]*\}", r"\1", body)
    text = re.sub(r"\$\{\d+:([^}]*)\}", r"\1", text)
    text = re.sub(r"\$\{?\d+\}?", "", text)
    return text.replace("\t", "    ")
