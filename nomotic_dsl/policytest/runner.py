"""Running policy tests: each test's observations through the fleet runtime, then its checks.

Input: paths (``.nomotest`` files, directories searched for them, or
``.nomo`` files whose sidecar ``.nomotest`` is run). Output: a ``TestRun``:
one ``TestOutcome`` per test (its failures, what it observed, what coverage
needs) and the problems that kept files or tests from running, each located
by file and line. Stage: the library behind ``nomo test``; it compiles each
policy once (``compiler.pipeline``), generates its evaluators once per set of
runtime options (``replay.source``), and gives every test a fresh
``FleetRuntime``: the verdicts are the generated code's, as in ``nomo run``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from nomotic_dsl.compiler.pipeline import CompileResult, compile_path, compile_request
from nomotic_dsl.compiler.request import ALL_IMPORTS, CompileRequest, source_date_epoch
from nomotic_dsl.compiler.source import SourceFile
from nomotic_dsl.policytest import clock as clocks
from nomotic_dsl.policytest.check import Checker, Failure, Segment, Sources
from nomotic_dsl.policytest.generate import clock_after, observations
from nomotic_dsl.policytest.model import (
    TEST_SUFFIX,
    AtLine,
    AtTime,
    Clock,
    Expectation,
    FirstAt,
    Never,
    NoViolations,
    Observe,
    PolicyRef,
    Reaches,
    Settings,
    Subject,
    TestCase,
    TestFile,
    TestFileError,
    TraceStep,
    Wait,
    Where,
)
from nomotic_dsl.policytest.record import RangeWatch, Recorder, Recording
from nomotic_dsl.policytest.syntax import parse_test_file
from nomotic_dsl.replay.run import Observed, TraceFileError, decide_item, replay_trace
from nomotic_dsl.replay.source import PolicySet, ReplayError, compiled_policy_set
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.interpreter.state import StateError

MAX_OBSERVATIONS_PER_TEST = 1_000_000
DEFAULT_PACE = 1.0


@dataclass(frozen=True, slots=True)
class AgentSeen:
    """What one test saw of one agent, for coverage."""

    agent_id: str | None
    observations: int
    span_seconds: float
    # Invariant id -> the states it reached.
    reached: dict[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One test's result: its failures (none: it passed) and what it exercised."""

    __test__ = False  # not a pytest test class

    file: str
    test: TestCase
    policy: str
    failures: tuple[Failure, ...]
    observations: int = 0
    # (agent, invariant id) pairs an expectation named.
    named: frozenset[tuple[str | None, str]] = frozenset()
    seen: tuple[AgentSeen, ...] = ()
    # The policy's invariants per agent, for coverage (empty when it did not run).
    invariants: tuple[tuple[str | None, tuple[str, ...]], ...] = ()
    # The problem that kept the test from running as written, if any.
    error: TestFileError | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """A policy that does not compile, with what ``nomo check`` would say about it."""

    name: str
    result: CompileResult


@dataclass(slots=True)
class TestRun:
    """Every outcome and every problem of one ``nomo test`` run."""

    __test__ = False  # not a pytest test class

    outcomes: list[TestOutcome] = field(default_factory=list)
    errors: list[TestFileError] = field(default_factory=list)
    policy_problems: list[PolicyProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # Policy display name -> its specs per agent (every policy a test ran).
    policies: dict[str, PolicySet] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.passed)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors and bool(self.outcomes)


# --- discovery -------------------------------------------------------------------------


def test_files(paths: Iterable[Path]) -> tuple[list[Path], list[TestFileError]]:
    """The test files named (directories searched, sorted; a .nomo names its sidecar)."""
    found: list[Path] = []
    problems: list[TestFileError] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{TEST_SUFFIX}")))
        elif path.suffix == ".nomo" and path.is_file():
            sidecar = path.with_suffix(TEST_SUFFIX)
            if sidecar.is_file():
                found.append(sidecar)
            else:
                problems.append(
                    TestFileError(_start_of(path), f"{path} has no tests: {sidecar} does not exist")
                )
        elif path.is_file():
            found.append(path)
        else:
            problems.append(
                TestFileError(_start_of(path), f"cannot read {path}: no such file or directory")
            )
    unique = list(dict.fromkeys(found))
    return unique, problems


def display_name(path: Path) -> str:
    """How reports name a file: the path as given (relative paths stay relative)."""
    return path.as_posix()


def _start_of(path: Path) -> Where:
    return Where(display_name(path), 1, 1)


# --- policies ----------------------------------------------------------------------------


