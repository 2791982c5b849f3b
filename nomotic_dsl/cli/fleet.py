"""``nomo run`` and ``nomo log verify``: a trace through the fleet runtime, and its decision log.

Input: a bundle (or a .nomo file or folder, compiled here), a trace file or
standard input, options. Output: decisions (JSON Lines, flushed one per
observation), or violations as they happen and a summary; checkpoint files;
exit codes 0 (nothing found), 1 (violations, scope violations, errors, an
empty trace, unmeasured results with --require-measured, or bad input), 2
(misuse: bad options, a checkpoint of other bundles or options, a trace that
is not the checkpoint's). Stage: CLI shell over ``nomotic_dsl.runtime.fleet``.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, NoReturn

import click

from nomotic_dsl.cli.options import (
    EXPECT_AGENT_OPTION,
    EXPECT_NAME_OPTION,
    INIT_STATE_OPTION,
    STATE_OPTION,
    TRUST_OPTION,
)
from nomotic_dsl.cli.output import FORMAT_OPTION, INPUT_FILE, INPUT_PATH, fail_input, print_json
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.loader import BundleChecks, load_bundle, verify_bundle
from nomotic_dsl.runtime.bundle.verify import format_time
from nomotic_dsl.runtime.fleet.checkpoint import (
    CheckpointError,
    checkpoint_document,
    read_checkpoint,
    restore,
    write_checkpoint,
)
from nomotic_dsl.runtime.fleet.config import (
    DEFAULT_DRIFT_WINDOW,
    DEFAULT_MIN_DRIFT_OBSERVATIONS,
    FleetConfig,
)
from nomotic_dsl.runtime.fleet.decision import encode_record
from nomotic_dsl.runtime.fleet.log import BundleIdentity, LogError, verify_log
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime, StateMismatch, fleet_digest
from nomotic_dsl.runtime.fleet.trace import (
    TraceInterrupted,
    TraceReader,
    TraceTruncated,
)

# A missing input file is an input problem (exit 1), not misuse: see cli/output.py.
_EXISTING_FILE = INPUT_FILE
_PROGRESS_EVERY = 5_000
_PROGRESS_MIN_BYTES = 1_000_000
_BATCH_BYTES = 64 * 1024
_SECONDS = click.FloatRange(min=0, min_open=True)


def _misuse(message: str) -> NoReturn:
    """Misuse of the tool: a message on stderr, nothing on stdout, exit 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _problem(message: str, as_json: bool = False) -> NoReturn:
    """A problem in the input: exit 1; with --format json, ``{"ok": false, "error"}`` on stdout."""
    fail_input(message, {"ok": False, "error": message} if as_json else None)


# --- building the runtime ----------------------------------------------------------------


def build_runtime(
    target: Path,
    trusted: Sequence[Path],
    checks: BundleChecks,
    config: FleetConfig,
    as_json: bool = False,
) -> FleetRuntime:
    """The fleet runtime of a bundle (verified) or of a .nomo file or folder (compiled here).

    A refusal exits 1; with ``as_json`` (``--format json``) its JSON document
    goes to stdout as well.
    """
    if target.is_dir() or target.suffix == ".nomo":
        if checks.state_path or checks.agent or checks.name:
            raise click.UsageError(
                "--state, --expect-agent and --expect-name apply to bundles, not .nomo files"
            )
        # The compiler only for policy sources: a sealed bundle runs without importing it.
        from nomotic_dsl.compiler.diagnostics import render
        from nomotic_dsl.compiler.evaluators import policies_of
        from nomotic_dsl.compiler.generate import bundle_contents
        from nomotic_dsl.compiler.pipeline import compile_path, folder_bundle_name

        result = compile_path(target)
        if result.diagnostics:
            click.echo(render(result.diagnostics, "full", result.sources), err=True)
        if not result.ok:
            _problem(f"{target} has errors; nothing was run", as_json)
        try:
            contents = bundle_contents(
                result.contracts,
                result.invariants,
                result.sources,
                result.root,
                name=folder_bundle_name(target) if target.is_dir() else None,
            )
            digest, policies = policies_of(contents, config)
            return FleetRuntime(policies, config, digest=digest)
        except (BundleError, ValueError) as exc:
            _problem(f"{target}: {exc}", as_json)
    if not trusted:
        raise click.UsageError("running a bundle needs --trust PUBLIC_KEY_FILE")
    try:
        bundle = load_bundle(
            target,
            list(trusted),
            rollback=checks.state_path,
            initialise_rollback=checks.init_state,
            expect_agent=checks.agent,
            expect_name=checks.name,
        )
        return FleetRuntime.from_bundles([bundle], config)
    except BundleError as exc:
        _problem(f"{target}: refused: {exc}", as_json)
    except ValueError as exc:
        _problem(f"{target}: {exc}", as_json)


