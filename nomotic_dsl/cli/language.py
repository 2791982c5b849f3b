"""``nomo check``, ``fmt``, ``compile`` and ``explain``: the language commands.

Input: command-line arguments naming .nomo files (or directories of them).
Output: diagnostics, formatted files, spec JSON or plain-words explanations.
Stage: a thin shell over ``nomotic_dsl.compiler.pipeline``, ``nomotic_dsl.compiler.fmt`` and
``nomotic_dsl.compiler.explain``. Exit codes: 0 clean, 1 problems in the input (errors
in a policy, a file that cannot be read, a file ``fmt --check`` would change),
2 misuse (no FILE, an unknown option: click's usage errors).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from nomotic_dsl.cli.output import EXIT_INPUT, FORMAT_OPTION, fail_input, print_json
from nomotic_dsl.compiler.ast_dump import dump
from nomotic_dsl.compiler.diagnostics import Diagnostic, make_diagnostic
from nomotic_dsl.compiler.diagnostics.render import (
    DOCUMENT_FORMATS,
    RENDERERS,
    render,
    render_concise,
    to_json,
)
from nomotic_dsl.compiler.explain import explanation_document, render_text
from nomotic_dsl.compiler.fmt import FormatError, format_source
from nomotic_dsl.compiler.pipeline import CompileResult, compile_file, generated_source
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.runtime.bundle.errors import BundleError

POLICY_SUFFIX = ".nomo"

DIAGNOSTIC_FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(RENDERERS)),
    default="full",
    show_default=True,
    help="Diagnostics with source and caret (full), one line each (concise), JSON for build "
    "pipelines, SARIF 2.1.0 for code scanning, or GitHub Actions workflow commands (github).",
)
FILES_ARGUMENT = click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))


# ---- inputs --------------------------------------------------------------------------


def policy_files(paths: Iterable[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The .nomo files named (directories searched recursively, sorted) and what is wrong.

    A path that does not exist, or a directory holding no ``.nomo`` file, is an
    input problem (NMO205), reported like a policy's own errors: checking
    nothing must never look like checking something that passed.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(path.rglob(f"*{POLICY_SUFFIX}"))
            if not inside:
                problems.append(_file_problem(path, "holds no .nomo file: nothing to check"))
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            problems.append(_file_problem(path, "not a regular file"))
        else:
            problems.append(_file_problem(path, "no such file"))
    return found, problems


def _file_problem(path: Path, reason: str) -> Diagnostic:
    message = f"cannot read {path}: {reason}"
    return make_diagnostic(SourceFile(str(path), ""), "NMO205", Span(0, 0), message)


def report_unreadable(problems: Sequence[Diagnostic]) -> None:
    """Each unreadable path on stderr, as an input problem."""
    for problem in problems:
        click.echo(f"error: {problem.message}", err=True)


# ---- diagnostics ----------------------------------------------------------------------


def render_diagnostics(
    diagnostics: Sequence[Diagnostic], output_format: str, sources: Mapping[str, str]
) -> str:
    """Diagnostics in one of the registered formats (``RENDERERS``)."""
    return render(diagnostics, output_format, sources)


def echo_diagnostics(
    diagnostics: Sequence[Diagnostic], output_format: str, sources: Mapping[str, str], err: bool
) -> None:
    """Print diagnostics in the chosen format (nothing when there are none)."""
    if diagnostics:
        click.echo(render_diagnostics(diagnostics, output_format, sources), err=err)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# ---- check --------------------------------------------------------------------------------


@click.command("check")
@FILES_ARGUMENT
@DIAGNOSTIC_FORMAT
def check_command(files: tuple[Path, ...], output_format: str) -> None:
    """Check .nomo FILES (or directories of them) and report every problem found.

    Exits 0 when there are no errors (warnings allowed), 1 when a policy has
    errors, a FILE cannot be read, or a directory holds no .nomo file.
    """
    paths, unreadable = policy_files(files)
    diagnostics: list[Diagnostic] = list(unreadable)
    sources: dict[str, str] = {}
    errors, warnings = len(unreadable), 0
    for path in paths:
        result = compile_file(path)
        diagnostics.extend(result.diagnostics)
        sources.update(result.sources)
        found_errors, found_warnings = result.counts
        errors, warnings = errors + found_errors, warnings + found_warnings
    if output_format == "json":
        print_json(
            {
                "files": [str(path) for path in paths],
                "diagnostics": to_json(diagnostics),
                "errors": errors,
                "warnings": warnings,
            }
        )
    elif output_format in DOCUMENT_FORMATS:
        click.echo(render_diagnostics(diagnostics, output_format, sources))
    else:
        echo_diagnostics(diagnostics, output_format, sources, err=False)
        gap = "\n" if diagnostics and output_format == "full" else ""
        summary = f"{gap}checked {_plural(len(paths), 'file')}: "
        click.echo(summary + f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}")
    if errors:
        sys.exit(EXIT_INPUT)


# ---- fmt -----------------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path``'s content all at once: a reader sees the old file or the new one."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class Formatted:
    """What ``fmt`` did to one file: its status and the diagnostics when it could not."""

    path: Path
    status: str  # unchanged, reformatted, would_reformat or error
    diagnostics: tuple[Diagnostic, ...] = ()
    text: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-clean form."""
        return {
            "file": str(self.path),
            "status": self.status,
            "diagnostics": to_json(self.diagnostics),
        }


