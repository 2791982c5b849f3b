"""`nomo serve`: options reach the server, configuration errors exit 2, the token is never shown."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from api_helpers import TOKEN
from click.testing import CliRunner
from postgres_db import require_psycopg

from nomotic_dsl.cli.main import cli
from nomotic_dsl.http.models import InvariantType, Operator
from nomotic_dsl.ir.spec import INVARIANT_TYPES, OPERATORS


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls to uvicorn.run, recorded instead of serving."""
    calls: list[dict[str, Any]] = []

    def record(app: Any, **options: Any) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr(uvicorn, "run", record)
    for name in (
        "NOMO_API_TOKEN",
        "NOMO_API_READ_TOKEN_REQUIRED",
        "NOMO_API_SIGNING_KEY",
        "NOMO_API_MAX_BODY_BYTES",
        "NOMO_API_DB",
        "NOMO_DB",
        "NOMO_DB_POOL_MIN",
        "NOMO_DB_POOL_MAX",
        "NOMO_DB_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_serve_passes_host_port_and_store(served: list[dict[str, Any]], tmp_path: Path) -> None:
    db = tmp_path / "api.sqlite3"
    result = CliRunner().invoke(
        cli,
        ["serve", "--db", str(db), "--host", "127.0.0.1", "--port", "8765"],
        env={"NOMO_API_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    [call] = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 8765)
    assert db.is_file()
    assert "writes enabled" in result.output and "reads open" in result.output
    assert TOKEN not in result.output


def test_serve_without_a_token_is_read_only(served: list[dict[str, Any]], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 0, result.output
    assert "writes disabled" in result.output


def test_read_token_required_without_a_token_is_misuse(
    served: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--db", str(tmp_path / "x.db"), "--read-token-required"]
    )
    assert result.exit_code == 2
    assert "NOMO_API_TOKEN" in result.output
    assert served == []


def test_a_store_that_cannot_be_opened_exits_1(
    served: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "missing" / "x.db")])
    assert result.exit_code == 1
    assert "cannot open the contract store" in result.output
    assert served == []


def test_a_bad_signing_key_never_echoes_its_content(
    served: list[dict[str, Any]], tmp_path: Path
) -> None:
    key = tmp_path / "server.key"
    key.write_text("zz" * 32 + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["serve", "--db", str(tmp_path / "x.db")], env={"NOMO_API_SIGNING_KEY": str(key)}
    )
    assert result.exit_code == 2
    assert "NOMO_API_SIGNING_KEY" in result.output
    assert "zz" * 32 not in result.output


def _closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://nomo:hunter2@127.0.0.1:{port}/test"


def test_the_store_is_db_else_nomo_api_db_else_nomo_db(
    served: list[dict[str, Any]], tmp_path: Path
) -> None:
    flag, api, shared = (tmp_path / name for name in ("flag.db", "api.db", "shared.db"))
    cases = [
        (["--db", str(flag)], {"NOMO_API_DB": str(api), "NOMO_DB": str(shared)}, flag),
        ([], {"NOMO_API_DB": str(api), "NOMO_DB": str(shared)}, api),
        ([], {"NOMO_DB": str(shared)}, shared),
    ]
    for args, env, chosen in cases:
        result = CliRunner().invoke(cli, ["serve", *args], env=env)
        assert result.exit_code == 0, result.output
        assert f"store {chosen}\n" in result.output
    assert all(path.is_file() for path in (flag, api, shared))


def test_a_database_that_is_down_is_a_warning_and_the_password_is_never_shown(
    served: list[dict[str, Any]],
) -> None:
    require_psycopg()
    url = _closed_port_url()
    result = CliRunner().invoke(cli, ["serve"], env={"NOMO_DB": url, "NOMO_API_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert len(served) == 1  # the server starts, and answers 503 until the database is up
    assert f"store {url.replace('hunter2', '***')}" in result.output
    assert "warning: contract store" in result.output and "Connection refused" in result.output
    assert "hunter2" not in result.output


def test_a_postgresql_schema_newer_than_the_code_exits_1(
    served: list[dict[str, Any]], postgres_url: str
) -> None:
    import psycopg

    from nomotic_dsl.runtime.contracts.store import ContractStore

    ContractStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("INSERT INTO schema_migrations (version, name) VALUES (3, 'later')")
    result = CliRunner().invoke(cli, ["serve", "--db", postgres_url])
    assert result.exit_code == 1
    assert "has schema 3" in result.output and served == []


def test_bad_pool_settings_are_configuration_errors(
    served: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--db", str(tmp_path / "x.db")], env={"NOMO_DB_TIMEOUT": "-1"}
    )
    assert result.exit_code == 2
    assert "timeout" in result.output and served == []


def test_the_openapi_enums_match_the_interpreter() -> None:
    assert InvariantType.__args__ == INVARIANT_TYPES
    assert Operator.__args__ == OPERATORS