# --- reporting ---------------------------------------------------------------------------


_NONE_EXCEEDED: frozenset[str] = frozenset()


@dataclass
class RunReport:
    """What a run found, for the text and JSON summaries and the exit code.

    The lists keep the first ``keep`` items of each kind; the counts count all.
    """

    trace_name: str
    observations: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)
    scope: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    violation_count: int = 0
    scope_count: int = 0
    error_count: int = 0
    exceedances: int = 0
    agents: set[str | None] = field(default_factory=set)
    # Per agent, the drift distributions exceeded after its last decision.
    exceeded: dict[str | None, frozenset[str]] = field(default_factory=dict)
    keep: int = 1000

    def add(self, record: dict[str, Any]) -> list[str]:
        """Count one decision; the text lines it deserves (onsets only)."""
        self.observations += 1
        agent = record["agent_id"]
        self.agents.add(agent)
        if (
            not record["changed"]
            and record["error"] is None
            and record["scope"] is None
            and not record["drift_exceedances"]
            and not self.exceeded.get(agent)
        ):
            return []  # most decisions: nothing began, nothing to count or keep
        line = record["line"]
        who = "" if agent is None else f"{agent}  "
        if record["error"] is not None:
            self.error_count += 1
            self._keep(self.errors, {"line": line, "agent_id": agent, "error": record["error"]})
            return [f"{self.trace_name}:{line}: {who}error: {record['error']}"]
        lines: list[str] = []
        # The time, for the lines and items kept (most decisions need neither).
        when = "-" if record["timestamp"] is None else None
        for change in record["changed"]:
            if change["to"] != "violated":
                continue
            when = when or format_time(record["timestamp"])
            self.violation_count += 1
            self._keep(
                self.violations,
                {
                    "line": line,
                    "agent_id": agent,
                    "timestamp": record["timestamp"],
                    "time": when,
                    "invariant_id": change["invariant"],
                    "detail": change["detail"],
                },
            )
            lines.append(f"{when}  line {line}  {who}{change['invariant']}: {change['detail']}")
        if record["scope"] is not None:
            when = when or format_time(record["timestamp"])
            self.scope_count += 1
            self._keep(self.scope, {"line": line, "agent_id": agent, "outside": record["scope"]})
            outside = ", ".join(f"{kind} {name!r}" for kind, name in record["scope"].items())
            lines.append(f"{when}  line {line}  {who}out of scope: {outside}")
        exceedances = record["drift_exceedances"]
        before = self.exceeded.get(agent, _NONE_EXCEEDED)
        if not exceedances and not before:
            return lines  # the usual decision: nothing exceeded now or after the last one
        for entry in exceedances:
            self.exceedances += 1
            if entry["distribution"] not in before:
                when = when or format_time(record["timestamp"])
                lines.append(
                    f"{when}  line {line}  {who}drift: {entry['distribution']} "
                    f"{entry['score']:.3g} is above its threshold {entry['threshold']:g}"
                )
        self.exceeded[agent] = frozenset(e["distribution"] for e in exceedances)
        return lines

    def _keep(self, items: list[dict[str, Any]], item: dict[str, Any]) -> None:
        if len(items) < self.keep:
            items.append(item)

    @property
    def found(self) -> bool:
        """Anything that makes the run exit 1."""
        return bool(self.violation_count or self.scope_count or self.error_count)

    def summary(self, unmeasured: dict[str | None, list[str]]) -> str:
        """The closing line (and the invariants not measured at the end, if any)."""
        agents = len(self.agents)
        text = (
            f"{self.observations} observations from {agents} agent{'' if agents == 1 else 's'}: "
            f"{self.violation_count} violations, {self.scope_count} out of scope, "
            f"{self.exceedances} drift exceedances, {self.error_count} errors"
        )
        if unmeasured:
            listed = "; ".join(
                f"{agent or '-'}: {', '.join(ids)}" for agent, ids in unmeasured.items()
            )
            text += f"\nnot measured at the end: {listed}"
        return text

    def to_dict(
        self, end: dict[str, Any], unmeasured: dict[str | None, list[str]]
    ) -> dict[str, Any]:
        """The ``--format json`` document."""
        return {
            "observations": self.observations,
            "agents": len(self.agents),
            "violation_count": self.violation_count,
            "violations": self.violations,
            "scope_violation_count": self.scope_count,
            "scope_violations": self.scope,
            "error_count": self.error_count,
            "errors": self.errors,
            "drift_exceedances": self.exceedances,
            "not_measured": [
                {"agent_id": agent, "invariants": ids} for agent, ids in unmeasured.items()
            ],
            "end": end,
        }


