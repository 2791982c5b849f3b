"""`nomo lsp` is a command of the program; without its extra it says how to get it."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from nomotic_dsl.cli.main import cli

WITHOUT_PYGLS = (
    "import sys; sys.modules['pygls'] = None\n"
    "from nomotic_dsl.cli.main import main\n"
    "sys.argv = ['nomo', 'lsp']\n"
    "main()\n"
)


def test_lsp_is_listed_and_documented() -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["--help"])
    assert listed.exit_code == 0 and "lsp" in listed.output
    helped = runner.invoke(cli, ["lsp", "--help"])
    assert helped.exit_code == 0 and "docs/editors.md" in helped.output


def test_without_the_extra_it_exits_2_saying_what_to_install() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PYGLS], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "pip install 'nomotic-dsl[lsp]'" in done.stderr
    assert "Traceback" not in done.stderr
