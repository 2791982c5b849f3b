"""Shared output helpers for CLI commands: JSON printing and input errors (exit 1)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Human-readable text, or JSON for build pipelines.",
)


def print_json(value: Any) -> None:
    """Print a JSON document to stdout, keys in a stable order."""
    click.echo(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False))


def fail_input(message: str) -> NoReturn:
    """Report a problem in the user's input on stderr and exit 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def read_json_file(path: Path, what: str) -> Any:
    """Read a JSON file; a missing or malformed file is an input problem (exit 1)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail_input(f"cannot read {what} {path}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail_input(
            f"{path}: {what} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start}); JSON files are UTF-8"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail_input(f"{path}:{exc.lineno}:{exc.colno}: {what} is not valid JSON: {exc.msg}")