# --- signals -----------------------------------------------------------------------------


@contextmanager
def _stoppable(reader: TraceReader) -> Iterator[None]:
    """SIGINT/SIGTERM stop the run after the current observation (end record, checkpoint)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        reader.stop.set()
        if reader.reading:
            raise TraceInterrupted

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# --- nomo run ----------------------------------------------------------------------------


@click.command("run")
@click.argument("target", metavar="BUNDLE_OR_POLICY", type=INPUT_PATH)
@click.option(
    "--trace",
    "trace",
    required=True,
    help="JSON Lines, one observation per line, each agent's oldest first; - reads stdin.",
)
@TRUST_OPTION
@STATE_OPTION
@INIT_STATE_OPTION
@EXPECT_AGENT_OPTION
@EXPECT_NAME_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="text: violations as they happen and a summary; json: a summary document; "
    "jsonl: one decision per line, then an end record.",
)
@click.option("--follow", is_flag=True, help="Keep reading the trace file as it grows.")
@click.option(
    "--follow-idle",
    type=_SECONDS,
    help="With --follow, stop once no line arrived for this many seconds.",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the whole runtime state here at the end (and every --checkpoint-every).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    help="Also write the checkpoint after every N observations.",
)
@click.option(
    "--resume",
    "resume_path",
    type=_EXISTING_FILE,
    help="Continue from a checkpoint: its lines of the trace are checked and skipped.",
)
@click.option(
    "--rest",
    is_flag=True,
    help="With --resume: the trace holds only the lines after the checkpoint.",
)
@click.option(
    "--drift-window",
    type=click.IntRange(min=1),
    default=DEFAULT_DRIFT_WINDOW,
    show_default=True,
    help="Drift is measured over each agent's last N actions.",
)
@click.option(
    "--min-drift-observations",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_DRIFT_OBSERVATIONS,
    show_default=True,
    help="No drift score before an agent took N actions.",
)
@click.option(
    "--agent-idle",
    type=_SECONDS,
    help="An agent silent this many seconds (trace time) starts afresh; its state is released.",
)
@click.option(
    "--session-idle",
    type=_SECONDS,
    help="Sessions silent this many seconds are released inside each monitor.",
)
@click.option("--max-agents", type=click.IntRange(min=1), help="Govern at most N agent ids.")
@click.option(
    "--require-measured",
    is_flag=True,
    help="Exit 1 when an invariant is not measured at the end of the trace (for any agent).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "flink"]),
    default="local",
    show_default=True,
    help="local: this process; flink: a PyFlink job on a local mini-cluster, agents in keyed "
    "state (the flink extra), with the same decisions.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1),
    help="With --engine flink: how many tasks govern agents at once (default 1).",
)
def run_command(
    target: Path,
    trace: str,
    trusted: Sequence[Path],
    state_path: Path | None,
    init_state: bool,
    expect_agent: str | None,
    expect_name: str | None,
    output_format: str,
    follow: bool,
    follow_idle: float | None,
    checkpoint_path: Path | None,
    checkpoint_every: int | None,
    resume_path: Path | None,
    rest: bool,
    drift_window: int,
    min_drift_observations: int,
    agent_idle: float | None,
    session_idle: float | None,
    max_agents: int | None,
    require_measured: bool,
    engine: str,
    parallelism: int | None,
) -> None:
    """Govern TRACE's agents with a bundle's contracts (or a .nomo file or folder, compiled here).

    Every observation gets a decision; each names its agent (``agent_id``;
    without it, the only contract). Exits 1 when an invariant was violated, an
    action was out of scope, a line had an error, or the trace was empty.
    """
    if init_state and state_path is None:
        raise click.UsageError("--init-state needs --state PATH")
    if checkpoint_every is not None and checkpoint_path is None:
        raise click.UsageError("--checkpoint-every needs --checkpoint FILE")
    if rest and resume_path is None:
        raise click.UsageError("--rest needs --resume CHECKPOINT")
    if follow_idle is not None and not follow:
        raise click.UsageError("--follow-idle needs --follow")
    if follow and trace == "-":
        raise click.UsageError("--follow reads a growing file; standard input is read as it comes")
    as_json = output_format == "json"
    if trace != "-" and not Path(trace).is_file():
        what = "no such file" if not Path(trace).exists() else "not a file"
        _problem(f"cannot read --trace {trace}: {what} (or give - for standard input)", as_json)
    try:
        config = FleetConfig(
            drift_window=drift_window,
            min_drift_observations=min_drift_observations,
            agent_idle_seconds=agent_idle,
            session_idle_seconds=session_idle,
            max_agents=max_agents,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    checks = BundleChecks(state_path, init_state, expect_agent, expect_name)
    if engine == "flink":
        _check_flink_options(
            target,
            trusted,
            {
                "--follow": follow,
                "--checkpoint": checkpoint_path,
                "--checkpoint-every": checkpoint_every,
                "--resume": resume_path,
            },
        )
        _run_flink(
            target,
            trusted,
            checks,
            config,
            trace,
            output_format,
            parallelism or 1,
            require_measured,
        )
        return
    if parallelism is not None:
        raise click.UsageError("--parallelism needs --engine flink")
    runtime = build_runtime(target, trusted, checks, config, as_json)
    start_line = start_observations = 0
    document = None
    if resume_path is not None:
        try:
            document = read_checkpoint(resume_path)
            restore(runtime, document)
        except CheckpointError as exc:
            _problem(str(exc), as_json)
        except StateMismatch as exc:
            _misuse(f"cannot resume from {resume_path}: {exc}")
        start_line = document["position"]["line"]
        start_observations = document["position"]["observations"]
    stream = _open_trace(trace, as_json)
    reader = TraceReader(stream, follow=follow, idle_seconds=follow_idle)
    trace_name = "<stdin>" if trace == "-" else trace
    if document is not None:
        position = document["position"]
        if rest:
            reader.start_after(position["line"], position["trace_digest"])
        else:
            _skip_checked(reader, position, trace_name)
    _Run(
        runtime=runtime,
        reader=reader,
        report=RunReport(trace_name),
        output_format=output_format,
        checkpoint_path=checkpoint_path,
        checkpoint_every=checkpoint_every,
        observations=start_observations,
        progress=_progress(trace, output_format),
        out=_Output(sys.stdout, batched=not follow and _is_regular_file(stream)),
    ).execute(require_measured, start_line)


def _is_regular_file(stream: BinaryIO) -> bool:
    """True for a file on disk (a finished trace to replay), False for a pipe or a terminal."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _open_trace(trace: str, as_json: bool) -> BinaryIO:
    if trace == "-":
        return sys.stdin.buffer
    try:
        return open(trace, "rb")
    except OSError as exc:
        _problem(f"{trace}: cannot read trace: {exc.strerror or exc}", as_json)


