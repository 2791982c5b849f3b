"""Options that several commands share: trusted keys, traces, anti-rollback state, pins.

Kept apart from the commands that use them so that a command (``nomo run``)
can take them without importing another command's module and what that
module imports (the compiler, for ``nomo build``).
"""

from __future__ import annotations

from pathlib import Path

import click

from nomotic_dsl.cli.output import INPUT_FILE

TRUST_OPTION = click.option(
    "--trust",
    "trusted",
    multiple=True,
    type=INPUT_FILE,
    help="Public key file (.pub) to trust; repeat to trust several keys.",
)
TRACE_OPTION = click.option(
    "--trace",
    "trace",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON Lines, one observation per line (as `nomo run` reads).",
)
STATE_OPTION = click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Anti-rollback state file: the highest revision accepted per agent and bundle name "
    "(a missing file is refused unless --init-state).",
)
INIT_STATE_OPTION = click.option(
    "--init-state",
    is_flag=True,
    default=False,
    help="First deployment only: a missing --state file counts as empty (run creates it).",
)
EXPECT_AGENT_OPTION = click.option(
    "--expect-agent",
    metavar="AGENT_ID",
    help="Refuse a bundle whose manifest is not for this agent id.",
)
EXPECT_NAME_OPTION = click.option(
    "--expect-name",
    metavar="NAME",
    help="Refuse a bundle whose manifest has another bundle name.",
)