class PolicyCache:
    """Compiled policies by path, and their generated policy sets by runtime options."""

    def __init__(self) -> None:
        self._compiled: dict[str, CompileResult] = {}
        self._sets: dict[tuple[str, str], PolicySet] = {}

    def compile(self, key: str, build: Callable[[], CompileResult]) -> CompileResult:
        if key not in self._compiled:
            self._compiled[key] = build()
        return self._compiled[key]

    def policy_set(self, key: str, result: CompileResult, config: FleetConfig) -> PolicySet:
        marker = repr(sorted(config.decision_fields().items()))
        found = self._sets.get((key, marker))
        if found is None:
            found = compiled_policy_set(result, config)
            self._sets[(key, marker)] = found
        return found


def _compile_inline(test_path: Path, display: str, text: str) -> CompileResult:
    request = CompileRequest(
        SourceFile(display, text), test_path.resolve(), ALL_IMPORTS, source_date_epoch()
    )
    return compile_request(request)


def resolve_policy(
    ref: PolicyRef | None, test_path: Path, display: str, where: Where
) -> tuple[str, Path | None, str | None]:
    """(cache key and display name, a path to compile or None, inline text or None)."""
    if ref is not None and ref.inline is not None:
        return f"{display}:{ref.where.line}", None, ref.inline
    if ref is not None and ref.path is not None:
        path = test_path.parent / ref.path
        if not path.exists():
            raise TestFileError(
                ref.where, f"policy {ref.path!r} does not exist (looked for {path})"
            )
        return display_name(path), path, None
    sidecar = test_path.with_suffix(".nomo")
    if not sidecar.is_file():
        raise TestFileError(
            where,
            f"no policy for this test: {sidecar.name} does not exist beside the test file; "
            'name one with `policy "file.nomo"` or write it inline with `policy { ... }`',
        )
    return display_name(sidecar), sidecar, None


# --- running ----------------------------------------------------------------------------


def run_paths(paths: Sequence[Path]) -> TestRun:
    """Run every test of the files ``paths`` name."""
    run = TestRun()
    files, problems = test_files(paths)
    run.errors.extend(problems)
    cache = PolicyCache()
    for path in files:
        run_file(path, cache, run)
    return run