def _skip_checked(reader: TraceReader, position: dict[str, Any], trace_name: str) -> None:
    try:
        reader.skip_to(position["line"])
    except EOFError as exc:
        _misuse(f"{trace_name} is not the trace the checkpoint was made from: {exc}")
    if reader.position != position["trace_digest"]:
        _misuse(
            f"{trace_name} is not the trace the checkpoint was made from: its first "
            f"{position['line']} lines differ (use --rest for a trace that holds only the rest)"
        )


def _show_progress(trace: str) -> bool:
    """A progress count on stderr: only on a terminal, for a trace file of 1 MB or more."""
    return (
        trace != "-" and sys.stderr.isatty() and Path(trace).stat().st_size >= _PROGRESS_MIN_BYTES
    )


def _progress(trace: str, output_format: str) -> Callable[[int], None] | None:
    if output_format == "jsonl" or not _show_progress(trace):
        return None

    def report(count: int) -> None:
        if count % _PROGRESS_EVERY == 0:
            click.echo(f"\rreplayed {count:,} observations", err=True, nl=False)

    return report


@dataclass
class _Run:
    runtime: FleetRuntime
    reader: TraceReader
    report: RunReport
    output_format: str
    checkpoint_path: Path | None
    checkpoint_every: int | None
    observations: int
    progress: Callable[[int], None] | None
    out: _Output

    def execute(self, require_measured: bool, start_line: int) -> None:
        out = self.out
        problem = None
        with _stoppable(self.reader), out:
            try:
                for item in self.reader:
                    if item.data is None:
                        record = self.runtime.reject(item.problem or "unreadable line", item.number)
                    else:
                        record = self.runtime.process_line(item.data, item.number)
                    # The runtime made the record's line with it (encode_record's bytes).
                    encoded = self.runtime.last_encoded
                    _emit(self.report, self.output_format, out, record, encoded)
                    self.observations += 1
                    if self.progress is not None:
                        self.progress(self.observations)
                    if self.checkpoint_every and self.observations % self.checkpoint_every == 0:
                        self._checkpoint()
            except TraceTruncated as exc:
                problem = str(exc)
        if self.progress is not None:
            click.echo("", err=True)
        end = self.runtime.end_record(max(self.reader.line, start_line))
        _write_end(self.output_format, out, end)
        self._checkpoint()
        _conclude(
            self.report,
            self.output_format,
            end,
            self.runtime.unmeasured(),
            problem=problem,
            start_line=start_line,
            require_measured=require_measured,
        )

    def _checkpoint(self) -> None:
        if self.checkpoint_path is None:
            return
        self.out.flush()  # a checkpoint never counts a decision not yet written
        document = checkpoint_document(
            self.runtime,
            line=self.reader.line,
            observations=self.observations,
            trace_digest=self.reader.position,
        )
        try:
            write_checkpoint(self.checkpoint_path, document)
        except CheckpointError as exc:
            _problem(str(exc), self.output_format == "json")


