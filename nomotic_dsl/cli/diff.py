"""``nomo diff A B --trace T``: the verdicts a change flips on recorded traffic.

Input: two bundles (verified with ``--trust``) or .nomo files or folders
(compiled here), and a trace. Output: the invariants B adds and removes per
agent, and every verdict that differs (an invariant's state, scope, a drift
exceedance, a refused line), with the runs of lines where it differs and
the first such line; text or ``--format json``. Exit codes: 0 nothing
differs, 1 something differs (or an input is bad: a bundle refused, a
trace that cannot be read; the reason on stderr, nothing on stdout), 2
misuse. Stage: CLI shell over ``nomotic_dsl.replay.diff``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from nomotic_dsl.cli.options import TRACE_OPTION, TRUST_OPTION
from nomotic_dsl.cli.output import fail_input, print_json
from nomotic_dsl.compiler.diagnostics import render
from nomotic_dsl.replay.diff import Change, Flip, VerdictDiff, diff_replays
from nomotic_dsl.replay.run import TraceFileError
from nomotic_dsl.replay.source import PolicyCompileError, PolicySet, ReplayError, load_policy_set
from nomotic_dsl.runtime.fleet.config import (
    DEFAULT_DRIFT_WINDOW,
    DEFAULT_MIN_DRIFT_OBSERVATIONS,
    FleetConfig,
)

_SECONDS = click.FloatRange(min=0, min_open=True)


def runtime_options(command: Any) -> Any:
    """The options that change decisions, as ``nomo run`` names them."""
    for option in reversed(
        [
            click.option(
                "--drift-window",
                type=click.IntRange(min=1),
                default=DEFAULT_DRIFT_WINDOW,
                show_default=True,
                help="Drift is measured over each agent's last N actions.",
            ),
            click.option(
                "--min-drift-observations",
                type=click.IntRange(min=1),
                default=DEFAULT_MIN_DRIFT_OBSERVATIONS,
                show_default=True,
                help="No drift score before an agent took N actions.",
            ),
            click.option(
                "--agent-idle",
                type=_SECONDS,
                help="An agent silent this many seconds (trace time) starts afresh.",
            ),
            click.option(
                "--session-idle",
                type=_SECONDS,
                help="Sessions silent this many seconds are released inside each monitor.",
            ),
        ]
    ):
        command = option(command)
    return command


def fleet_config(
    drift_window: int,
    min_drift_observations: int,
    agent_idle: float | None,
    session_idle: float | None,
) -> FleetConfig:
    """The runtime options; click has checked their ranges."""
    try:
        return FleetConfig(
            drift_window=drift_window,
            min_drift_observations=min_drift_observations,
            agent_idle_seconds=agent_idle,
            session_idle_seconds=session_idle,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def load_or_exit(target: Path, trusted: Sequence[Path], config: FleetConfig) -> PolicySet:
    """A policy set, or the problem on stderr and exit 1 (exit 2 for a bundle without --trust)."""
    try:
        return load_policy_set(target, trusted, config)
    except PolicyCompileError as exc:
        result = exc.result
        click.echo(render(result.diagnostics, "full", result.sources), err=True)
        fail_input(f"{target}: the policy has errors")
    except ReplayError as exc:
        if not trusted and "--trust" in str(exc):
            raise click.UsageError(str(exc)) from None
        fail_input(str(exc))


def describe_side(label: str, path: Path, policy_set: PolicySet) -> str:
    agents = ", ".join(policy_set.agents) or "none (rules for any agent)"
    return f"{label}: {path} (bundle {policy_set.digest[:12]}, contracts: {agents})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _who(agent: str | None) -> str:
    return "" if agent is None else f"{agent} "


def _change_line(change: Change, kind: str, side: str) -> str:
    under = (
        f"first violated at line {change.first_violated}"
        if change.first_violated is not None
        else "never violated"
    )
    return f"{_who(change.agent_id)}{change.invariant_id}: {kind} (under {side}: {under})"


def _flip_lines(flip: Flip) -> list[str]:
    count = flip.observations
    lines = [
        f"{_who(flip.agent_id)}{flip.label}: verdicts differ on {count} "
        f"observation{'s' if count != 1 else ''}, first at line {flip.first_line}"
    ]
    for run in flip.runs:
        span = (
            f"line {run.first_line}"
            if run.first_line == run.last_line
            else f"lines {run.first_line}-{run.last_line}"
        )
        lines.append(
            f"    {span} ({run.observations} observation{'s' if run.observations != 1 else ''}): "
            f"A {run.a}, B {run.b}"
        )
    if flip.truncated:
        lines.append("    ... (more runs counted but not listed)")
    return lines


def render_text(diff: VerdictDiff, head: list[str]) -> str:
    lines = list(head)
    lines.append("")
    for change in diff.added:
        lines.append(_change_line(change, "added", "B"))
    for change in diff.removed:
        lines.append(_change_line(change, "removed", "A"))
    for flip in diff.flips:
        lines.extend(_flip_lines(flip))
    if diff.differs:
        lines.append("")
    observations = sum(flip.observations for flip in diff.flips)
    subjects = len(diff.flips)
    if diff.flips:
        verb = "differs" if subjects == 1 else "differ"
        summary = (
            f"{_plural(subjects, 'verdict')} {verb} on {_plural(observations, 'observation')}, "
            f"first at line {diff.first_line}"
        )
    else:
        summary = "no verdict differs"
    summary += f"; {_plural(len(diff.added), 'invariant')} added, {len(diff.removed)} removed"
    lines.append(summary)
    return "\n".join(lines)


@click.command("diff")
@click.argument("before", metavar="A", type=click.Path(path_type=Path, exists=True))
@click.argument("after", metavar="B", type=click.Path(path_type=Path, exists=True))
@TRACE_OPTION
@TRUST_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Human-readable text, or one JSON document.",
)
@click.option(
    "--violations-only",
    is_flag=True,
    help="Compare violated against not violated only (ignore satisfied/approaching/not measured).",
)
@runtime_options
def diff_command(
    before: Path,
    after: Path,
    trace: Path,
    trusted: Sequence[Path],
    output_format: str,
    violations_only: bool,
    drift_window: int,
    min_drift_observations: int,
    agent_idle: float | None,
    session_idle: float | None,
) -> None:
    """Replay TRACE through A and B and report every verdict that differs.

    A and B are sealed bundles (with --trust) or .nomo files or folders.
    Exits 0 when no verdict differs and no invariant is added or removed, 1
    otherwise.
    """
    config = fleet_config(drift_window, min_drift_observations, agent_idle, session_idle)
    a = load_or_exit(before, trusted, config)
    b = load_or_exit(after, trusted, config)
    try:
        diff = diff_replays(a, b, trace, violations_only=violations_only)
    except TraceFileError as exc:
        fail_input(str(exc))
    if diff.observations == 0:
        fail_input(f"{trace} holds no observations: nothing was compared")
    if output_format == "json":
        print_json(
            {
                "a": {"path": str(before), "bundle": a.digest, "agents": list(a.agents)},
                "b": {"path": str(after), "bundle": b.digest, "agents": list(b.agents)},
                "trace": str(trace),
                "observations": diff.observations,
                "violations_only": violations_only,
                "differs": diff.differs,
                "first_line": diff.first_line,
                "added": [change.to_dict() for change in diff.added],
                "removed": [change.to_dict() for change in diff.removed],
                "flips": [flip.to_dict() for flip in diff.flips],
            }
        )
    else:
        head = [
            describe_side("A", before, a),
            describe_side("B", after, b),
            f"trace: {trace}, {diff.observations} observations",
        ]
        click.echo(render_text(diff, head))
    if diff.differs:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``diff`` to the ``nomo`` group."""
    group.add_command(diff_command)
