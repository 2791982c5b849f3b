"""The test format's records: a test file, its settings, tests, steps and expectations.

Input: none (frozen dataclasses the parser builds). Output: what the runner
reads. Stage: the policy-test format (``nomo test``); ``syntax`` builds these
from ``.nomotest`` text, ``runner`` executes them. Every record keeps where
it was written (``Where``), so each failure and each error names a file and
line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TEST_SUFFIX = ".nomotest"

# What an expectation can say about an invariant's result after an observation.
INVARIANT_STATES: tuple[str, ...] = ("satisfied", "approaching", "violated", "not_measured")
# Scope and drift have one bad state each.
SCOPE_STATE = "violated"
DRIFT_STATE = "exceeded"


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a test file: its display name, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class TestFileError(Exception):
    """A test file that cannot be read or run as written, located by file, line and column."""

    __test__ = False  # not a pytest test class

    def __init__(self, where: Where, message: str) -> None:
        super().__init__(f"{where.file}:{where.line}:{where.column}: {message}")
        self.where = where
        self.message = message


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """The policy a test runs: a path (relative to the test file) or inline .nomo text."""

    where: Where
    path: str | None = None
    # Inline policy text, laid out at its place in the test file (other lines blank),
    # so the compiler's diagnostics point into the test file.
    inline: str | None = None


@dataclass(frozen=True, slots=True)
class StartTime:
    """Where the virtual clock starts: local date and time, in a time zone (UTC by default)."""

    where: Where
    text: str
    zone: str | None


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting with where it was written."""

    where: Where
    value: object


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings of a file (defaults for its tests) or of one test (overriding them)."""

    policy: PolicyRef | None = None
    contract: Setting | None = None
    start: StartTime | None = None
    pace: Setting | None = None
    # Runtime option name -> value (``option drift-window 50``).
    options: tuple[tuple[str, Setting], ...] = ()

    def over(self, defaults: Settings) -> Settings:
        """These settings, falling back to ``defaults`` for what is not set here."""
        merged = dict(defaults.options)
        merged.update(dict(self.options))
        return Settings(
            policy=self.policy or defaults.policy,
            contract=self.contract or defaults.contract,
            start=self.start or defaults.start,
            pace=self.pace or defaults.pace,
            options=tuple(sorted(merged.items())),
        )


# --- steps ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """A name in a list of an ``observe`` step, with an optional share (0..1)."""

    name: str
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class Observe:
    """``observe [N] ACTIONS on TARGETS [every D] [...]``: N generated observations."""

    where: Where
    text: str
    count: int
    actions: tuple[Choice, ...]
    targets: tuple[Choice, ...]
    every: float | None = None
    sessions: tuple[Choice, ...] = ()
    outcomes: tuple[Choice, ...] = ()
    semantic: tuple[tuple[str, float], ...] = ()
    agent: str | None = None
    drift: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class TraceStep:
    """``trace "file.jsonl"``: every line of a trace file (path relative to the test file)."""

    where: Where
    text: str
    path: str


@dataclass(frozen=True, slots=True)
class Wait:
    """``wait 5m``: the virtual clock moves forward."""

    where: Where
    text: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Clock:
    """``clock "13:30"``: the virtual clock is set (forward only)."""

    where: Where
    text: str
    time: str


Step = Observe | TraceStep | Wait | Clock


# --- expectations ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AtLine:
    """After the observation on this line (for an agent: its last one up to this line)."""

    line: int


@dataclass(frozen=True, slots=True)
class AtEnd:
    """After the last observation."""


@dataclass(frozen=True, slots=True)
class AtTime:
    """After the last observation at or before this time of the virtual clock."""

    time: str


Point = AtLine | AtEnd | AtTime


@dataclass(frozen=True, slots=True)
class LineRange:
    """``from line A [to line B]``: the lines a claim looks at (inclusive)."""

    first: int = 1
    last: int | None = None

    def holds(self, line: int) -> bool:
        """True when ``line`` lies in the range."""
        return self.first <= line and (self.last is None or line <= self.last)

    def text(self) -> str:
        """The range as a reader sees it."""
        if self.last is None:
            return f"from line {self.first}"
        return f"from line {self.first} to line {self.last}"


@dataclass(frozen=True, slots=True)
class Subject:
    """What an expectation is about: an invariant (by name or id), scope, or a drift score."""

    kind: Literal["invariant", "scope", "drift"]
    # The invariant's name or id, or the drift distribution; empty for scope.
    name: str
    agent: str | None = None

    def label(self) -> str:
        """How a message names the subject."""
        base = {"invariant": self.name, "scope": "scope", "drift": f"drift {self.name}"}[self.kind]
        return base if self.agent is None else f"{base} of {self.agent}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``< 0.3``, ``between 0.1 and 0.2``: a bound on a value."""

    operator: str
    value: float
    upper: float | None = None

    def text(self) -> str:
        """The comparison as written in canonical form."""
        if self.operator == "between":
            return f"between {_num(self.value)} and {_num(self.upper or 0.0)}"
        return f"{self.operator} {_num(self.value)}"


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:g}"


@dataclass(frozen=True, slots=True)
class StateAt:
    """``expect X violated [at POINT]``: the subject's state at a point (the end by default)."""

    subject: Subject
    state: str
    point: Point = field(default_factory=AtEnd)


@dataclass(frozen=True, slots=True)
class Never:
    """``expect X never violated``: at no observation."""

    subject: Subject
    state: str
    lines: LineRange | None = None


@dataclass(frozen=True, slots=True)
class Reaches:
    """``expect X reaches approaching``: after at least one observation."""

    subject: Subject
    state: str
    lines: LineRange | None = None


@dataclass(frozen=True, slots=True)
class FirstAt:
    """``expect X first violated at line N``: the first observation in that state is line N."""

    subject: Subject
    state: str
    line: int
    lines: LineRange | None = None


@dataclass(frozen=True, slots=True)
class Times:
    """``expect scope violated on 40 observations``: after exactly that many observations."""

    subject: Subject
    state: str
    count: int


@dataclass(frozen=True, slots=True)
class ValueAt:
    """``expect X value < 0.3 [at POINT]`` (``score`` for drift)."""

    subject: Subject
    comparison: Comparison
    point: Point = field(default_factory=AtEnd)


@dataclass(frozen=True, slots=True)
class NoViolations:
    """``expect no violations [of AGENT]``: no invariant violated after any observation."""

    agent: str | None = None
    lines: LineRange | None = None


@dataclass(frozen=True, slots=True)
class ErrorAt:
    """``expect error at line N [containing "text"]``: the runtime refused that line."""

    line: int
    containing: str | None = None


@dataclass(frozen=True, slots=True)
class NoErrors:
    """``expect no errors``: every observation was decided."""


Claim = StateAt | Never | Reaches | FirstAt | Times | ValueAt | NoViolations | ErrorAt | NoErrors


@dataclass(frozen=True, slots=True)
class Expectation:
    """One ``expect`` line: what it claims, where it was written, and its text."""

    where: Where
    text: str
    claim: Claim


# --- tests and files ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestCase:
    """One ``test "name" { ... }`` block."""

    __test__ = False  # not a pytest test class

    where: Where
    name: str
    settings: Settings
    steps: tuple[Step, ...]
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True)
class TestFile:
    """A parsed ``.nomotest`` file: its path, file-level settings and tests."""

    __test__ = False  # not a pytest test class

    path: str
    settings: Settings
    tests: tuple[TestCase, ...]