def format_one(path: Path, check: bool) -> Formatted:
    """Format one file (or, with ``check``, only say whether it would change)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return Formatted(path, "error", tuple(compile_file(path).diagnostics))
    try:
        formatted = format_source(text, str(path))
    except FormatError as exc:
        return Formatted(path, "error", exc.diagnostics, text)
    if formatted == text:
        return Formatted(path, "unchanged")
    if not check:
        write_atomically(path, formatted)
    return Formatted(path, "would_reformat" if check else "reformatted")


_FMT_WORDS = {"would_reformat": "would reformat", "reformatted": "reformatted"}


@click.command("fmt")
@FILES_ARGUMENT
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 if a file would be reformatted."
)
@FORMAT_OPTION
def fmt_command(files: tuple[Path, ...], check: bool, output_format: str) -> None:
    """Rewrite .nomo FILES (or directories of them) in canonical layout.

    Use FILE `-` to format standard input to standard output. With --check,
    lists the files that would change and exits 1 if there are any. A file
    that does not parse is reported and left untouched (exit 1).
    """
    if files == (Path("-"),):
        _format_stdin()
        return
    paths, unreadable = policy_files(files)
    outcomes = [format_one(path, check) for path in paths]
    if output_format == "json":
        print_json(
            {
                "files": [outcome.to_dict() for outcome in outcomes],
                "diagnostics": to_json(unreadable),
                "changed": sum(1 for o in outcomes if o.status in _FMT_WORDS),
                "errors": len(unreadable) + sum(1 for o in outcomes if o.status == "error"),
            }
        )
    else:
        report_unreadable(unreadable)
        for outcome in outcomes:
            if outcome.status in _FMT_WORDS:
                click.echo(f"{_FMT_WORDS[outcome.status]} {outcome.path}")
            elif outcome.status == "error":
                sources = {str(outcome.path): outcome.text}
                echo_diagnostics(outcome.diagnostics, "full", sources, err=True)
    failed = unreadable or any(outcome.status == "error" for outcome in outcomes)
    if failed or (check and any(outcome.status == "would_reformat" for outcome in outcomes)):
        sys.exit(EXIT_INPUT)


def _format_stdin() -> None:
    try:
        click.echo(format_source(sys.stdin.read(), "<stdin>"), nl=False)
    except FormatError as exc:
        click.echo("\n".join(render_concise(item) for item in exc.diagnostics), err=True)
        sys.exit(EXIT_INPUT)
    except UnicodeDecodeError as exc:
        fail_input(f"standard input is not UTF-8 text ({exc.reason})")


# ---- compile and explain ------------------------------------------------------------------------


def compile_or_exit(file: Path, output_format: str) -> CompileResult:
    """Compile FILE; diagnostics go to stderr; exit 1 when it cannot be read or has errors."""
    result = compile_file(file)
    echo_diagnostics(result.diagnostics, output_format, result.sources, err=True)
    if not result.ok:
        sys.exit(EXIT_INPUT)
    return result


@click.command("compile")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--emit",
    type=click.Choice(["specs", "ast", "python"]),
    default="specs",
    show_default=True,
    help="Which stage's output to print: the spec IR as JSON, the AST of each file, "
    "or the generated evaluator module.",
)
@click.option("--agent", help="With --emit python: the contract to generate for.")
@DIAGNOSTIC_FORMAT
def compile_command(file: Path, emit: str, agent: str | None, output_format: str) -> None:
    """Compile FILE and print one stage's output on stdout (the spec IR as JSON by default).

    Diagnostics go to stderr (--format chooses how); exits 1 on errors, with
    nothing on stdout.
    """
    result = compile_or_exit(file, output_format)
    if emit == "specs":
        print_json(result.to_json())
    elif emit == "ast":
        click.echo(ast_document(result), nl=False)
    else:
        try:
            click.echo(generated_source(result, agent), nl=False)
        except BundleError as exc:
            fail_input(str(exc))


def ast_document(result: CompileResult) -> str:
    """The AST dump of every file the compilation read, each under a ``# file`` header."""
    assert result.program is not None
    parts = [
        f"# {loaded.source.name}\n{dump(loaded.module)}"
        for loaded in result.program.loaded.files
        if loaded.module is not None
    ]
    return "\n".join(parts)


@click.command("explain")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Plain sentences, or JSON (diagnostics, on errors, go to stderr as JSON too).",
)
@click.option("--trace", type=click.Path(path_type=Path, dir_okay=False), help="With --verdict.")
@click.option(
    "--verdict",
    "verdict_line",
    type=click.IntRange(min=1),
    help="Explain the violations after this line of --trace (FILE may then be a bundle).",
)
@click.option("--invariant", help="With --verdict: only this invariant.")
@click.option("--trust", "trusted", multiple=True, type=click.Path(path_type=Path, exists=True))
def explain_command(
    file: Path,
    output_format: str,
    trace: Path | None,
    verdict_line: int | None,
    invariant: str | None,
    trusted: tuple[Path, ...],
) -> None:
    """Explain each rule and contract in FILE in plain words, for compliance readers.

    With --trace and --verdict LINE: why the invariants violated after that
    line of the trace were violated (the window, the actions that drove it).
    """
    if verdict_line is not None:
        from nomotic_dsl.cli.report import explain_verdict_command

        explain_verdict_command(file, trace, verdict_line, invariant, trusted, output_format)
    result = compile_or_exit(file, "json" if output_format == "json" else "full")
    if output_format == "json":
        print_json(explanation_document(result.invariants, result.contracts))
    else:
        click.echo(render_text(result.invariants, result.contracts))


def register(group: click.Group) -> None:
    """Add the language commands to the ``nomo`` group."""
    for command in (check_command, fmt_command, compile_command, explain_command):
        group.add_command(command)
