"""``nomo evaluate``: evaluate invariant specs (JSON) on a behavioral state (JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nomotic_dsl.cli.output import FORMAT_OPTION, fail_input, print_json, read_json_file
from nomotic_dsl.runtime.interpreter import (
    CompiledInvariants,
    InvariantResult,
    StateError,
    coerce_state,
)


@click.command("evaluate")
@click.argument("specs_file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("state_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--require-measured",
    is_flag=True,
    help="Also exit 1 when any invariant had nothing to measure (not measured).",
)
@FORMAT_OPTION
def evaluate_command(
    specs_file: Path, state_file: Path, require_measured: bool, output_format: str
) -> None:
    """Evaluate the invariants in SPECS_FILE on the behavioral state in STATE_FILE.

    SPECS_FILE holds a list of InvariantSpec dicts, or an object with an
    "invariants" list (what `nomo compile` prints). Exits 1 when an invariant
    is violated or the input is invalid, and with --require-measured when an
    invariant was not measured.
    """
    raw_specs: Any = read_json_file(specs_file, "specs")
    if isinstance(raw_specs, dict) and "invariants" in raw_specs:
        raw_specs = raw_specs["invariants"]
    if not isinstance(raw_specs, list):
        fail_input(f"{specs_file}: expected a list of invariant specs")
    try:
        compiled = CompiledInvariants.compile(raw_specs)
    except ValueError as exc:
        fail_input(f"{specs_file}: {exc}")
    try:
        state = coerce_state(read_json_file(state_file, "state"))
    except StateError as exc:
        fail_input(f"{state_file}: {exc}")
    results = compiled.evaluate(state)
    summary = compiled.summary(results)
    if output_format == "json":
        print_json({"results": [r.to_dict() for r in results], "summary": summary})
    else:
        for result in results:
            click.echo(f"{status_word(result):<11} {result.invariant_id}: {result.detail}")
        click.echo(summary_line(summary))
    if summary["by_status"]["violated"]:
        raise SystemExit(1)
    if require_measured and summary["by_measurement"]["not_measured"]:
        if output_format != "json":
            click.echo(
                f"error: --require-measured: {summary['by_measurement']['not_measured']} "
                "invariant(s) not measured: " + ", ".join(summary["not_measured"]),
                err=True,
            )
        raise SystemExit(1)


def status_word(result: InvariantResult) -> str:
    """The status a reader sees: ``unmeasured`` for a result that measured nothing."""
    return result.status if result.measured else "unmeasured"


def summary_line(summary: dict[str, Any]) -> str:
    """``5 invariants: 2 satisfied, 0 approaching, 1 violated, 2 not measured``."""
    counts = summary["by_status"]
    return (
        f"{summary['total']} invariants: {counts['satisfied']} satisfied, "
        f"{counts['approaching']} approaching, {counts['violated']} violated, "
        f"{summary['by_measurement']['not_measured']} not measured"
    )


def register(group: click.Group) -> None:
    """Add this module's commands to the ``nomo`` group."""
    group.add_command(evaluate_command)
