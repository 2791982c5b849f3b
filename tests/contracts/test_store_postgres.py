"""The PostgreSQL store's own parts: migrations, locks, the pool, errors without passwords.

The store's rules are tested on every backend in test_store.py and
test_store_hardening.py; this file holds what only PostgreSQL has. Each test
works in its own schema (the ``postgres_url`` fixture), dropped afterwards.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_db import admin_connection, require_psycopg, with_search_path

from nomotic_dsl.ir import BehavioralContract
from nomotic_dsl.runtime.contracts.backend import (
    PoolSettings,
    StoreSchemaError,
    StoreUnavailable,
    redact,
    scrub,
)
from nomotic_dsl.runtime.contracts.store import ContractStore, IdempotencyClaim

require_psycopg()

import psycopg  # noqa: E402  (after the skip: psycopg is an optional extra)

from nomotic_dsl.runtime.contracts import postgres  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KNOWN = [(1, "contracts"), (2, "idempotency keys")]


def contract(version: int, agent: str = "agent-1", **fields: object) -> BehavioralContract:
    return BehavioralContract(agent_id=agent, version=version, **fields)  # type: ignore[arg-type]


@pytest.fixture
def db(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection into the test's schema, to look at what the store wrote."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        yield connection


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the probe is closed


def migrations(db: psycopg.Connection[Any]) -> list[tuple[int, str, Any]]:
    rows = db.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    return [(int(version), str(name), applied) for version, name, applied in rows]


# ---- migrations ----------------------------------------------------------------------


def test_a_fresh_schema_is_migrated_and_reopening_changes_nothing(
    postgres_url: str, db: psycopg.Connection[Any]
) -> None:
    with ContractStore(postgres_url) as store:
        store.store(contract(1))
    first = migrations(db)
    assert [(version, name) for version, name, _ in first] == KNOWN
    tables = db.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() ORDER BY 1"
    ).fetchall()
    assert [name for (name,) in tables] == ["contracts", "idempotency_keys", "schema_migrations"]
    with ContractStore(postgres_url) as again:
        assert again.get_active("agent-1") == contract(1)
    assert migrations(db) == first  # same rows, same applied_at: nothing re-applied
    assert postgres.migrate(db, "test") == []


def test_a_schema_missing_a_migration_is_upgraded_in_place(
    postgres_url: str, db: psycopg.Connection[Any]
) -> None:
    with ContractStore(postgres_url) as store:
        store.store(contract(3))
    db.execute("DROP TABLE idempotency_keys")
    db.execute("DELETE FROM schema_migrations WHERE version = 2")
    with ContractStore(postgres_url) as upgraded:
        assert upgraded.get_active("agent-1") == contract(3)
        upgraded.store(contract(4), idempotency=IdempotencyClaim("k", "f"))
        assert upgraded.find_idempotent("k") is not None
    assert [(version, name) for version, name, _ in migrations(db)] == KNOWN


def test_a_newer_schema_is_refused_naming_both_versions(
    postgres_url: str, db: psycopg.Connection[Any]
) -> None:
    ContractStore(postgres_url).close()
    db.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')")
    with pytest.raises(StoreSchemaError, match="has schema 99; this version of nomotic_dsl reads"):
        ContractStore(postgres_url)
    with pytest.raises(StoreSchemaError, match="schema 99"):
        ContractStore(postgres_url, lazy=True).get_active("agent-1")


def test_a_migration_under_another_name_is_refused(
    postgres_url: str, db: psycopg.Connection[Any]
) -> None:
    ContractStore(postgres_url).close()
    db.execute("UPDATE schema_migrations SET name = 'forked' WHERE version = 2")
    with pytest.raises(StoreSchemaError, match="not the migrations this version"):
        ContractStore(postgres_url)


OPENER = """
import os, sys, time
from nomotic_dsl import BehavioralContract, ContractStore
signals = sys.argv[2]
open(os.path.join(signals, sys.argv[3] + ".ready"), "w").close()
while not os.path.exists(os.path.join(signals, "go")):
    time.sleep(0.002)
with ContractStore(sys.argv[1]) as store:  # every process migrates the empty schema at once
    store.store_next("first", lambda v: BehavioralContract(agent_id="first", version=v))
