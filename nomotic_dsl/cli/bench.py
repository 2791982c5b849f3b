"""``nomo bench``: the benchmarks against their hand-written floors, for an installed user.

Input: options. Output: the tables on stdout, the JSON report written to
``--output``. Stage: shell over ``nomotic_dsl.bench``. The HTTP load
benchmark needs a checkout (``python -m bench --load``).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("bench")
@click.option(
    "--quick", is_flag=True, help="Small sizes: a smoke run in seconds (targets not judged)."
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("nomo-bench.json"),
    show_default=True,
    help="Where to write the JSON report.",
)
@click.option(
    "--flink",
    is_flag=True,
    help="Also the Flink engine against the local one (three Flink jobs; the flink extra).",
)
def bench_command(quick: bool, output: Path, flink: bool) -> None:
    """Measure generated evaluators, monitors, nomo run, compiling and bundle loading, each
    beside its hand-written floor, and print the ratios (see docs/benchmarks.md).
    """
    from nomotic_dsl.bench.run import main

    main(
        [*(["--quick"] if quick else []), *(["--flink"] if flink else []), "--output", str(output)]
    )


def register(group: click.Group) -> None:
    """Add ``bench`` to the ``nomo`` group."""
    group.add_command(bench_command)
