"""The ``nomo`` program: one click group, with command groups registered per area.

Each area of the product owns one module under ``nomotic_dsl.cli`` that
defines its commands; this module only assembles them. Exit codes follow the
project rule: 0 ok, 1 problems in the input, 2 misuse of the tool (click's
usage errors already exit 2).

A command's module is imported when that command runs (or ``nomo --help``
lists it), not before: ``nomo run`` of a sealed bundle never imports the
compiler, the language server or the HTTP stack. ``COMMANDS`` names each
command's module; a test checks it against what every module registers.
"""

from __future__ import annotations

import importlib

import click

from nomotic_dsl._version import __version__

# Command name -> the module that defines it (``register(group: click.Group) -> None``).
# Order is the order commands are listed in ``nomo --help``.
COMMANDS: dict[str, str] = {
    "check": "nomotic_dsl.cli.language",
    "fmt": "nomotic_dsl.cli.language",
    "compile": "nomotic_dsl.cli.language",
    "explain": "nomotic_dsl.cli.language",
    "evaluate": "nomotic_dsl.cli.invariants",
    "serve": "nomotic_dsl.cli.serve",
    "contract": "nomotic_dsl.cli.contracts",
    "keygen": "nomotic_dsl.cli.bundles",
    "build": "nomotic_dsl.cli.bundles",
    "verify": "nomotic_dsl.cli.bundles",
    "inspect": "nomotic_dsl.cli.bundles",
    "lsp": "nomotic_dsl.cli.editor",
    "run": "nomotic_dsl.cli.fleet",
    "log": "nomotic_dsl.cli.fleet",
    "bench": "nomotic_dsl.cli.bench",
    "test": "nomotic_dsl.cli.testing",
    "diff": "nomotic_dsl.cli.diff",
    "report": "nomotic_dsl.cli.report",
    "init": "nomotic_dsl.cli.init",
}
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


def registered_commands(module_name: str) -> dict[str, click.Command]:
    """The commands ``module_name`` registers, by name (its module imported now)."""
    group = click.Group()
    importlib.import_module(module_name).register(group)
    return dict(group.commands)


class _LazyGroup(click.Group):
    """A group whose commands are imported from ``COMMANDS`` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module_name = COMMANDS.get(cmd_name)
            if module_name is None:
                return None
            self.commands.update(registered_commands(module_name))
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nomo")
def cli() -> None:
    """nomo: write, check, compile, seal and run behavioral policies for AI agents."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="nomo")
