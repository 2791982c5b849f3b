"""``nomo contract ...``: generate, show, list, diff, seal and verify stored contracts.

Input: command-line arguments, a ``.nomo`` file or an archetype name, key files
and a contract store (``--db`` or NOMO_DB: an SQLite file, default ``nomo.db``,
or a ``postgresql://`` URL; NOMO_DB_POOL_MIN, NOMO_DB_POOL_MAX and
NOMO_DB_TIMEOUT size and bound a PostgreSQL store's pool). Output: contracts
stored, and text or JSON on stdout. Stage: a thin shell over
``nomotic_dsl.runtime.contracts`` and ``nomotic_dsl.compiler.pipeline``. Exit codes: 0 ok, 1 a
problem in the input (a policy that does not compile, a version conflict, an
unknown agent, a seal that does not verify, a database that cannot be
reached), 2 misuse. A store URL is printed only without its password.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from nomotic_dsl.cli.output import FORMAT_OPTION, fail_input, print_json
from nomotic_dsl.ir import BehavioralContract, ContractError
from nomotic_dsl.ir.agent_id import AgentIdError, normalize_agent_id
from nomotic_dsl.ir.contract import DEFAULT_ARCHETYPE
from nomotic_dsl.runtime import priors
from nomotic_dsl.runtime.bundle.errors import KeyFileError
from nomotic_dsl.runtime.bundle.keys import key_id, load_signing_key, load_verify_key
from nomotic_dsl.runtime.contracts import (
    ContractStore,
    VersionConflict,
    diff_contracts,
    generate_contract,
)
from nomotic_dsl.runtime.contracts.backend import (
    ENV_DB,
    PoolSettings,
    StoreLocation,
    StoreUnavailable,
    is_database_url,
    store_location,
)
from nomotic_dsl.runtime.contracts.diff import describe_change

DEFAULT_DB = "nomo.db"
Command = TypeVar("Command", bound=Callable[..., Any])


class StoreLocationParam(click.ParamType):
    """``--db``: a ``postgresql://`` URL stays text (a Path would fold its ``//``), else a path."""

    name = "PATH|URL"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> StoreLocation:
        if isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value.strip():
            self.fail("give an SQLite file or a postgresql:// URL", param, ctx)
        return store_location(value)


STORE_LOCATION = StoreLocationParam()
DB_OPTION = click.option(
    "--db",
    "db_path",
    type=STORE_LOCATION,
    default=DEFAULT_DB,
    envvar=ENV_DB,
    show_default=True,
    show_envvar=True,
    help="Contract store: an SQLite file (created if missing) or a postgresql:// URL.",
)
VERSION_OPTION = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    default=None,
    help="A stored version instead of the active (latest) one.",
)


class AgentIdParam(click.ParamType):
    """An agent id, normalised and checked by the same rule as the store and the HTTP API."""

    name = "AGENT_ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return normalize_agent_id(value)
        except AgentIdError as exc:
            self.fail(str(exc), param, ctx)


AGENT_ID = AgentIdParam()