def run_file(path: Path, cache: PolicyCache, run: TestRun) -> None:
    """Parse one test file and run its tests into ``run``."""
    display = display_name(path)
    run.files.append(display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        run.errors.append(TestFileError(Where(display, 1, 1), f"cannot read {display}: {reason}"))
        return
    try:
        parsed = parse_test_file(text, display)
    except TestFileError as exc:
        run.errors.append(exc)
        return
    if not parsed.tests:
        run.errors.append(TestFileError(Where(display, 1, 1), f"{display} holds no test"))
        return
    reported: set[str] = set()
    for test in parsed.tests:
        outcome = run_test(path, parsed, test, cache, run, reported)
        if outcome is not None:
            run.outcomes.append(outcome)


def run_test(
    path: Path,
    parsed: TestFile,
    test: TestCase,
    cache: PolicyCache,
    run: TestRun,
    reported: set[str],
) -> TestOutcome | None:
    """One test; a problem in how it is written becomes an error and a failed outcome."""
    settings = test.settings.over(parsed.settings)
    try:
        key, policy_path, inline = resolve_policy(settings.policy, path, parsed.path, test.where)
        if policy_path is not None:
            chosen = policy_path
            result = cache.compile(key, lambda: compile_path(chosen))
        else:
            assert inline is not None
            source = inline
            result = cache.compile(key, lambda: _compile_inline(path, parsed.path, source))
        if not result.ok:
            if key not in reported:
                reported.add(key)
                run.policy_problems.append(PolicyProblem(key, result))
            failure = Failure(test.where, "the policy compiles", f"{key} has errors (see above)")
            return TestOutcome(parsed.path, test, key, (failure,))
        config = _config(settings)
        try:
            policy_set = cache.policy_set(key, result, config)
        except ReplayError as exc:
            raise TestFileError(test.where, str(exc)) from None
        run.policies[key] = policy_set
        return TestExecution(path, test, settings, policy_set, key).run()
    except TestFileError as exc:
        failure = Failure(exc.where, "the test runs", f"it cannot run: {exc}")
        return TestOutcome(parsed.path, test, "", (failure,), error=exc)


def _config(settings: Settings) -> FleetConfig:
    options = dict(settings.options)
    values: dict[str, object] = {}
    names = {
        "drift-window": "drift_window",
        "min-drift-observations": "min_drift_observations",
        "agent-idle": "agent_idle_seconds",
        "session-idle": "session_idle_seconds",
    }
    for option, setting in options.items():
        values[names[option]] = setting.value
    try:
        return FleetConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        where = next(iter(options.values())).where if options else Where("", 1, 1)
        raise TestFileError(where, str(exc)) from None


class TestExecution:
    """Everything about running one test once its policy is ready."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, path: Path, test: TestCase, settings: Settings, policy_set: PolicySet, key: str
    ) -> None:
        self.path = path
        self.test = test
        self.settings = settings
        self.policy_set = policy_set
        self.key = key
        self.agent = self._default_agent()
        self.zone: ZoneInfo = clocks.UTC
        self.start: float | None = None
        if settings.start is not None:
            try:
                self.zone = clocks.load_zone(settings.start.zone)
                self.start = clocks.parse_moment(settings.start.text, self.zone)
            except ValueError as exc:
                raise TestFileError(settings.start.where, str(exc)) from None
        pace = settings.pace.value if settings.pace is not None else DEFAULT_PACE
        self.pace = float(pace)  # type: ignore[arg-type]
        self.sources = Sources()

    def run(self) -> TestOutcome:
        expectations = self.test.expectations
        for expectation in expectations:
            self._validate(expectation)
        line_points: dict[int, int] = {}
        time_points: dict[int, float] = {}
        point_index: dict[int, int] = {}
        for position, expectation in enumerate(expectations):
            point = getattr(expectation.claim, "point", None)
            if isinstance(point, AtLine):
                line_points[position] = point.line
                point_index[position] = position
            elif isinstance(point, AtTime):
                try:
                    time_points[position] = clocks.parse_point_time(
                        point.time, self.start, self.zone
                    )
                except ValueError as exc:
                    raise TestFileError(expectation.where, str(exc)) from None
                point_index[position] = position
        ranges: dict[int, RangeWatch] = {}
        for position, expectation in enumerate(expectations):
            claim = expectation.claim
            if isinstance(claim, NoViolations) and claim.lines is not None:
                ranges[position] = RangeWatch(None, "violated", claim.lines)
            elif isinstance(claim, Never | Reaches | FirstAt) and claim.lines is not None:
                key = (claim.subject.kind, claim.subject.name)
                ranges[position] = RangeWatch(key, claim.state, claim.lines)
        recorder = Recorder(line_points, time_points, ranges)
        for observed in self._replay():
            recorder.add(observed)
        recording = recorder.finish()
        checker = Checker(recording, self.sources, self._resolve, point_index, self.test.where)
        failures = checker.check_all(expectations)
        return TestOutcome(
            file=display_name(self.path),
            test=self.test,
            policy=self.key,
            failures=tuple(failures),
            observations=recording.lines,
            named=self._named(recording),
            seen=self._seen(recording),
            invariants=tuple(
                (policy.agent_id, policy.invariant_ids) for policy in self.policy_set.policies
            ),
        )

    # --- the trace --------------------------------------------------------------------

    def _replay(self) -> Iterator[Observed]:
        runtime = self.policy_set.runtime()
        clock = self.start
        line = 0
        for step in self.test.steps:
            if isinstance(step, Observe):
                if clock is None:
                    raise TestFileError(step.where, _NO_START)
                if line + step.count > MAX_OBSERVATIONS_PER_TEST:
                    raise TestFileError(step.where, _TOO_MANY)
                try:
                    for generated in observations(step, clock, self.pace, self.agent):
                        line += 1
                        yield decide_item(runtime, line, generated.item)
                except StateError as exc:
                    raise TestFileError(step.where, f"not a valid observation: {exc}") from None
                self.sources.add(Segment(line - step.count + 1, line, str(step.where)))
                clock = clock_after(step, clock, self.pace)
            elif isinstance(step, TraceStep):
                first = line + 1
                last_stamp = None
                trace_path = self.path.parent / step.path
                try:
                    for observed in replay_trace(
                        runtime,
                        trace_path,
                        first_line=line,
                        max_observations=MAX_OBSERVATIONS_PER_TEST - line,
                    ):
                        line = observed.line
                        if observed.timestamp is not None:
                            last_stamp = observed.timestamp
                        yield observed
                except TraceFileError as exc:
                    raise TestFileError(step.where, str(exc)) from None
                self.sources.add(Segment(first, line, step.path, trace_offset=first - 1))
                if last_stamp is not None:
                    clock = max(clock or last_stamp, last_stamp + self.pace)
            elif isinstance(step, Wait):
                if clock is None:
                    raise TestFileError(step.where, _NO_START)
                clock += step.seconds
            elif isinstance(step, Clock):
                try:
                    clock = (
                        clocks.parse_moment(step.time, self.zone)
                        if clock is None
                        else clocks.parse_clock(step.time, clock, self.zone)
                    )
                except ValueError as exc:
                    raise TestFileError(step.where, str(exc)) from None

    # --- agents and subjects ---------------------------------------------------------

    def _default_agent(self) -> str | None:
        setting = self.settings.contract
        agents = self.policy_set.agents
        if setting is None:
            return None
        name = str(setting.value)
        if not agents:
            raise TestFileError(
                setting.where, f"{self.key} declares no contract, so a test cannot name one"
            )
        if name not in agents:
            raise TestFileError(
                setting.where,
                f"{self.key} has no contract for agent {name!r} (contracts: {', '.join(agents)})"
                + _did_you_mean(name, agents),
            )
        return name

    def _validate(self, expectation: Expectation) -> None:
        claim = expectation.claim
        agent = getattr(claim, "agent", None)
        subject: Subject | None = getattr(claim, "subject", None)
        if subject is not None:
            agent = subject.agent
        agents = self.policy_set.agents
        if agent is not None and agents and agent not in agents:
            raise TestFileError(
                expectation.where,
                f"{self.key} has no contract for agent {agent!r} (contracts: {', '.join(agents)})"
                + _did_you_mean(agent, agents),
            )
        if subject is None or subject.kind != "invariant":
            return
        chosen = agent if agent is not None else self.agent
        if chosen is not None or len(self.policy_set.policies) == 1:
            policy = self.policy_set.policy(chosen)
            known = () if policy is None else policy.invariant_ids
            owner = "" if chosen is None else f" of {chosen}"
        else:
            known = tuple(i for policy in self.policy_set.policies for i in policy.invariant_ids)
            owner = ""
        if subject.name not in known:
            raise TestFileError(
                expectation.where,
                f"no invariant {subject.name!r} in {self.key}{owner}"
                + _did_you_mean(subject.name, sorted(set(known))),
            )

    def _resolve(self, subject: Subject, recording: Recording) -> tuple[str | None, str | None]:
        if subject.agent is not None:
            return subject.agent, None
        if self.agent is not None:
            return self.agent, None
        agents = self.policy_set.agents
        if len(agents) == 1:
            return agents[0], None
        if not agents:
            seen = recording.agents()
            if len(seen) <= 1:
                return (seen[0] if seen else None), None
            listed = ", ".join(str(agent) for agent in seen)
            return None, f"several agents were observed ({listed}): write `of AGENT`"
        if subject.kind == "invariant":
            owners = [
                policy.agent_id
                for policy in self.policy_set.policies
                if subject.name in policy.invariant_ids
            ]
            if len(owners) == 1:
                return owners[0], None
            listed = ", ".join(str(agent) for agent in owners)
            return None, f"{subject.name} belongs to several contracts ({listed}): write `of AGENT`"
        listed = ", ".join(agents)
        return None, f"{self.key} holds several contracts ({listed}): write `of AGENT`"

    def _named(self, recording: Recording) -> frozenset[tuple[str | None, str]]:
        named = set()
        for expectation in self.test.expectations:
            subject = getattr(expectation.claim, "subject", None)
            if isinstance(subject, Subject) and subject.kind == "invariant":
                agent, problem = self._resolve(subject, recording)
                if problem is None:
                    named.add((agent, subject.name))
            elif isinstance(expectation.claim, NoViolations):
                for policy in self.policy_set.policies:
                    if expectation.claim.agent in (None, policy.agent_id):
                        named.update((policy.agent_id, ident) for ident in policy.invariant_ids)
        return frozenset(named)

    def _seen(self, recording: Recording) -> tuple[AgentSeen, ...]:
        seen = []
        for agent, span in recording.spans.items():
            reached: dict[str, set[str]] = {}
            for (who, key), firsts in recording.firsts.items():
                if who == agent and key[0] == "invariant":
                    reached.setdefault(key[1], set()).update(firsts)
            seen.append(
                AgentSeen(
                    agent,
                    span.observations,
                    span.last - span.first,
                    {ident: frozenset(states) for ident, states in reached.items()},
                )
            )
        return tuple(seen)


_NO_START = (
    'this test has no start time: add `start "2024-04-08 09:00" in "Europe/Paris"` to the test '
    "or the file (or begin with a `trace` step or a `clock` step with a full date)"
)
_TOO_MANY = f"a test may replay at most {MAX_OBSERVATIONS_PER_TEST:,} observations"


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


__all__ = [
    "AgentSeen",
    "PolicyProblem",
    "TestOutcome",
    "TestRun",
    "run_paths",
    "test_files",
]