class _Output:
    """Standard output of ``nomo run``: decision lines (jsonl) or the text report's lines.

    Live (a pipe, standard input, ``--follow``) every line is written and
    flushed as soon as it is decided, for whoever reads the log as it grows.
    Replaying a finished file (``batched``) lines are gathered and written
    ``_BATCH_BYTES`` at a time: one system call per batch instead of one per
    line. Either way only whole lines are written, the buffer is flushed
    before every checkpoint (which so never counts a decision not yet
    written) and when the run ends, stopped or not.
    """

    def __init__(self, stream: Any, *, batched: bool) -> None:
        self.stream = stream
        self.batched = batched
        # Straight to the byte buffer when there is one: with --format jsonl nothing
        # else writes to standard output, so no text waits in front of it.
        self._binary = getattr(stream, "buffer", None)
        self._pending: list[bytes] = []
        self._size = 0

    def line(self, data: bytes) -> None:
        """Write one line (``data`` without its newline)."""
        if self._binary is None:
            self.text(data.decode("utf-8") + "\n")
            return
        self._pending.append(data + b"\n")
        self._size += len(data) + 1
        if not self.batched or self._size >= _BATCH_BYTES:
            self.flush()

    def text(self, text: str) -> None:
        """Write text (whole lines) through the text stream, in order with every line before."""
        self.flush()
        self.stream.write(text)
        self.stream.flush()

    def flush(self) -> None:
        if self._pending:
            assert self._binary is not None
            self._binary.write(b"".join(self._pending))
            self._pending.clear()
            self._size = 0
        if self._binary is not None:
            self._binary.flush()

    def __enter__(self) -> _Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def _emit(
    report: RunReport,
    output_format: str,
    out: _Output,
    record: dict[str, Any],
    encoded: bytes | None = None,
) -> None:
    """Count ``record`` in the report and write it; ``encoded`` is its line when already made."""
    lines = report.add(record)
    if output_format == "jsonl":
        out.line(encode_record(record) if encoded is None else encoded)
    elif output_format == "text" and lines:
        out.text("\n".join(lines) + "\n")


