"""Hypothesis strategies for .nomo programs: token lists joined by messy whitespace.

Programs are valid for the parser (not necessarily for the checker): the
formatter only needs text that parses. Line breaks (and so comments) fall
only where the line rule allows them inside a statement (after `,` `:` `{`
`}`, before `{` `}`) and anywhere between statements; comments can be placed
there (``comments_inside=True``) or only between statements.
"""

from __future__ import annotations

from hypothesis import strategies as st

from nomotic_dsl.compiler.syntax.keywords import keywords

Tokens = list[str]

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,5}(-[a-z]{1,3})?", fullmatch=True).filter(
    lambda name: name not in keywords()
)
CONSTS = st.from_regex(r"[A-Z][A-Z_]{0,6}", fullmatch=True)
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    | st.sampled_from('"\\#\n'),
    max_size=12,
)
NUMBER = st.sampled_from(["0", "1", "2", "5", "0.3", "0.20", "0.85", "100", "12.5"])
PERCENT = st.sampled_from(["0%", "30%", "60%", "12.5%", "100%"])
DURATION = st.sampled_from(["30s", "15m", "1h", "2d", "90s"])
SPELLED = st.sampled_from(["minutes", "hour", "days", "seconds", "acitons"])
PERIOD = st.sampled_from(["minute", "hour", "day", "second"])
OPERATOR = st.sampled_from(
    ["<", "<=", ">", ">=", "==", "below", "above", "at most", "at least", "exactly"]
)


