"""``nomo serve``: run the HTTP API under uvicorn.

Input: options and environment (NOMO_API_TOKEN, NOMO_API_SIGNING_KEY, NOMO_DB,
...). Output: a running server until interrupted. Stage: shell over
``nomotic_dsl.http.create_app``.

A PostgreSQL store is reached (and migrated) before the server listens; when
its database is down the server starts all the same, says so in one line, and
answers 503 until the database is back. A store that can never work (an
SQLite file that cannot be opened, a schema newer than this version, no
psycopg) exits 1. The store URL is printed only without its password.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

import click

from nomotic_dsl.cli.contracts import STORE_LOCATION
from nomotic_dsl.cli.output import INPUT_FILE, fail_input
from nomotic_dsl.http.settings import (
    DEFAULT_DB_PATH,
    ApiSettings,
    SettingsError,
    settings_from_env,
)
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.loader import load_bundle
from nomotic_dsl.runtime.contracts.backend import StoreLocation, StoreUnavailable
from nomotic_dsl.runtime.contracts.store import ContractStore
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime

DEFAULT_HOST = "127.0.0.1"
# A server runs for long: agent state is released after a day of silence, and
# at most this many agent ids are held.
DEFAULT_AGENT_IDLE = 86_400.0
DEFAULT_MAX_AGENTS = 100_000
DEFAULT_PORT = 8000
MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_SECONDS = 5


@click.command("serve")
@click.option(
    "--db",
    "db_path",
    type=STORE_LOCATION,
    default=None,
    help="Contract store: an SQLite file (created if missing) or a postgresql:// URL. "
    f"[default: NOMO_API_DB, else NOMO_DB, else {DEFAULT_DB_PATH}]",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port to listen on.",
)
@click.option(
    "--read-token-required",
    is_flag=True,
    default=False,
    help="Require the bearer token for reads too (also NOMO_API_READ_TOKEN_REQUIRED=1).",
)
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=INPUT_FILE,
    help="A sealed bundle whose contracts POST /v1/observations enforces (repeatable).",
)
@click.option(
    "--trust",
    "trusted",
    multiple=True,
    type=INPUT_FILE,
    help="Public key file to verify the bundles with (repeatable).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Anti-rollback state file for the bundles (a missing file is refused unless "
    "--init-state).",
)
@click.option(
    "--init-state",
    is_flag=True,
    default=False,
    help="First deployment only: a missing --state file counts as empty (serve creates it).",
)
@click.option(
    "--agent-idle",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_AGENT_IDLE,
    show_default=True,
    help="Seconds (trace time) after which a silent agent starts afresh and is released.",
)
@click.option(
    "--session-idle",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds after which a silent session is released inside each monitor.",
)
@click.option(
    "--max-agents",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_AGENTS,
    show_default=True,
    help="At most this many agent ids are governed; more get error decisions.",
)
def serve_command(
    db_path: StoreLocation | None,
    host: str,
    port: int,
    read_token_required: bool,
    bundles: tuple[Path, ...],
    trusted: tuple[Path, ...],
    state_path: Path | None,
    init_state: bool,
    agent_idle: float,
    session_idle: float | None,
    max_agents: int,
) -> None:
    """Serve the contracts HTTP API (Swagger UI at /docs, OpenAPI document at /openapi.json).

    Writes need `Authorization: Bearer $NOMO_API_TOKEN`; without NOMO_API_TOKEN
    the service is read-only. NOMO_API_SIGNING_KEY names a key file written by
    `nomo keygen` to seal every stored contract; NOMO_API_MAX_BODY_BYTES sets the
    request body limit (default 1 MiB); NOMO_API_HEADER_TIMEOUT and
    NOMO_API_BODY_TIMEOUT the seconds a client has to send its request head and
    body (10, 20); NOMO_API_MAX_CONCURRENT_CHECKS the compiles at once (the
    number of CPUs). With --bundle (and --trust), POST /v1/observations governs
    agents with the bundles' contracts; a bundle that fails verification stops
    the server before it starts (exit 1). Configuration errors exit 2; a port
    that is taken, or an address this host does not have, exits 1.
    """
    try:
        settings = settings_from_env(db_path=db_path, read_token_required=read_token_required)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    if bundles and not trusted:
        raise click.UsageError("--bundle needs --trust PUBLIC_KEY_FILE")
    if init_state and state_path is None:
        raise click.UsageError("--init-state needs --state PATH")
    fleet = _fleet(
        bundles,
        trusted,
        state_path,
        init_state,
        FleetConfig(
            agent_idle_seconds=agent_idle,
            session_idle_seconds=session_idle,
            max_agents=max_agents,
        ),
    )
    import uvicorn  # the server stack loads only when serving

    from nomotic_dsl.http.app import create_app

    store = open_served_store(settings)
    app = create_app(settings, fleet=fleet, store=store)
    from nomotic_dsl.http.limits import header_timeout_protocol

    busy = port_problem(host, port)
    if busy is not None:
        fail_input(busy)
    click.echo(startup_banner(settings, host, port), err=True)
    if fleet is not None:
        click.echo(
            f"  governing {len(fleet.agents) or 'every'} agent(s) of {len(bundles)} bundle(s) "
            f"({fleet.digest[:16]}...)",
            err=True,
        )
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            # h11 with a request-head deadline (uvicorn has none); the body deadline is
            # enforced in the app. Headers are capped at MAX_HEADER_BYTES in all.
            http=header_timeout_protocol(settings.header_timeout),
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    except SystemExit as exit_:  # uvicorn exits 3 when it cannot start; keep the one rule
        if exit_.code not in (None, 0):
            fail_input(f"the server could not start on {host}:{port} (see the log above)")
        raise


def _fleet(
    bundles: tuple[Path, ...],
    trusted: tuple[Path, ...],
    state_path: Path | None,
    init_state: bool,
    config: FleetConfig,
) -> FleetRuntime | None:
    """The fleet runtime of the verified bundles (None without any); exit 1 when one is refused."""
    if not bundles:
        return None
    loaded = []
    for path in bundles:
        try:
            loaded.append(
                load_bundle(
                    path, list(trusted), rollback=state_path, initialise_rollback=init_state
                )
            )
        except BundleError as exc:
            fail_input(f"{path}: refused: {exc}")
    try:
        return FleetRuntime.from_bundles(loaded, config)
    except ValueError as exc:
        fail_input(str(exc))


def open_served_store(settings: ApiSettings) -> ContractStore:
    """The store to serve, reached now if it can be; exit 1 when it can never work."""
    try:
        store = ContractStore(settings.db_path, pool=settings.pool, lazy=True)
    except StoreUnavailable as exc:  # PostgreSQL support not installed
        fail_input(str(exc))
    except (sqlite3.Error, OSError, ValueError) as exc:
        fail_input(f"cannot open the contract store {settings.store_label}: {exc}")
    try:
        store.connect()
    except StoreUnavailable as exc:
        click.echo(
            f"warning: {exc} (requests that need the store answer 503 until it is reachable)",
            err=True,
        )
    except sqlite3.Error as exc:  # a schema newer than this version knows
        fail_input(str(exc))
    return store


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (taken, not an address here), or None.

    Bound the way uvicorn binds (SO_REUSEADDR) and closed again at once, so a
    busy port is reported in one clear line before the server starts.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            return f"cannot listen on {host}:{port}: {reason}"
    return None


def startup_banner(settings: ApiSettings, host: str, port: int) -> str:
    """What the operator needs to know at start-up; never the token or the key."""
    writes = "enabled (bearer token)" if settings.write_token else "disabled (NOMO_API_TOKEN unset)"
    reads = "bearer token required" if settings.read_token_required else "open"
    sealing = f"sealed as {settings.signer}" if settings.signing_key else "not sealed"
    return (
        f"nomo serve: http://{host}:{port}  store {settings.store_label}\n"
        f"  writes {writes}; reads {reads}; contracts {sealing}; "
        f"body limit {settings.max_body_bytes} bytes\n"
        f"  request head within {settings.header_timeout:g} s, body within "
        f"{settings.body_timeout:g} s; at most {settings.max_concurrent_checks} compiles at once"
    )


def register(group: click.Group) -> None:
    """Add this module's commands to the ``nomo`` group."""
    group.add_command(serve_command)