"""


def test_processes_opening_an_empty_schema_at_once_migrate_it_once(
    postgres_url: str, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    names = [f"opener-{index}" for index in range(4)]
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, postgres_url, str(tmp_path), name],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"{name}.ready").exists() for name in names):
        assert time.monotonic() < deadline, "the openers did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for opener in openers:
        _, stderr = opener.communicate(timeout=120)
        assert opener.returncode == 0, stderr
    assert [(version, name) for version, name, _ in migrations(db)] == KNOWN
    versions = db.execute("SELECT version FROM contracts ORDER BY version").fetchall()
    assert [version for (version,) in versions] == [1, 2, 3, 4]


def test_the_schema_lock_holds_other_openers_until_the_migration_commits(
    postgres_url: str, db: psycopg.Connection[Any]
) -> None:
    db.execute("BEGIN")
    db.execute(postgres._LOCK_SCHEMA, (postgres._LOCK_MIGRATIONS,))  # as a migrating server
    opened: list[ContractStore] = []
    opener = threading.Thread(target=lambda: opened.append(ContractStore(postgres_url)))
    opener.start()
    time.sleep(0.5)
    assert opened == [] and opener.is_alive(), "the store did not wait for the schema lock"
    db.execute("COMMIT")
    opener.join(timeout=30)
    assert len(opened) == 1
    opened[0].close()


# ---- reads, locks, the pool ----------------------------------------------------------


def test_the_active_contract_is_one_index_scan(
    postgres_url: str, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ContractStore(postgres_url)
    rows = [
        (f"agent-{index % 20}", index // 20 + 1, f"id-{index}", "{}") for index in range(20 * 500)
    ]
    with db.cursor() as cursor:
        cursor.executemany(postgres._INSERT, rows[:-1])
    store.store(contract(500, agent="agent-19"))
    db.execute("ANALYZE contracts")
    decoded: list[str] = []
    real = postgres.decode_contract
    monkeypatch.setattr(
        postgres, "decode_contract", lambda body: decoded.append(body) or real(body)
    )
    assert store.get_active("agent-19") == contract(500, agent="agent-19")
    assert len(decoded) == 1
    plan = "\n".join(
        line for (line,) in db.execute("EXPLAIN " + postgres.SELECT_ACTIVE, ("agent-19",))
    )
    assert "Index Scan Backward using contracts_pkey" in plan, plan
    assert "Sort" not in plan, plan
    store.close()


def test_two_seals_of_one_version_cannot_both_win(postgres_url: str) -> None:
    from nacl.signing import SigningKey

    with ContractStore(postgres_url) as store:
        store.store(contract(1))
        unsealed = contract(1)
        outcomes: list[str] = []
        barrier = threading.Barrier(6)

        def seal(index: int) -> None:
            sealed = unsealed.seal(SigningKey(bytes([index + 1]) * 32), f"signer-{index}")
            barrier.wait(timeout=30)
            try:
                store.attach_seal(sealed)
                outcomes.append("sealed")
            except ValueError as exc:
                outcomes.append("refused" if "already sealed" in str(exc) else str(exc))

        threads = [threading.Thread(target=seal, args=(index,)) for index in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["refused"] * 5 + ["sealed"]
        assert store.get_active("agent-1").is_sealed  # type: ignore[union-attr]


def test_the_pool_never_holds_more_than_its_maximum(postgres_url: str) -> None:
    name = "nomo-pool-test-" + postgres_url.rsplit("%3D", 1)[1][-10:]
    url = f"{postgres_url}&application_name={name}"
    with ContractStore(url, pool=PoolSettings(min_size=1, max_size=2)) as store:
        store.store(contract(1))
        seen: list[int] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                assert store.get_active("agent-1") is not None

        readers = [threading.Thread(target=read) for _ in range(8)]
        for reader in readers:
            reader.start()
        with admin_connection() as admin:
            for _ in range(20):
                (count,) = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
                ).fetchone()
                seen.append(int(count))
                time.sleep(0.02)
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    assert max(seen) <= 2 and max(seen) >= 1, seen


def test_a_request_waits_for_a_connection_at_most_the_timeout(postgres_url: str) -> None:
    settings = PoolSettings(min_size=1, max_size=1, timeout=0.5)
    with ContractStore(postgres_url, pool=settings) as store:
        holding = threading.Event()
        release = threading.Event()

        def slow_builder(version: int) -> BehavioralContract:
            holding.set()
            release.wait(timeout=30)  # holds the only connection in its transaction
            return contract(version)

        writer = threading.Thread(target=lambda: store.store_next("agent-1", slow_builder))
        writer.start()
        assert holding.wait(timeout=30)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"couldn.t get a connection after 0\.50 sec"):
            store.get_active("agent-1")
        assert time.monotonic() - started < 5
        release.set()
        writer.join(timeout=30)
        assert store.latest_version("agent-1") == 1


def _drop_connections(application_name: str) -> int:
    """Terminate every server process of the store's connections, as a database restart does."""
    with admin_connection() as admin:
        row = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
            "FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_connections_the_server_dropped_are_replaced_and_the_request_runs_once(
    postgres_url: str,
) -> None:
    name = "nomo-restart-" + postgres_url.rsplit("%3D", 1)[1][-10:]
    with ContractStore(f"{postgres_url}&application_name={name}") as store:
        store.store(contract(1))
        assert _drop_connections(name) >= 1
        assert store.store_next("agent-1", lambda v: contract(v)).version == 2  # no error
        assert _drop_connections(name) >= 1
        assert store.get_active("agent-1") == contract(2)
        assert [c.version for c in store.get_history("agent-1")] == [1, 2]