def quoted(text: str) -> str:
    """The string literal of ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@st.composite
def values(draw: st.DrawFn) -> Tokens:
    """A number, percent, duration, baseline or previous multiple, rate or constant reference."""
    kind = draw(
        st.sampled_from(["number", "percent", "duration", "baseline", "previous", "const", "rate"])
    )
    if kind == "previous":
        return [draw(st.sampled_from(["2x", "1.5x"])), "previous"]
    if kind == "rate":
        return [draw(st.sampled_from(["5", "0.5", "N"])), "per", draw(PERIOD)]
    if kind == "number":
        return [draw(NUMBER)]
    if kind == "percent":
        return [draw(PERCENT)]
    if kind == "duration":
        return [draw(DURATION)]
    if kind == "baseline":
        return [draw(st.sampled_from(["2x", "3x", "0.5x"])), "baseline"]
    return [draw(CONSTS)]


@st.composite
def comparisons(draw: st.DrawFn) -> Tokens:
    """``OP value`` or ``between a and b``."""
    if draw(st.booleans()):
        return ["between", *draw(values()), "and", *draw(values())]
    return [*draw(OPERATOR).split(), *draw(values())]


@st.composite
def windows(draw: st.DrawFn) -> Tokens:
    """Nothing, ``over N actions`` or ``over DURATION``."""
    kind = draw(st.sampled_from(["none", "actions", "duration", "spelled"]))
    if kind == "none":
        return []
    if kind == "spelled":
        return ["over", draw(st.sampled_from(["1", "10", "N"])), draw(SPELLED)]
    if kind == "actions":
        count = draw(st.sampled_from(["1", "10", "100", "N"]))
        return ["over", count, "action" if count == "1" else "actions"]
    return ["over", draw(DURATION)]


@st.composite
def qualifiers(draw: st.DrawFn) -> Tokens:
    """What a rule measures besides its window: ``per session``, then a warm-up, or neither."""
    session = ["per", "session"] if draw(st.booleans()) else []
    warmup = draw(
        st.sampled_from(
            [
                [],
                [],
                ["once", "full"],
                ["after", "5", "actions"],
                ["after", "1", "action"],
                ["after", "N", "actions"],
                ["after", "10", "minutes"],
            ]
        )
    )
    return [*session, *warmup]


@st.composite
def hours(draw: st.DrawFn) -> Tokens:
    """``8-18`` (sometimes spaced) with an optional zone."""
    start, end = draw(st.integers(0, 24)), draw(st.integers(0, 24))
    spelled = draw(st.sampled_from([f"{start}-{end}", f"{start} - {end}"]))
    zone = draw(st.sampled_from([[], ["in", '"Europe/Berlin"'], ["in", '"UTC"']]))
    return [*spelled.split(), *zone]


@st.composite
def rules(draw: st.DrawFn) -> Tokens:
    """One rule in a plain or sugared form."""
    form = draw(
        st.sampled_from(
            [
                "ratio",
                "plain",
                "semantic",
                "temporal",
                "outside",
                "distinct",
                "single",
                "fidelity",
                "shift",
                "every",
            ]
        )
    )
    comparison = draw(comparisons())
    window = [*draw(windows()), *draw(qualifiers())]
    if form == "shift":
        return ["no", "anchor", "term", "shifts", "more", "than", *draw(values()), *window]
    if form == "every":
        head = draw(st.sampled_from([["semantic"], ["fidelity", "of"]]))
        return [*head, "every", "term", *comparison, *window]
    if form == "ratio":
        ratio = draw(st.sampled_from(["{}/{}", "{} / {}"])).format(draw(NAMES), draw(NAMES))
        return ["ratio", *ratio.split(), *comparison, *window]
    if form == "plain":
        kind = draw(st.sampled_from(["distribution", "drift", "rate", "count", "rate"]))
        metric = draw(st.sampled_from([[], ["target_max"], ["action"], ["action_frequency"]]))
        return [kind, *metric, *comparison, *window]
    if form == "semantic":
        return ["semantic", quoted(draw(TEXT)), *comparison, *window]
    if form == "temporal":
        return ["temporal", *draw(hours()), *comparison, *window]
    if form == "outside":
        return ["no", "activity", "outside", *draw(hours())]
    if form == "distinct":
        bound = draw(st.sampled_from(["at most", "at least"])).split()
        return [
            *bound,
            *draw(values()),
            "distinct",
            draw(st.sampled_from(["targets", "actions"])),
            *window,
        ]
    if form == "single":
        return ["no", "single", draw(st.sampled_from(["target", "action"])), *comparison, *window]
    term = draw(st.one_of(NAMES, TEXT.map(quoted)))
    return ["fidelity", "of", term, *comparison, *window]


@st.composite
def invariants(draw: st.DrawFn) -> Tokens:
    """``invariant NAME ["description"]: RULE``."""
    description = draw(st.one_of(st.just([]), TEXT.map(lambda text: [quoted(text)])))
    return ["invariant", draw(NAMES), *description, ":", *draw(rules())]


def names(draw: st.DrawFn, allow_quoted: bool = True) -> Tokens:
    """A comma-separated list of names, some quoted."""
    pool = st.one_of(NAMES, TEXT.map(quoted)) if allow_quoted else NAMES
    items = draw(st.lists(pool, min_size=1, max_size=3))
    tokens: Tokens = []
    for index, item in enumerate(items):
        tokens.extend([",", item] if index else [item])
    return tokens


@st.composite
def distribution_blocks(draw: st.DrawFn) -> Tokens:
    """``actions { read 45%, reply 55% }``."""
    kind = draw(st.sampled_from(["actions", "targets", "outcomes"]))
    shares = draw(st.lists(st.tuples(NAMES, PERCENT), max_size=3))
    tokens: Tokens = [kind, "{"]
    for index, (name, share) in enumerate(shares):
        tokens.extend([",", name, share] if index else [name, share])
    if shares and draw(st.booleans()):
        tokens.append(",")
    return [*tokens, "}"]


@st.composite
def archetypes(draw: st.DrawFn) -> Tokens:
    """``archetype NAME { blocks, active hours, baseline rate }``."""
    items: Tokens = []
    for block in draw(st.lists(distribution_blocks(), max_size=2)):
        items.extend(block)
    if draw(st.booleans()):
        items.extend(["active", "hours", *draw(hours())])
    if draw(st.booleans()):
        items.extend(
            ["baseline", "rate", draw(NUMBER), *draw(st.sampled_from([[], ["per", "minute"]]))]
        )
    return ["archetype", draw(NAMES), "{", *items, "}"]


@st.composite
def contract_items(draw: st.DrawFn) -> Tokens:
    """One item of a contract block."""
    kind = draw(
        st.sampled_from(
            [
                "version",
                "certificate",
                "archetype",
                "scope",
                "trust",
                "anchor",
                "drift",
                "expected",
                "use",
                "invariant",
                "rule",
            ]
        )
    )
    if kind == "version":
        return ["version", draw(NUMBER)]
    if kind == "certificate":
        return ["certificate", quoted(draw(TEXT))]
    if kind == "archetype":
        return ["archetype", draw(NAMES)]
    if kind == "scope":
        entries = draw(st.lists(st.sampled_from(["actions", "targets"]), max_size=2))
        return ["scope", "{", *[t for e in entries for t in (e, *names(draw))], "}"]
    if kind in ("trust", "drift"):
        settings = draw(st.lists(st.tuples(NAMES, NUMBER), max_size=3))
        head = ["trust"] if kind == "trust" else ["drift", "thresholds"]
        return [*head, "{", *[t for pair in settings for t in pair], "}"]
    if kind == "anchor":
        body = draw(st.sampled_from([[], ["actions"], ["description"], ["actions", "description"]]))
        tokens = ["anchor", quoted(draw(TEXT)), "{"]
        if "actions" in body:
            tokens.extend(["actions", *names(draw)])
        if "description" in body:
            tokens.extend(["description", quoted(draw(TEXT))])
        return [*tokens, "}"]
    if kind == "expected":
        return ["expected", *draw(distribution_blocks())]
    if kind == "use":
        return ["use", draw(NAMES)]
    return draw(invariants()) if kind == "invariant" else draw(rules())


@st.composite
def statements(draw: st.DrawFn) -> Tokens:
    """One top-level statement."""
    kind = draw(
        st.sampled_from(["rule", "invariant", "const", "import", "pack", "archetype", "contract"])
    )
    if kind == "const":
        return ["const", draw(CONSTS), "=", *draw(values())]
    if kind == "import":
        return ["import", quoted(draw(TEXT))]
    if kind == "pack":
        items = draw(st.lists(st.one_of(rules(), invariants()), max_size=3))
        return ["pack", draw(NAMES), "{", *[t for item in items for t in item], "}"]
    if kind == "archetype":
        return draw(archetypes())
    if kind == "contract":
        items = draw(st.lists(contract_items(), max_size=5))
        return ["contract", quoted(draw(TEXT)), "{", *[t for item in items for t in item], "}"]
    return draw(invariants()) if kind == "invariant" else draw(rules())


SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t", "\n    "])
INLINE_SEPARATORS = st.sampled_from([" ", " ", "  ", "\t"])
COMMENT_SEPARATORS = st.sampled_from([" # note\n", "\n# own line\n", "  #\n", " #{ brace\n"])
# The line rule: inside a statement a line may break only after `,` `:` `{` `}`
# or before `{` `}` (where the statement can end or continue by itself).
_BREAK_AFTER = frozenset({",", ":", "{", "}"})
_BREAK_BEFORE = frozenset({"{", "}"})


def may_break(token: str, following: str | None) -> bool:
    """True when a line may end between ``token`` and ``following`` inside a statement."""
    return token in _BREAK_AFTER or following in _BREAK_BEFORE


@st.composite
def programs(draw: st.DrawFn, comments_inside: bool = True) -> str:
    """A whole file: statements joined by random whitespace and comments."""
    parts: list[str] = []
    for statement in draw(st.lists(statements(), max_size=5)):
        for index, token in enumerate(statement):
            following = statement[index + 1] if index + 1 < len(statement) else None
            if following is not None and not may_break(token, following):
                inner = INLINE_SEPARATORS
            elif comments_inside:
                inner = SEPARATORS | COMMENT_SEPARATORS
            else:
                inner = SEPARATORS
            parts.extend([token, draw(inner)])
        parts.append(draw(SEPARATORS | COMMENT_SEPARATORS))
    return "".join(parts)


SHARES = st.sampled_from(["0.1", "0.3", "0.85", "60%", "25%", "1"])
COMPARISON_SYMBOL = st.sampled_from(["<", "<=", ">", ">=", "below", "above", "at most", "at least"])


@st.composite
def valid_rules(draw: st.DrawFn) -> Tokens:
    """A rule the checker accepts on its own (outside any contract), compactly spelt."""
    window = draw(
        st.sampled_from([[], ["over", "1", "action"], ["over", "100", "actions"], ["over", "15m"]])
    )
    session = draw(st.sampled_from([[], ["per", "session"]]))
    warmup = {
        "once": ["once", "full"] if window[-1:] in (["action"], ["actions"]) else [],
        "after": ["after", "1", "action"],
        "none": [],
    }[draw(st.sampled_from(["once", "after", "none", "none"]))]
    op = draw(COMPARISON_SYMBOL).split()
    form = draw(
        st.sampled_from(
            [
                "ratio",
                "distribution",
                "drift",
                "semantic",
                "temporal",
                "rate",
                "count",
                "sugar",
                "measured",
                "growth",
                "shift",
            ]
        )
    )
    if form == "measured":  # a window, `per session` and a warm-up together
        return [
            "ratio",
            f"{draw(NAMES)}/{draw(NAMES)}",
            *op,
            draw(NUMBER),
            *window,
            *session,
            *warmup,
        ]
    if form == "growth":
        return ["rate", *op, draw(st.sampled_from(["2x", "1.5x"])), "previous", "over", "1h"]
    if form == "shift":
        share = draw(st.sampled_from(["15%", "0.1"]))
        return ["no", "anchor", "term", "shifts", "more", "than", share, *window, *warmup]
    if form == "ratio":
        return ["ratio", f"{draw(NAMES)}/{draw(NAMES)}", *op, draw(NUMBER), *window]
    if form == "distribution":
        return [
            "distribution",
            draw(st.sampled_from(["target_max", "action_max"])),
            *op,
            draw(SHARES),
            *window,
        ]
    if form == "drift":
        key = draw(
            st.sampled_from(["action", "target", "temporal", "outcome", "semantic", "overall"])
        )
        bound = draw(st.sampled_from([[*op, draw(SHARES)], ["between", "0.05", "and", "0.3"]]))
        return ["drift", key, *bound]
    if form == "semantic":
        return ["semantic", quoted(draw(NAMES)), *op, draw(SHARES), *window]
    if form == "temporal":
        start, end = draw(st.sampled_from([(8, 18), (22, 6), (0, 24), (9, 17)]))
        zone = draw(st.sampled_from([[], ["in", '"Europe/Berlin"']]))
        return ["temporal", f"{start}-{end}", *zone, "==", "0", *window]
    if form == "rate":
        return ["rate", "action_frequency", *op, draw(NUMBER), *window]
    if form == "count":
        metric = draw(st.sampled_from(["distinct_targets", "distinct_actions"]))
        return ["count", metric, *op, draw(st.sampled_from(["1", "5", "12"])), *window]
    return draw(
        st.sampled_from(
            [
                ["no", "activity", "outside", "8-18"],
                ["at", "most", "5", "distinct", "targets", "over", "50", "actions"],
                ["no", "single", "target", "above", "60%"],
                ["fidelity", "of", '"research"', "above", "0.85", "over", "10", "actions"],
            ]
        )
    )


@st.composite
def valid_programs(draw: st.DrawFn) -> str:
    """Rules and named invariants, whitespace and comments only between statements."""
    parts: list[str] = []
    names = draw(st.lists(NAMES, max_size=4, unique=True))
    statements = [draw(valid_rules()) for _ in range(draw(st.integers(1, 3)))]
    statements += [["invariant", name, ":", *draw(valid_rules())] for name in names]
    for statement in draw(st.permutations(statements)):
        for index, token in enumerate(statement):
            following = statement[index + 1] if index + 1 < len(statement) else None
            breaks = following is None or may_break(token, following)
            spaces = [" ", "  ", "\n", "\n\t"] if breaks else [" ", "  ", "\t"]
            parts.extend([token, draw(st.sampled_from(spaces))])
        parts.append(draw(SEPARATORS | COMMENT_SEPARATORS))
    return "".join(parts)
