"""``nomo serve``: run the HTTP API under uvicorn.

Input: options and environment (NOMO_API_TOKEN, NOMO_API_SIGNING_KEY, ...).
Output: a running server until interrupted. Stage: shell over
``nomotic_dsl.http.create_app``.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

import click

from nomotic_dsl.cli.output import fail_input
from nomotic_dsl.http.settings import (
    DEFAULT_DB_PATH,
    ApiSettings,
    SettingsError,
    settings_from_env,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@click.command("serve")
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"SQLite contract store (created if missing). [default: NOMO_API_DB or {DEFAULT_DB_PATH}]",
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
def serve_command(db_path: Path | None, host: str, port: int, read_token_required: bool) -> None:
    """Serve the contracts HTTP API (Swagger UI at /docs, OpenAPI document at /openapi.json).

    Writes need `Authorization: Bearer $NOMO_API_TOKEN`; without NOMO_API_TOKEN
    the service is read-only. NOMO_API_SIGNING_KEY names a key file written by
    `nomo keygen` to seal every stored contract; NOMO_API_MAX_BODY_BYTES sets the
    request body limit (default 1 MiB). Configuration errors exit 2; a port
    that is taken, or an address this host does not have, exits 1.
    """
    try:
        settings = settings_from_env(db_path=db_path, read_token_required=read_token_required)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    import uvicorn  # the server stack loads only when serving

    from nomotic_dsl.http.app import create_app

    try:
        app = create_app(settings)
    except (sqlite3.Error, OSError) as exc:
        fail_input(f"cannot open the contract store {settings.db_path}: {exc}")
    busy = port_problem(host, port)
    if busy is not None:
        fail_input(busy)
    click.echo(startup_banner(settings, host, port), err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    except SystemExit as exit_:  # uvicorn exits 3 when it cannot start; keep the one rule
        if exit_.code not in (None, 0):
            fail_input(f"the server could not start on {host}:{port} (see the log above)")
        raise


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
        f"nomo serve: http://{host}:{port}  store {settings.db_path}\n"
        f"  writes {writes}; reads {reads}; contracts {sealing}; "
        f"body limit {settings.max_body_bytes} bytes"
    )


def register(group: click.Group) -> None:
    """Add this module's commands to the ``nomo`` group."""
    group.add_command(serve_command)
