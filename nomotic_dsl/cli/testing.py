"""``nomo test``: policy unit tests, replayed through the fleet runtime.

Input: paths of ``.nomotest`` files (directories are searched for them; a
``.nomo`` file names its sidecar test file). Output: a report like pytest's
(text), a JSON document, or JUnit XML; ``--coverage`` adds which invariants
the tests drove to approaching and to violated, whether their windows
filled, and which no test names. Exit codes: 0 every test passed, 1 a test
failed or a file could not be read or run (errors name file and line), or
no test was found; 2 misuse. Stage: CLI shell over ``nomotic_dsl.policytest``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nomotic_dsl.cli.output import fail_input
from nomotic_dsl.policytest.coverage import coverage
from nomotic_dsl.policytest.render import render_json, render_junit, render_text
from nomotic_dsl.policytest.runner import run_paths


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="text: like pytest (FAILED lines, then `N passed, M failed`); json: one document; "
    "junit: JUnit XML for CI test reports.",
)
@click.option(
    "--coverage",
    "with_coverage",
    is_flag=True,
    help="Also report, per invariant, whether the tests drove it to approaching and to "
    "violated, whether its window filled, and the invariants no test names.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write JUnit XML to this file (with any --format).",
)
def test_command(
    paths: tuple[Path, ...], output_format: str, with_coverage: bool, junit_path: Path | None
) -> None:
    """Run the policy tests in PATHS (.nomotest files, or folders searched for them).

    Each test replays its observations through the same fleet runtime and
    generated evaluators as `nomo run`, then checks its expectations. Exits
    0 when every test passed, 1 when one failed or a file had a problem.
    """
    run = run_paths(paths)
    table = coverage(run) if with_coverage else None
    if output_format == "json":
        click.echo(render_json(run, table))
    elif output_format == "junit":
        click.echo(render_junit(run), nl=False)
    else:
        click.echo(render_text(run, table))
    if junit_path is not None:
        try:
            junit_path.write_text(render_junit(run), encoding="utf-8")
        except OSError as exc:
            fail_input(f"cannot write {junit_path}: {exc.strerror or exc}")
    if not run.ok:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``test`` to the ``nomo`` group."""
    group.add_command(test_command)