def test_a_write_whose_commit_may_have_happened_is_not_retried(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "nomo-commit-" + postgres_url.rsplit("%3D", 1)[1][-10:]
    with ContractStore(f"{postgres_url}&application_name={name}") as store:
        store.store(contract(1))
        real_insert = postgres._PostgresTransaction.insert
        built: list[int] = []

        def insert_then_drop(self: Any, stored: BehavioralContract) -> None:
            real_insert(self, stored)
            _drop_connections(name)  # the server goes away between the step and its COMMIT

        monkeypatch.setattr(postgres._PostgresTransaction, "insert", insert_then_drop)
        with pytest.raises(StoreUnavailable, match="request failed"):
            store.store_next("agent-1", lambda v: built.append(v) or contract(v))
        assert built == [2]  # run once: whether it committed is unknown, so it is not rerun
        monkeypatch.setattr(postgres._PostgresTransaction, "insert", real_insert)
        assert store.latest_version("agent-1") == 1  # the server rolled it back


def test_a_write_that_failed_before_its_commit_runs_again(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "nomo-rerun-" + postgres_url.rsplit("%3D", 1)[1][-10:]
    with ContractStore(f"{postgres_url}&application_name={name}") as store:
        store.store(contract(1))
        built: list[int] = []

        def build(version: int) -> BehavioralContract:
            built.append(version)
            if len(built) == 1:
                _drop_connections(name)  # mid-transaction: the server rolls it back
            return contract(version)

        assert store.store_next("agent-1", build).version == 2
        assert built == [2, 2]
        assert [c.version for c in store.get_history("agent-1")] == [1, 2]


# ---- errors and secrets --------------------------------------------------------------


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    url = f"postgresql://nomo:hunter2@127.0.0.1:{closed_port()}/test"
    with pytest.raises(StoreUnavailable) as caught:
        ContractStore(url)
    message = str(caught.value)
    assert "hunter2" not in message and "\n" not in message
    assert message.startswith(f"contract store postgresql://nomo:***@127.0.0.1:{url.split(':')[3]}")
    assert "Connection refused" in message
    lazy = ContractStore(url, lazy=True)  # a server starts all the same
    assert lazy.location == redact(url)
    with pytest.raises(StoreUnavailable, match="Connection refused") as again:
        lazy.get_history("agent-1")
    assert "hunter2" not in str(again.value)


def test_a_missing_schema_is_reported_not_created() -> None:
    require_psycopg()
    url = with_search_path("postgresql://postgres:hunter2@127.0.0.1:5432/test", "no_such_schema")
    with pytest.raises(StoreUnavailable, match="no schema has been selected") as caught:
        ContractStore(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://nomo:hunter2@127.0.0.1/test?bogus=1", "invalid URI query parameter"),
        ("postgresql://nomo:hunter2@[::1/test", "IPv6 host address"),  # libpq quotes the URL
    ],
)
def test_a_malformed_url_is_a_value_error_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        ContractStore(url)
    assert "hunter2" not in str(caught.value) and "nomo:***@" in str(caught.value)


def test_without_psycopg_a_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nomotic_dsl.runtime.contracts.postgres", None)
    with pytest.raises(StoreUnavailable, match=r"pip install 'nomotic-dsl\[postgres\]'") as caught:
        ContractStore("postgresql://nomo:hunter2@127.0.0.1/test", lazy=True)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://nomo:hunter2@db:5432/app", "postgresql://nomo:***@db:5432/app"),
        ("postgres://nomo:p%40ss@db/app", "postgres://nomo:***@db/app"),
        ("postgresql://nomo@db/app", "postgresql://nomo@db/app"),
        ("postgresql://db/app?password=hunter2&sslmode=require", "postgresql://db/app?password=***&sslmode=require"),
        ("postgresql://nomo:a:b@h1:5432,h2:5433/app", "postgresql://nomo:***@h1:5432,h2:5433/app"),
        ("postgresql:///app?host=/run/postgresql", "postgresql:///app?host=/run/postgresql"),
    ],
)  # fmt: skip
def test_redact_hides_every_password(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "hunter2" not in scrub(f"failed for {url}\n  again", url)
    assert scrub("a\n  b", url) == "a b"


def test_redact_leaves_paths_alone() -> None:
    assert redact(Path("/var/lib/nomo/c.db")) == "/var/lib/nomo/c.db"
    assert redact(None) == "memory"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"NOMO_DB_POOL_MAX": "many"}, "NOMO_DB_POOL_MAX must be a number"),
        ({"NOMO_DB_POOL_MAX": "0"}, "max >= 1"),
        ({"NOMO_DB_POOL_MIN": "5", "NOMO_DB_POOL_MAX": "2"}, "min \\(5\\) <= max \\(2\\)"),
        ({"NOMO_DB_TIMEOUT": "0"}, "more than 0"),
        ({"NOMO_DB_TIMEOUT": "nan"}, "must be a number"),
    ],
)
def test_bad_pool_settings_are_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PoolSettings.from_env(env)


def test_pool_settings_from_the_environment() -> None:
    settings = PoolSettings.from_env(
        {"NOMO_DB_POOL_MIN": "2", "NOMO_DB_POOL_MAX": "20", "NOMO_DB_TIMEOUT": "2.5"}
    )
    assert settings == PoolSettings(min_size=2, max_size=20, timeout=2.5)
    assert PoolSettings.from_env({}) == PoolSettings()
