"""``nomo contract`` on PostgreSQL: ``--db postgresql://...`` and NOMO_DB, and a database that is down."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from postgres_db import require_psycopg

from nomotic_dsl.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_store_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    require_psycopg()
    for name in ("NOMO_DB", "NOMO_DB_POOL_MIN", "NOMO_DB_POOL_MAX", "NOMO_DB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def nomo(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def unreachable_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://nomo:hunter2@127.0.0.1:{port}/test"


def test_generate_show_history_on_postgresql(postgres_url: str) -> None:
    for _ in range(2):
        stored = nomo("contract", "generate", "--agent", "pg-bot", "--db", postgres_url)
        assert stored.exit_code == 0, stored.output
    history = nomo("contract", "history", "pg-bot", "--db", postgres_url, "--format", "json")
    assert [c["version"] for c in json.loads(history.output)] == [1, 2]
    diff = nomo("contract", "diff", "pg-bot", "1", "2", "--db", postgres_url)
    assert diff.exit_code == 0 and diff.output.startswith("pg-bot: v1 -> v2")


def test_nomo_db_names_the_store_and_an_explicit_db_wins(postgres_url: str, tmp_path: Path) -> None:
    stored = nomo("contract", "generate", "--agent", "env-bot", env={"NOMO_DB": postgres_url})
    assert stored.exit_code == 0, stored.output
    shown = nomo("contract", "show", "env-bot", "--format", "json", env={"NOMO_DB": postgres_url})
    assert shown.exit_code == 0 and json.loads(shown.output)["agent_id"] == "env-bot"
    # --db wins over NOMO_DB, both ways: a file over a URL that is down, a URL over a file.
    local = tmp_path / "local.db"
    in_file = nomo(
        "contract", "generate", "--agent", "file-bot", "--db", str(local),
        env={"NOMO_DB": unreachable_url()},
    )  # fmt: skip
    assert in_file.exit_code == 0, in_file.output
    assert local.is_file()
    from_url = nomo(
        "contract", "show", "env-bot", "--db", postgres_url, env={"NOMO_DB": str(local)}
    )
    assert from_url.exit_code == 0, from_url.output


@pytest.mark.parametrize(
    "args",
    [
        ("contract", "show", "bot"),
        ("contract", "history", "bot"),
        ("contract", "generate", "--agent", "bot"),
    ],
)
def test_an_unreachable_database_is_one_line_and_exit_1(args: tuple[str, ...]) -> None:
    url = unreachable_url()
    result = nomo(*args, "--db", url)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: contract store {url.replace('hunter2', '***')}: ")
    assert "Connection refused" in lines[0]
    assert "hunter2" not in result.output


def test_an_unreachable_database_from_a_real_process(tmp_path: Path) -> None:
    url = unreachable_url()
    result = subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", "contract", "show", "bot"],
        cwd=tmp_path,
        env={"NOMO_DB": url, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: contract store")
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_a_newer_schema_is_refused_by_the_cli(postgres_url: str) -> None:
    import psycopg

    assert nomo("contract", "generate", "--agent", "bot", "--db", postgres_url).exit_code == 0
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("INSERT INTO schema_migrations (version, name) VALUES (9, 'later')")
    result = nomo("contract", "show", "bot", "--db", postgres_url)
    assert result.exit_code == 1
    assert "has schema 9" in result.output and "Traceback" not in result.output


def test_bad_pool_settings_are_misuse(postgres_url: str) -> None:
    result = nomo("contract", "show", "bot", "--db", postgres_url, env={"NOMO_DB_POOL_MAX": "lots"})
    assert result.exit_code == 2
    assert "NOMO_DB_POOL_MAX must be a number" in result.output