def input_errors(command: Command) -> Command:
    """Turn the store's and the contract model's refusals into exit 1 with a message."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ContractError, VersionConflict, KeyFileError, ValueError) as exc:
            fail_input(str(exc))
        except StoreUnavailable as exc:
            fail_input(str(exc))
        except sqlite3.Error as exc:
            fail_input(f"contract store: {exc}")

    return wrapper  # type: ignore[return-value]


def open_store(db_path: StoreLocation, *, create: bool = False) -> ContractStore:
    """The store at ``db_path`` (a file or a URL); an unusable one is an input problem.

    Only commands that store contracts (``generate``) create a missing SQLite
    file; reading one that is not there is an input problem, never a new empty
    file. A PostgreSQL store creates (or migrates) its tables when opened. The
    store is closed when the command ends.
    """
    if is_database_url(db_path):
        try:
            pool = PoolSettings.from_env(os.environ)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        try:
            store = ContractStore(db_path, pool=pool)
        except (StoreUnavailable, sqlite3.Error, ValueError) as exc:
            fail_input(str(exc))
        context = click.get_current_context(silent=True)
        if context is not None:
            context.call_on_close(store.close)
        return store
    path = Path(db_path)
    if not create and not path.is_file():
        fail_input(f"no contract store at {path} (`nomo contract generate` creates one)")
    try:
        return ContractStore(path)
    except sqlite3.Error as exc:
        fail_input(f"cannot open contract store {path}: {exc}")


def stored_contract(store: ContractStore, agent_id: str, version: int | None) -> BehavioralContract:
    """The active contract or one version of it; exit 1 when there is none."""
    found = store.get_active(agent_id) if version is None else store.get_version(agent_id, version)
    if found is None:
        what = "no contract" if version is None else f"no version {version}"
        fail_input(f"agent {agent_id!r} has {what} in the store")
    return found


# ---- rendering ----------------------------------------------------------------------


def _when(timestamp: float) -> str:
    if timestamp == 0.0:
        return "not stamped"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seal_label(contract: BehavioralContract) -> str:
    return (
        f"sealed by {contract.signed_by or 'an unnamed signer'}"
        if contract.is_sealed
        else "unsealed"
    )


def contract_text(contract: BehavioralContract) -> str:
    """A contract as a reader scans it: one field per line."""
    data = contract.to_dict()
    lines = [f"contract {contract.agent_id} v{contract.version} ({_seal_label(contract)})"]
    for name, value in data.items():
        if name in ("signature", "signed_by", "invariants"):
            continue
        shown = _when(value) if name == "created_at" else value
        lines.append(f"  {name}: {shown}")
    lines.append(f"  invariants: {len(contract.invariants)}")
    lines.extend(
        f"    {spec['invariant_id']}: {spec['description'] or spec['type']}"
        for spec in contract.invariants
    )
    return "\n".join(lines)


def history_line(contract: BehavioralContract) -> str:
    """One version in a history listing."""
    return (
        f"v{contract.version}  {_when(contract.created_at)}  {contract.contract_id}  "
        f"{_seal_label(contract)}"
    )


# ---- commands -----------------------------------------------------------------------


@click.group("contract")
def contract_group() -> None:
    """Behavioral contracts: generate, store, inspect, diff, seal and verify them."""


@contract_group.command("generate")
@click.argument("source", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--agent", "agent_id", type=AGENT_ID, default=None, help="Agent id (required without SOURCE)."
)
@click.option("--archetype", default=DEFAULT_ARCHETYPE, show_default=True, help="Archetype prior.")
@click.option(
    "--next-version",
    "next_version",
    is_flag=True,
    help="Store as the agent's next version instead of the version the file declares.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Seal each contract with this secret key file before storing it.",
)
@click.option("--signed-by", default=None, help="Signer name for --key (default: the key id).")
@DB_OPTION
@FORMAT_OPTION
@input_errors
def generate_command(
    source: Path | None,
    agent_id: str | None,
    archetype: str,
    next_version: bool,
    key_path: Path | None,
    signed_by: str | None,
    db_path: StoreLocation,
    output_format: str,
) -> None:
    """Store new contracts: those declared in SOURCE (.nomo), or one for --agent from --archetype."""
    if source is None and agent_id is None:
        raise click.UsageError("give a .nomo SOURCE file, or --agent (with --archetype)")
    if source is None:
        warn_unknown_archetype(archetype)
    drafts = (
        _compiled_contracts(source, agent_id) if source else [_archetype_draft(agent_id, archetype)]
    )
    store = open_store(db_path, create=True)
    seal = _sealer(key_path, signed_by)
    auto = next_version or source is None
    stored = [_store_draft(store, draft, auto, seal) for draft in drafts]
    if output_format == "json":
        print_json([contract.to_dict() for contract in stored])
        return
    for contract in stored:
        click.echo(f"stored {contract.agent_id} {history_line(contract)}")


def warn_unknown_archetype(archetype: str) -> None:
    """A warning (the contract is still made, with no prior) for an archetype the stdlib lacks."""
    known = priors.known_archetypes()
    if archetype in known or priors.get_archetype(archetype) is not None:
        return
    close = difflib.get_close_matches(archetype, known, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else f" (standard ones: {', '.join(known)})"
    click.echo(
        f"warning: `{archetype}` is not a standard archetype, so the contract gets no prior{hint}",
        err=True,
    )


def _archetype_draft(agent_id: str | None, archetype: str) -> BehavioralContract:
    assert agent_id is not None  # checked by the caller: no SOURCE means --agent
    return generate_contract(agent_id, archetype=archetype)


def _compiled_contracts(source: Path, agent_id: str | None) -> list[BehavioralContract]:
    from nomotic_dsl.compiler.diagnostics.render import render_concise
    from nomotic_dsl.compiler.pipeline import compile_file

    if not source.is_file():
        fail_input(f"cannot read {source}: no such file")
    result = compile_file(source)
    if not result.ok:
        for diagnostic in result.diagnostics:
            click.echo(render_concise(diagnostic), err=True)
        fail_input(f"{source} does not compile; no contract stored")
    contracts = [c for c in result.contracts if agent_id is None or c.agent_id == agent_id]
    if not contracts:
        wanted = f" for agent {agent_id!r}" if agent_id else ""
        fail_input(f"{source} declares no contract{wanted}")
    return contracts


def _sealer(
    key_path: Path | None, signed_by: str | None
) -> Callable[[BehavioralContract], BehavioralContract]:
    if key_path is None:
        return lambda contract: contract
    signing_key = load_signing_key(key_path)
    signer = signed_by or f"key:{key_id(signing_key.verify_key)}"
    return lambda contract: contract.seal(signing_key, signer)


def _store_draft(
    store: ContractStore,
    draft: BehavioralContract,
    auto_version: bool,
    seal: Callable[[BehavioralContract], BehavioralContract],
) -> BehavioralContract:
    # Compiled contracts carry no time; the store records when they were issued.
    stamped = draft.created_at or time.time()
    if auto_version:

        def build(version: int) -> BehavioralContract:
            changes: dict[str, Any] = {"version": version, "created_at": stamped}
            if version != draft.version:
                changes["contract_id"] = ""  # a different version gets its own derived id
            return seal(dataclasses.replace(draft, **changes))

        return store.store_next(draft.agent_id, build)
    return store.store(seal(dataclasses.replace(draft, created_at=stamped)))


@contract_group.command("show")
@click.argument("agent_id", type=AGENT_ID)
@VERSION_OPTION
@DB_OPTION
@FORMAT_OPTION
@input_errors
def show_command(
    agent_id: str, version: int | None, db_path: StoreLocation, output_format: str
) -> None:
    """Show the agent's active contract (or --version N)."""
    contract = stored_contract(open_store(db_path), agent_id, version)
    if output_format == "json":
        print_json(contract.to_dict())
    else:
        click.echo(contract_text(contract))


