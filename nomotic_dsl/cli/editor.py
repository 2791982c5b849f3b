"""``nomo lsp``: the language server for editors, over stdin and stdout.

Input: LSP messages on stdin. Output: LSP messages on stdout until the client
sends ``exit``. Stage: shell over ``nomotic_dsl.lsp.server``. The server needs
the ``lsp`` extra (pygls and lsprotocol); without it the command says how to
install it and exits 2, since the tool cannot be used that way.
"""

from __future__ import annotations

import sys

import click

MISSING_EXTRA = (
    "error: nomo lsp needs the language-server libraries: pip install 'nomotic-dsl[lsp]'"
)


@click.command("lsp")
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk LSP over stdin and stdout (the only transport, and the default).",
)
def lsp_command(stdio: bool) -> None:
    """Run the language server over stdio: diagnostics, hover, completion, formatting,
    definition, references, symbols and semantic tokens for .nomo files.

    Editors start it themselves; see docs/editors.md.
    """
    try:
        from nomotic_dsl.lsp.server import serve
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        click.echo(MISSING_EXTRA, err=True)
        sys.exit(2)
    serve()


def register(group: click.Group) -> None:
    """Add ``lsp`` to the ``nomo`` group."""
    group.add_command(lsp_command)
