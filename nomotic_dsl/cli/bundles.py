"""``nomo keygen | build | verify | inspect | run``: the sealed-bundle commands.

Input: command-line arguments. Output: key files, bundle files, reports on
stdout, reasons on stderr, exit codes (0 ok, 1 refused or problems in the
input, 2 misuse). Stage: CLI shell over ``nomotic_dsl.runtime.bundle``; commands only
parse arguments, call the bundle API and render.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from nomotic_dsl.cli.output import FORMAT_OPTION, INPUT_FILE, fail_input, print_json
from nomotic_dsl.compiler.diagnostics import render, to_json
from nomotic_dsl.compiler.pipeline import build_bundle, compile_file, policy_evaluator
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.evaluator import PolicyMonitor
from nomotic_dsl.runtime.bundle.inspect import describe_bundle, render_description
from nomotic_dsl.runtime.bundle.keys import write_key_pair
from nomotic_dsl.runtime.bundle.loader import load_bundle, verify_bundle
from nomotic_dsl.runtime.bundle.replay import ReplayReport, TraceError, replay_trace
from nomotic_dsl.runtime.bundle.rollback import RollbackState
from nomotic_dsl.runtime.bundle.verify import format_time

# A missing input file is an input problem (exit 1), not misuse: see cli/output.py.
_EXISTING_FILE = INPUT_FILE
_PROGRESS_EVERY = 5_000
_PROGRESS_MIN_BYTES = 1_000_000


class UnixTime(click.ParamType):
    """A time given as Unix seconds or as ISO 8601 (``2025-01-31T00:00:00Z``; UTC when no zone)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is neither Unix seconds nor an ISO 8601 time", param, ctx)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())


TRUST_OPTION = click.option(
    "--trust",
    "trusted",
    multiple=True,
    type=_EXISTING_FILE,
    help="Public key file (.pub) to trust; repeat to trust several keys.",
)
STATE_OPTION = click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Anti-rollback state file: the highest revision accepted per bundle.",
)


@click.command("keygen")
@click.argument("prefix", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace existing PREFIX.key / PREFIX.pub.")
@FORMAT_OPTION
def keygen_command(prefix: Path, force: bool, output_format: str) -> None:
    """Write a new Ed25519 key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub."""
    as_json = output_format == "json"
    try:
        files = write_key_pair(prefix, force=force)
    except BundleError as exc:
        fail_input(str(exc), _failure(exc) if as_json else None)
    except OSError as exc:
        message = f"cannot write key files for {prefix}: {exc.strerror or exc}"
        fail_input(message, {"ok": False, "error": message} if as_json else None)
    if as_json:
        print_json(
            {
                "ok": True,
                "secret_key": str(files.secret_path),
                "public_key": str(files.public_path),
                "key_id": files.key_id,
            }
        )
        return
    click.echo(f"wrote {files.secret_path} (secret: keep it private) and {files.public_path}")
    click.echo(f"key id {files.key_id}")


def _failure(exc: Exception | str, **extra: Any) -> dict[str, Any]:
    """The JSON document a command prints on stdout when it refuses its input."""
    return {"ok": False, "error": str(exc), **extra}


@click.command("build")
@click.argument("policy", type=_EXISTING_FILE)
@click.option(
    "--key",
    "keys",
    multiple=True,
    required=True,
    type=_EXISTING_FILE,
    help="Secret key file (.key); repeat to sign with several keys (rotation).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the bundle.",
)
@click.option(
    "--revision",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Revision number; runtimes refuse a lower one than they accepted.",
)
@click.option("--not-before", type=UnixTime(), help="Start of validity (Unix seconds or ISO 8601).")
@click.option("--expires", type=UnixTime(), help="End of validity (Unix seconds or ISO 8601).")
@click.option("--agent", help="The contract to seal when the file declares several.")
@click.option("--name", help="Bundle name (default: the contract's agent id, else the file name).")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Build even when the policy has no invariant and no contract (it checks nothing).",
)
@FORMAT_OPTION
def build_command(
    policy: Path,
    keys: Sequence[Path],
    output: Path,
    revision: int,
    not_before: int | None,
    expires: int | None,
    agent: str | None,
    name: str | None,
    allow_empty: bool,
    output_format: str,
) -> None:
    """Compile POLICY (.nomo) and seal it into a signed bundle at OUTPUT.

    Refuses (exit 1) a policy with errors, a policy that checks nothing (unless
    --allow-empty), and a validity window that is empty or already over.
    With --format json, prints one document: the bundle written, or why not.
    """
    as_json = output_format == "json"
    result = compile_file(policy)
    diagnostics = to_json(result.diagnostics)
    if result.diagnostics and not as_json:
        _show_diagnostics(result, output_format, err=True)
    if not result.ok:
        message = f"{policy} has errors; no bundle written"
        fail_input(message, _failure(message, diagnostics=diagnostics) if as_json else None)
    try:
        data = build_bundle(
            result,
            list(keys),
            output,
            revision=revision,
            not_before=not_before,
            expires=expires,
            agent=agent,
            name=name,
            allow_empty=allow_empty,
        )
    except BundleError as exc:
        fail_input(str(exc), _failure(exc, diagnostics=diagnostics) if as_json else None)
    if as_json:
        described = describe_bundle(output)
        print_json(
            {
                "ok": True,
                "bundle": str(output),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "name": described["name"],
                "agent_id": described["agent_id"],
                "revision": described["revision"],
                "validity": described["validity"],
                "invariants": len(described["invariants"]),
                "diagnostics": diagnostics,
            }
        )
        return
    click.echo(f"wrote {output} ({len(data)} bytes, revision {revision})", err=True)