@contract_group.command("history")
@click.argument("agent_id", type=AGENT_ID)
@DB_OPTION
@FORMAT_OPTION
@input_errors
def history_command(agent_id: str, db_path: StoreLocation, output_format: str) -> None:
    """List every stored version of the agent's contract, oldest first."""
    history = open_store(db_path).get_history(agent_id)
    if not history:
        fail_input(f"agent {agent_id!r} has no contract in the store")
    if output_format == "json":
        print_json([contract.to_dict() for contract in history])
        return
    for contract in history:
        click.echo(history_line(contract))


@contract_group.command("diff")
@click.argument("agent_id", type=AGENT_ID)
@click.argument("v1", type=click.IntRange(min=1))
@click.argument("v2", type=click.IntRange(min=1))
@DB_OPTION
@FORMAT_OPTION
@input_errors
def diff_command(
    agent_id: str, v1: int, v2: int, db_path: StoreLocation, output_format: str
) -> None:
    """Show what changed between two versions of the agent's contract."""
    store = open_store(db_path)
    changes = diff_contracts(
        stored_contract(store, agent_id, v1), stored_contract(store, agent_id, v2)
    )
    if output_format == "json":
        print_json({"agent_id": agent_id, "v1": v1, "v2": v2, "changes": changes})
        return
    click.echo(f"{agent_id}: v{v1} -> v{v2}, {len(changes)} field(s) changed")
    for name, change in changes.items():
        click.echo(f"  {describe_change(name, change)}")


@contract_group.command("seal")
@click.argument("agent_id", type=AGENT_ID)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Secret key file written by `nomo keygen` (PREFIX.key).",
)
@click.option("--signed-by", default=None, help="Signer name (default: the key id).")
@VERSION_OPTION
@DB_OPTION
@FORMAT_OPTION
@input_errors
def seal_command(
    agent_id: str,
    key_path: Path,
    signed_by: str | None,
    version: int | None,
    db_path: StoreLocation,
    output_format: str,
) -> None:
    """Seal a stored, unsealed version (the active one unless --version) with an Ed25519 key."""
    store = open_store(db_path)
    contract = stored_contract(store, agent_id, version)
    sealed = store.attach_seal(_sealer(key_path, signed_by)(contract))
    if output_format == "json":
        print_json(sealed.to_dict())
        return
    click.echo(f"sealed {agent_id} v{sealed.version} as {sealed.signed_by}")


@contract_group.command("verify")
@click.argument("agent_id", type=AGENT_ID)
@click.option(
    "--trust",
    "trust_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Public key file (PREFIX.pub) the seal must verify against.",
)
@VERSION_OPTION
@DB_OPTION
@FORMAT_OPTION
@input_errors
def verify_command(
    agent_id: str, trust_path: Path, version: int | None, db_path: StoreLocation, output_format: str
) -> None:
    """Exit 0 when the stored contract's seal verifies with the trusted key, else 1."""
    verify_key = load_verify_key(trust_path)
    contract = stored_contract(open_store(db_path), agent_id, version)
    verdict = {"agent_id": agent_id, "version": contract.version, "signed_by": contract.signed_by}
    as_json = output_format == "json"
    if not contract.is_sealed:
        problem = f"{agent_id} v{contract.version} is not sealed"
        fail_input(problem, {"valid": False, **verdict, "error": problem} if as_json else None)
    if not contract.verify(verify_key):
        problem = f"{agent_id} v{contract.version}: the seal does not verify with {trust_path}"
        fail_input(problem, {"valid": False, **verdict, "error": problem} if as_json else None)
    if as_json:
        print_json({"valid": True, **verdict})
        return
    click.echo(f"{agent_id} v{contract.version}: seal valid ({_seal_label(contract)})")


def register(group: click.Group) -> None:
    """Add ``nomo contract`` to the ``nomo`` program."""
    group.add_command(contract_group)