def _write_end(output_format: str, out: _Output, end: dict[str, Any]) -> None:
    if output_format == "jsonl":
        out.line(encode_record(end))
        out.flush()


def _conclude(
    report: RunReport,
    output_format: str,
    end: dict[str, Any],
    unmeasured: dict[str | None, list[str]],
    *,
    problem: str | None = None,
    start_line: int = 0,
    require_measured: bool = False,
) -> None:
    """The summary (text or JSON), then the exit code of what the run found."""
    if output_format == "json":
        print_json(report.to_dict(end, unmeasured))
    elif output_format == "text":
        click.echo(report.summary(unmeasured))
    if problem is not None:
        _problem(f"{report.trace_name}: {problem}")
    if report.observations == 0:
        after = f" after line {start_line}" if start_line else ""
        click.echo(
            f"error: {report.trace_name} holds no observations{after}: nothing was checked",
            err=True,
        )
        sys.exit(1)
    if require_measured and unmeasured:
        click.echo("error: some invariants were not measured (--require-measured)", err=True)
        sys.exit(1)
    if report.found:
        sys.exit(1)


# --- nomo run --engine flink ------------------------------------------------------------


def _check_flink_options(
    target: Path, trusted: Sequence[Path], local_only: dict[str, object]
) -> None:
    given = [name for name, value in local_only.items() if value]
    if given:
        raise click.UsageError(
            f"{', '.join(given)} cannot be used with --engine flink: the Flink job checkpoints "
            "its own state (python -m nomotic_dsl.flink run takes streams, checkpoints and "
            "savepoints)"
        )
    if target.is_dir() or target.suffix == ".nomo":
        raise click.UsageError(
            "--engine flink runs a sealed bundle (nomo build), which every Flink task verifies "
            "before it runs the bundle's code; build one from the policy first"
        )
    if not trusted:
        raise click.UsageError("running a bundle needs --trust PUBLIC_KEY_FILE")


def _run_flink(
    target: Path,
    trusted: Sequence[Path],
    checks: BundleChecks,
    config: FleetConfig,
    trace: str,
    output_format: str,
    parallelism: int,
    require_measured: bool,
) -> None:
    """``nomo run --engine flink``: the same decisions, from a PyFlink job (see docs/scale.md)."""
    import tempfile

    from nomotic_dsl.flink import INSTALL_HINT, available
    from nomotic_dsl.flink.client import JobFailed
    from nomotic_dsl.flink.local import prepare
    from nomotic_dsl.flink.spec import JobOptionError, flink_config

    try:
        flink_config(config)
    except JobOptionError as exc:
        _misuse(str(exc))
    if not available():
        _misuse(INSTALL_HINT)

    as_json = output_format == "json"
    report = RunReport("<stdin>" if trace == "-" else trace)
    out = _Output(sys.stdout, batched=True)  # the job's decisions arrive once it is done
    stream = _open_trace(trace, as_json)
    with tempfile.TemporaryDirectory(prefix="nomo-flink-") as work:
        try:
            with stream:
                run = prepare(
                    target,
                    list(trusted),
                    checks,
                    config,
                    stream,
                    Path(work),
                    parallelism,
                )
        except JobOptionError as exc:
            _misuse(str(exc))
        except BundleError as exc:
            _problem(f"{target}: refused: {exc}", as_json)
        try:
            run.run()
            with out:
                for _text, record in run.decisions():
                    _emit(report, output_format, out, record)
        except JobFailed as exc:
            _problem(f"the Flink job failed: {exc}", as_json)
    end = run.end()
    _write_end(output_format, out, end)
    _conclude(report, output_format, end, run.unmeasured(), require_measured=require_measured)