@click.command("verify")
@click.argument("bundle", type=_EXISTING_FILE)
@TRUST_OPTION
@STATE_OPTION
@FORMAT_OPTION
def verify_command(
    bundle: Path, trusted: Sequence[Path], state_path: Path | None, output_format: str
) -> None:
    """Check BUNDLE without running it: exit 0 valid, 1 refused (reason on stderr).

    With --state, also check that the revision does not go back (the state is
    only read, never updated, by verify). With --format json, prints
    {"valid", "bundle", "name", "revision", "signed_by"} or {"valid": false, "error"}.
    """
    if not trusted:
        raise click.UsageError("give at least one --trust PUBLIC_KEY_FILE")
    as_json = output_format == "json"
    try:
        verified = verify_bundle(bundle, list(trusted))
        if state_path is not None:
            RollbackState(state_path).check(verified.manifest)
    except BundleError as exc:
        refusal = {"valid": False, "bundle": str(bundle), "error": str(exc)}
        fail_input(f"{bundle}: refused: {exc}", refusal if as_json else None)
    manifest = verified.manifest
    if as_json:
        print_json(
            {
                "valid": True,
                "bundle": str(bundle),
                "name": manifest.name,
                "revision": manifest.revision,
                "signed_by": list(verified.verified_key_ids),
            }
        )
        return
    click.echo(
        f"{bundle}: valid: {manifest.name} revision {manifest.revision}, "
        f"signed by {', '.join(verified.verified_key_ids)}"
    )


@click.command("inspect")
@click.argument("bundle", type=_EXISTING_FILE)
@TRUST_OPTION
@FORMAT_OPTION
def inspect_command(bundle: Path, trusted: Sequence[Path], output_format: str) -> None:
    """Show what BUNDLE holds, without running any of it.

    The archive and every digest are checked; with --trust, each signature is
    reported as verified or not.
    """
    try:
        description = describe_bundle(bundle, list(trusted))
    except BundleError as exc:
        fail_input(f"{bundle}: {exc}")
    if output_format == "json":
        print_json(description)
    else:
        click.echo(render_description(description))


@click.command("run")
@click.argument("target", metavar="BUNDLE_OR_FILE", type=_EXISTING_FILE)
@click.option(
    "--trace",
    "trace",
    required=True,
    type=_EXISTING_FILE,
    help="JSON Lines file, one observation per line, oldest first.",
)
@TRUST_OPTION
@STATE_OPTION
@FORMAT_OPTION
def run_command(
    target: Path, trace: Path, trusted: Sequence[Path], state_path: Path | None, output_format: str
) -> None:
    """Replay TRACE through the monitor of a bundle (or of a .nomo file, compiled here).

    Reports each violation (an invariant becoming violated) with its time and
    detail. Exits 1 when any invariant was violated or the input is invalid.
    """
    monitor = _monitor_for(target, trusted, state_path, output_format)
    try:
        report = replay_trace(trace, monitor, _progress_reporter(trace))
    except TraceError as exc:
        _end_progress(trace)
        fail_input(str(exc))
    _end_progress(trace)
    if output_format == "json":
        print_json(report.to_dict())
    else:
        click.echo(_render_report(report))
    if report.violations:
        sys.exit(1)


def _monitor_for(
    target: Path, trusted: Sequence[Path], state_path: Path | None, output_format: str
) -> PolicyMonitor:
    if target.suffix == ".nomo":
        result = compile_file(target)
        if result.diagnostics:
            _show_diagnostics(result, output_format, err=True)
        if not result.ok:
            sys.exit(1)
        try:
            monitor: PolicyMonitor = policy_evaluator(result).Monitor()
            return monitor
        except BundleError as exc:
            fail_input(f"{target}: {exc}")
    if not trusted:
        raise click.UsageError("running a bundle needs --trust PUBLIC_KEY_FILE")
    try:
        return load_bundle(target, list(trusted), rollback=state_path).monitor()
    except BundleError as exc:
        fail_input(f"{target}: refused: {exc}")


def _show_diagnostics(result: Any, output_format: str, *, err: bool = False) -> None:
    rendered = render(
        result.diagnostics, "json" if output_format == "json" else "full", result.sources
    )
    click.echo(rendered, err=err or output_format != "json")


def _render_report(report: ReplayReport) -> str:
    lines = [
        f"{format_time(v.timestamp)}  line {v.line}  {v.invariant_id}: {v.detail}"
        for v in report.violations
    ]
    lines.append(f"{report.observations} observations, {len(report.violations)} violations")
    return "\n".join(lines)


def _progress_reporter(trace: Path) -> Any:
    if not _show_progress(trace):
        return None

    def report(count: int) -> None:
        if count % _PROGRESS_EVERY == 0:
            click.echo(f"\rreplayed {count:,} observations", err=True, nl=False)

    return report


def _end_progress(trace: Path) -> None:
    if _show_progress(trace):
        click.echo("", err=True)


def _show_progress(trace: Path) -> bool:
    return sys.stderr.isatty() and trace.stat().st_size >= _PROGRESS_MIN_BYTES


def register(group: click.Group) -> None:
    """Add the bundle commands to the ``nomo`` group."""
    for command in (keygen_command, build_command, verify_command, inspect_command, run_command):
        group.add_command(command)
