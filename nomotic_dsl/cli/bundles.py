"""``nomo keygen | build | verify | inspect``: the sealed-bundle commands (``run`` is in ``fleet``).

Input: command-line arguments. Output: key files, bundle files, reports on
stdout, reasons on stderr, exit codes (0 ok, 1 refused or problems in the
input, 2 misuse). Stage: CLI shell over ``nomotic_dsl.runtime.bundle``; commands only
parse arguments, call the bundle API and render.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from nomotic_dsl.cli.options import (
    EXPECT_AGENT_OPTION,
    EXPECT_NAME_OPTION,
    INIT_STATE_OPTION,
    STATE_OPTION,
    TRUST_OPTION,
)
from nomotic_dsl.cli.output import (
    FORMAT_OPTION,
    INPUT_FILE,
    INPUT_PATH,
    fail_input,
    print_json,
)
from nomotic_dsl.compiler.diagnostics import render, to_json
from nomotic_dsl.compiler.pipeline import build_bundle, compile_path, folder_bundle_name
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.inspect import describe_bundle, render_description
from nomotic_dsl.runtime.bundle.keys import write_key_pair
from nomotic_dsl.runtime.bundle.loader import verify_bundle
from nomotic_dsl.runtime.bundle.rollback import RollbackState

# A missing input file is an input problem (exit 1), not misuse: see cli/output.py.
_EXISTING_FILE = INPUT_FILE
_EXISTING_POLICY = INPUT_PATH


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
@click.argument("policy", type=_EXISTING_POLICY)
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
    """Compile POLICY (a .nomo file, or a folder of them) and seal it into a bundle at OUTPUT.

    Every contract the policy declares is sealed, each with its own generated
    evaluator; --agent seals only that agent's contract. Refuses (exit 1) a
    policy with errors, a policy that checks nothing (unless --allow-empty), and
    a validity window that is empty or already over. With --format json,
    prints one document: the bundle written, or why not.
    """
    as_json = output_format == "json"
    result = compile_path(policy)
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
            name=name or (folder_bundle_name(policy) if policy.is_dir() else None),
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
                "agents": described["agents"],
                "revision": described["revision"],
                "validity": described["validity"],
                "invariants": sum(len(policy["invariants"]) for policy in described["policies"]),
                "diagnostics": diagnostics,
            }
        )
        return
    click.echo(f"wrote {output} ({len(data)} bytes, revision {revision})", err=True)


@click.command("verify")
@click.argument("bundle", type=_EXISTING_FILE)
@TRUST_OPTION
@STATE_OPTION
@INIT_STATE_OPTION
@EXPECT_AGENT_OPTION
@EXPECT_NAME_OPTION
@FORMAT_OPTION
def verify_command(
    bundle: Path,
    trusted: Sequence[Path],
    state_path: Path | None,
    init_state: bool,
    expect_agent: str | None,
    expect_name: str | None,
    output_format: str,
) -> None:
    """Check BUNDLE without running it: exit 0 valid, 1 refused (reason on stderr).

    With --state, also check that the revision does not go back (the state is
    only read, never updated, by verify; with --init-state a missing state file
    counts as empty). With --format json, prints {"valid", "bundle", "name",
    "agent_id", "agents", "revision", "signed_by"} or {"valid": false, "error"}.
    """
    if not trusted:
        raise click.UsageError("give at least one --trust PUBLIC_KEY_FILE")
    if init_state and state_path is None:
        raise click.UsageError("--init-state needs --state PATH")
    as_json = output_format == "json"
    try:
        verified = verify_bundle(
            bundle, list(trusted), expect_agent=expect_agent, expect_name=expect_name
        )
        if state_path is not None:
            RollbackState(state_path, create=init_state).check(verified.manifest)
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
                "agent_id": manifest.agent_id,
                "agents": list(manifest.agents),
                "revision": manifest.revision,
                "signed_by": list(verified.verified_key_ids),
            }
        )
        return
    agent = f" for agent {manifest.agent_id}" if manifest.agent_id is not None else ""
    click.echo(
        f"{bundle}: valid: {manifest.name} revision {manifest.revision}{agent}, "
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


def _show_diagnostics(result: Any, output_format: str, *, err: bool = False) -> None:
    rendered = render(
        result.diagnostics, "json" if output_format == "json" else "full", result.sources
    )
    click.echo(rendered, err=err or output_format != "json")


def register(group: click.Group) -> None:
    """Add the bundle commands to the ``nomo`` group."""
    for command in (keygen_command, build_command, verify_command, inspect_command):
        group.add_command(command)
