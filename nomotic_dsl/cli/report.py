"""``nomo report``: one self-contained HTML page of a trace replayed through a bundle.

Input: a bundle (verified with ``--trust``) or a .nomo file or folder
(compiled here), a trace, the output path. Output: the HTML file (written
atomically); one line on stdout saying what it holds. Exit codes: 0 the
report was written (whatever it shows), 1 bad input (a bundle refused, a
policy with errors, a trace that cannot be read or is too large, an output
that cannot be written), 2 misuse. Also ``explain_verdict_command``, the body
of ``nomo explain --verdict``. Stage: CLI shell over ``nomotic_dsl.report``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import click

from nomotic_dsl.cli.diff import fleet_config, load_or_exit, runtime_options
from nomotic_dsl.cli.options import TRACE_OPTION, TRUST_OPTION
from nomotic_dsl.cli.output import fail_input
from nomotic_dsl.replay.run import TraceFileError
from nomotic_dsl.report.collect import ReportLimit, collect
from nomotic_dsl.report.html import render_page
from nomotic_dsl.report.verdict import VerdictError, explain_verdict
from nomotic_dsl.runtime.fleet.config import FleetConfig


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.command("report")
@click.argument("target", metavar="BUNDLE_OR_POLICY", type=click.Path(path_type=Path, exists=True))
@TRACE_OPTION
@TRUST_OPTION
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The HTML file to write.",
)
@click.option("--title", help="The page's title (default: the bundle's name).")
@runtime_options
def report_command(
    target: Path,
    trace: Path,
    trusted: Sequence[Path],
    output: Path,
    title: str | None,
    drift_window: int,
    min_drift_observations: int,
    agent_idle: float | None,
    session_idle: float | None,
) -> None:
    """Replay TRACE through a bundle and write one HTML page a reviewer opens offline.

    Per invariant a chart of its value and threshold (approaching band,
    violations marked), drift scores, scope violations, and a table of
    incidents that explains each violation.
    """
    config = fleet_config(drift_window, min_drift_observations, agent_idle, session_idle)
    policy_set = load_or_exit(target, trusted, config)
    try:
        collected = collect(policy_set, trace)
    except (TraceFileError, ReportLimit) as exc:
        fail_input(str(exc))
    if collected.observations == 0:
        fail_input(f"{trace} holds no observations: there is nothing to report")
    page = render_page(collected, title)
    try:
        write_atomically(output, page)
    except OSError as exc:
        fail_input(f"cannot write {output}: {exc.strerror or exc}")
    agents = len(collected.agents)
    click.echo(
        f"wrote {output}: {collected.observations} observations, "
        f"{agents} agent{'' if agents == 1 else 's'}, "
        f"{len(collected.incidents)} violations, "
        f"{sum(a.scope_count for a in collected.agents.values())} out of scope, "
        f"{collected.refused_count} refused line{'' if collected.refused_count == 1 else 's'}"
    )


def explain_verdict_command(
    target: Path,
    trace: Path | None,
    line: int,
    invariant: str | None,
    trusted: Sequence[Path],
    output_format: str,
) -> None:
    """``nomo explain TARGET --trace T --verdict LINE``: exit 0 explained, 1 nothing to explain."""
    if trace is None:
        raise click.UsageError("--verdict needs --trace TRACE.jsonl")
    policy_set = load_or_exit(target, trusted, FleetConfig())
    try:
        found = explain_verdict(policy_set, trace, line, invariant)
    except (TraceFileError, ReportLimit, VerdictError) as exc:
        fail_input(str(exc))
    if output_format == "json":
        click.echo(
            json.dumps(
                {"verdicts": [item.to_dict() for item in found]}, indent=2, ensure_ascii=False
            )
        )
    else:
        click.echo("\n\n".join(item.text() for item in found))
    sys.exit(0)


def register(group: click.Group) -> None:
    """Add ``report`` to the ``nomo`` group."""
    group.add_command(report_command)
