"""``nomo init [DIR]``: a policy, its tests and a CI workflow in an empty folder.

Input: a folder (created when missing; the current one by default) and the
agent id of the contract. Output: ``policy.nomo``, ``policy.nomotest`` and
``.github/workflows/nomo.yml``, each reported as written. Exit codes: 0
written; 1 the folder is not empty (nothing written; ``--force`` writes
anyway, replacing only those three files) or cannot be written; 2 misuse.
Stage: CLI shell over ``nomotic_dsl.scaffold``.
"""

from __future__ import annotations

from pathlib import Path

import click

from nomotic_dsl.cli.output import fail_input
from nomotic_dsl.scaffold import scaffold


@click.command("init")
@click.argument("folder", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--agent", default="my-agent", show_default=True, help="The contract's agent id.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
def init_command(folder: Path, agent: str, force: bool) -> None:
    """Scaffold a policy, its tests and a GitHub Actions workflow in FOLDER (empty)."""
    try:
        files = scaffold(agent)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--agent") from None
    if folder.exists() and not folder.is_dir():
        fail_input(f"{folder} is a file, not a folder")
    if folder.is_dir() and not force:
        present = sorted(entry.name for entry in folder.iterdir())
        if present:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            fail_input(
                f"{folder} is not empty ({shown}): nothing was written; "
                "use --force to write the scaffold into it anyway"
            )
    try:
        for name, text in files:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            click.echo(f"wrote {path}")
    except OSError as exc:
        fail_input(f"cannot write into {folder}: {exc.strerror or exc}")
    click.echo(f"next: cd {folder} && nomo check . && nomo test .")


def register(group: click.Group) -> None:
    """Add ``init`` to the ``nomo`` group."""
    group.add_command(init_command)
