"""The ``nomo`` command table: every command is listed once, from the module that defines it."""

from __future__ import annotations

from click.testing import CliRunner

from nomotic_dsl.cli.main import COMMAND_MODULES, COMMANDS, cli, registered_commands


def test_the_table_names_exactly_what_each_module_registers() -> None:
    for module_name in COMMAND_MODULES:
        named = sorted(name for name, module in COMMANDS.items() if module == module_name)
        assert sorted(registered_commands(module_name)) == named, module_name


def test_help_lists_every_command_in_table_order() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [
        line.split()[0]
        for line in result.output.split("Commands:\n", 1)[1].splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert listed == list(COMMANDS)


def test_an_unknown_command_is_misuse() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output
