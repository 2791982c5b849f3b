"""The ``nomo`` program: one click group, with command groups registered per area.

Each area of the product owns one module under ``nomotic_dsl.cli`` that
defines its commands; this module only assembles them. Exit codes follow the
project rule: 0 ok, 1 problems in the input, 2 misuse of the tool (click's
usage errors already exit 2).
"""

from __future__ import annotations

import importlib

import click

from nomotic_dsl._version import __version__

# Modules that each define ``register(group: click.Group) -> None``. Order is
# the order commands are listed in ``nomo --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "nomotic_dsl.cli.language",
    "nomotic_dsl.cli.invariants",
    "nomotic_dsl.cli.serve",
    "nomotic_dsl.cli.contracts",
    "nomotic_dsl.cli.bundles",
    "nomotic_dsl.cli.editor",
    "nomotic_dsl.cli.fleet",
    "nomotic_dsl.cli.bench",
    "nomotic_dsl.cli.testing",
    "nomotic_dsl.cli.diff",
    "nomotic_dsl.cli.report",
    "nomotic_dsl.cli.init",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nomo")
def cli() -> None:
    """nomo: write, check, compile, seal and run behavioral policies for AI agents."""


for _module_name in COMMAND_MODULES:
    importlib.import_module(_module_name).register(cli)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="nomo")
