"""``nomo serve``: run the HTTP API under uvicorn.

Input: options and environment (NOMO_API_TOKEN, NOMO_API_SIGNING_KEY, ...).
Output: a running server until interrupted. Stage: shell over
``nomotic_dsl.http.create_app``.
"""

from __future__ import annotations

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
MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_SECONDS = 5


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
    """Serve the contracts HTTP API (OpenAPI document at /docs).

    Writes need `Authorization: Bearer $NOMO_API_TOKEN`; without NOMO_API_TOKEN
    the service is read-only. NOMO_API_SIGNING_KEY names a key file written by
    `nomo keygen` to seal every stored contract; NOMO_API_MAX_BODY_BYTES sets the
    request body limit (default 1 MiB); NOMO_API_HEADER_TIMEOUT and
    NOMO_API_BODY_TIMEOUT the seconds a client has to send its request head and
    body (10, 20); NOMO_API_MAX_CONCURRENT_CHECKS the compiles at once (the
    number of CPUs). Configuration errors exit 2.
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
    from nomotic_dsl.http.limits import header_timeout_protocol

    click.echo(startup_banner(settings, host, port), err=True)
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


def startup_banner(settings: ApiSettings, host: str, port: int) -> str:
    """What the operator needs to know at start-up; never the token or the key."""
    writes = "enabled (bearer token)" if settings.write_token else "disabled (NOMO_API_TOKEN unset)"
    reads = "bearer token required" if settings.read_token_required else "open"
    sealing = f"sealed as {settings.signer}" if settings.signing_key else "not sealed"
    return (
        f"nomo serve: http://{host}:{port}  store {settings.db_path}\n"
        f"  writes {writes}; reads {reads}; contracts {sealing}; "
        f"body limit {settings.max_body_bytes} bytes\n"
        f"  request head within {settings.header_timeout:g} s, body within "
        f"{settings.body_timeout:g} s; at most {settings.max_concurrent_checks} compiles at once"
    )


def register(group: click.Group) -> None:
    """Add this module's commands to the ``nomo`` group."""
    group.add_command(serve_command)