# --- nomo log verify ---------------------------------------------------------------------


@click.group("log")
def log_group() -> None:
    """Decision logs written by `nomo run --format jsonl`."""


@log_group.command("verify")
@click.argument("log", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    required=True,
    type=_EXISTING_FILE,
    help="The bundle the log was made under (repeat for a runtime of several).",
)
@TRUST_OPTION
@click.option(
    "--interleaved",
    is_flag=True,
    help="Check each agent's order only (logs of engines that interleave agents freely).",
)
@click.option(
    "--head",
    "expected_head",
    help="The end record's receipt you kept elsewhere; the log must end with it.",
)
@FORMAT_OPTION
def log_verify_command(
    log: Path,
    bundles: Sequence[Path],
    trusted: Sequence[Path],
    interleaved: bool,
    expected_head: str | None,
    output_format: str,
) -> None:
    """Check every receipt of LOG: exit 0 intact, 1 naming the first bad line.

    The bundles are verified (signatures, digests) but nothing in them runs.
    With --format json, prints {"intact": true, "log", "decisions", "agents",
    "end_records", "head"} or {"intact": false, "log", "line", "error"}.
    """
    if not trusted:
        raise click.UsageError("give at least one --trust PUBLIC_KEY_FILE")
    as_json = output_format == "json"
    name = "<stdin>" if str(log) == "-" else str(log)

    def refuse(message: str, line: int | None = None) -> NoReturn:
        document = {"intact": False, "log": name, "line": line, "error": message}
        fail_input(message, document if as_json else None)

    by_agent: dict[str, str] = {}
    any_agent: str | None = None
    digests = []
    for path in bundles:
        try:
            verified = verify_bundle(path, list(trusted))
        except BundleError as exc:
            refuse(f"{path}: refused: {exc}")
        digest = verified.manifest.sha256()
        digests.append(digest)
        if not verified.manifest.agents:
            any_agent = digest
        for agent in verified.manifest.agents:
            by_agent[agent] = digest
    identity = BundleIdentity(fleet_digest(digests), by_agent, any_agent)
    try:
        stream = sys.stdin.buffer if str(log) == "-" else open(log, "rb")  # noqa: SIM115
    except OSError as exc:
        refuse(f"cannot read log {log}: {exc.strerror or exc}")
    try:
        with stream:
            summary = verify_log(
                iter(stream.readline, b""),
                identity,
                interleaved=interleaved,
                expected_head=expected_head,
            )
    except LogError as exc:
        refuse(f"{name}:{exc.line}: {exc.message}", exc.line)
    if as_json:
        print_json(
            {
                "intact": True,
                "log": name,
                "decisions": summary.decisions,
                "agents": summary.chains,
                "end_records": summary.end_records,
                "head": summary.head,
            }
        )
        return
    click.echo(
        f"{name}: intact: {summary.decisions} decisions of {summary.chains} agents, "
        f"{summary.end_records} end record{'s' if summary.end_records != 1 else ''}, "
        f"end receipt {summary.head}"
    )


def register(group: click.Group) -> None:
    """Add ``run`` and ``log`` to the ``nomo`` group."""
    group.add_command(run_command)
    group.add_command(log_group)
