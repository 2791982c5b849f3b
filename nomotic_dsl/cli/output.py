"""Shared output helpers for CLI commands: JSON printing, input files, and the exit codes.

The one exit-code rule of every ``nomo`` command (docs/cli.md):

    0  ok
    1  a problem in the input: a policy with errors, a bundle refused, an input
       file that is missing or unreadable, a gate with nothing to check
    2  misuse of the tool: an unknown option, a missing argument (click's usage errors)

Input files are named with ``INPUT_FILE`` (not ``click.Path(exists=True)``,
whose missing-file error is a usage error, exit 2), so a missing one is an
input problem like any other.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from nomotic_dsl.ir.canonical import has_lone_surrogate

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_MISUSE = 2

FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Human-readable text, or JSON for build pipelines.",
)


class InputFile(click.Path):
    """An existing file the command reads; a missing one is an input problem (exit 1)."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(value)
        if not path.exists():
            fail_input(f"cannot read {value}: no such file")
        if path.is_dir():
            fail_input(f"cannot read {value}: it is a directory")
        return super().convert(value, param, ctx)


INPUT_FILE = InputFile()


class InputPath(click.Path):
    """An existing file or folder the command reads; a missing one is an input problem (exit 1)."""

    def __init__(self) -> None:
        super().__init__(path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not Path(value).exists():
            fail_input(f"cannot read {value}: no such file or folder")
        return super().convert(value, param, ctx)


INPUT_PATH = InputPath()


def print_json(value: Any) -> None:
    """Print a JSON document to stdout, keys in a stable order."""
    click.echo(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False))


def fail_input(message: str, document: dict[str, Any] | None = None) -> NoReturn:
    """Report a problem in the user's input and exit 1.

    The message goes to stderr; with ``document`` (commands run with
    ``--format json``) that JSON document goes to stdout as well, so a
    pipeline reading stdout always gets one.
    """
    if document is not None:
        print_json(document)
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INPUT)


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file; a missing, unreadable or undecodable one is an input problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail_input(f"cannot read {what} {path}: {exc.strerror or exc}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail_input(
            f"cannot read {what} {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} "
            f"at offset {exc.start})"
        )


def read_json_file(path: Path, what: str) -> Any:
    """Read a JSON file; a missing, undecodable or malformed file is an input problem (exit 1)."""
    text = read_text_file(path, what)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail_input(f"{path}:{exc.lineno}:{exc.colno}: {what} is not valid JSON: {exc.msg}")
    except RecursionError:
        fail_input(f"{path}: {what} is nested too deeply")
    except ValueError as exc:  # an integer of more digits than Python converts
        fail_input(f"{path}: {what} holds a number that cannot be read: {exc}")
    if has_lone_surrogate(value):
        fail_input(
            f"{path}: {what} holds a string with a lone surrogate (a \\ud800-\\udfff escape "
            "without its pair), which is not Unicode text"
        )
    return value
