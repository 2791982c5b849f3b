"""The contract store in PostgreSQL: pooled connections, per-agent locks, versioned migrations.

Input: a ``postgresql://`` URL (libpq's URI form; ``options=-csearch_path=S``
puts the tables in schema ``S``) and ``PoolSettings``. Output: the backend
``ContractStore`` runs its steps on (``_Backend`` and ``_Transaction`` of
``store.py``, which holds every rule; this module holds only SQL). Stage:
persistence. Imported only for a URL, so psycopg is needed only by those who
use PostgreSQL (``pip install 'nomotic-dsl[postgres]'``).

Versions stay atomic across processes and servers: each write step is one
transaction, and reading the agent's latest version first takes a
transaction-scoped advisory lock on the agent (``pg_advisory_xact_lock``), so
writers of one agent, wherever they run, allocate one after the other; the
primary key ``(agent_id, version)`` refuses a duplicate even without the lock.
An idempotency key is locked the same way before it is looked up, and stored
in the transaction of the version it produced. Reading a stored version for
``attach_seal`` locks its row (``FOR UPDATE``), so two seals cannot both win.

The schema is the store's own: ``schema_migrations`` lists the migrations
applied, and opening a store applies the missing ones in order, in one
transaction under an advisory lock, so servers starting together never race;
a database with a migration this version does not know is refused
(``StoreSchemaError``). A database that cannot be reached, or fails a
request, raises ``StoreUnavailable`` with one line that never holds the
password.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import psycopg.conninfo
import psycopg.errors
import psycopg_pool

from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.runtime.contracts.backend import (
    IdempotentWrite,
    PoolSettings,
    StoreSchemaError,
    StoreUnavailable,
    VersionConflict,
    decode_contract,
    encode_contract,
    redact,
    scrub,
)

Result = TypeVar("Result")
LOG = logging.getLogger("nomotic_dsl.store")

# Advisory lock classes (the first key of the two-key form, so no other
# application's single-key locks collide): migrations, agents, idempotency keys.
_LOCK_MIGRATIONS = 0x6E6F6D6F  # "nomo"
_LOCK_AGENT = _LOCK_MIGRATIONS + 1
_LOCK_KEY = _LOCK_MIGRATIONS + 2
APPLICATION_NAME = "nomo-contracts"
# libpq's connect_timeout counts whole seconds and treats less than 2 as 2.
_MIN_CONNECT_SECONDS = 2


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: its number (1, 2, ...), a name, and its statements in order."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "contracts",
        (
            """
            CREATE TABLE contracts (
                agent_id    TEXT   NOT NULL,
                version     BIGINT NOT NULL CHECK (version >= 1),
                contract_id TEXT   NOT NULL,
                body        TEXT   NOT NULL,
                PRIMARY KEY (agent_id, version)
            )
            """,
        ),
    ),
    Migration(
        2,
        "idempotency keys",
        (
            """
            CREATE TABLE idempotency_keys (
                key         TEXT   NOT NULL PRIMARY KEY,
                fingerprint TEXT   NOT NULL,
                agent_id    TEXT   NOT NULL,
                version     BIGINT NOT NULL,
                FOREIGN KEY (agent_id, version) REFERENCES contracts (agent_id, version)
            )
            """,
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version

_CREATE_MIGRATIONS = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER     NOT NULL PRIMARY KEY,
        name       TEXT        NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
"""
_MIGRATIONS_EXIST = "SELECT to_regclass('schema_migrations') IS NOT NULL"
_SELECT_APPLIED = "SELECT version, name FROM schema_migrations ORDER BY version"
_INSERT_APPLIED = "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)"
# Per schema: two stores in different schemas of one database do not wait for each other.
_LOCK_SCHEMA = "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))"
_LOCK = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"

# The primary key (agent_id, version) is the index every read uses: the latest
# version is its last entry for the agent (an index scan backward, no sort).
SELECT_ACTIVE = "SELECT body FROM contracts WHERE agent_id = %s ORDER BY version DESC LIMIT 1"
_SELECT_LATEST = "SELECT max(version) FROM contracts WHERE agent_id = %s"
_SELECT_VERSION = "SELECT body FROM contracts WHERE agent_id = %s AND version = %s"
_SELECT_HISTORY = "SELECT body FROM contracts WHERE agent_id = %s ORDER BY version"
_SELECT_AGENTS = 'SELECT agent_id FROM contracts GROUP BY agent_id ORDER BY agent_id COLLATE "C"'
_INSERT = "INSERT INTO contracts (agent_id, version, contract_id, body) VALUES (%s, %s, %s, %s)"
_UPDATE_BODY = "UPDATE contracts SET body = %s WHERE agent_id = %s AND version = %s"
_SELECT_KEY = "SELECT fingerprint, agent_id, version FROM idempotency_keys WHERE key = %s"
_INSERT_KEY = (
    "INSERT INTO idempotency_keys (key, fingerprint, agent_id, version) VALUES (%s, %s, %s, %s)"
)

_DRIVER_ERRORS = (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed)


class PostgresBackend:
    """Contracts in one PostgreSQL schema, through a bounded pool of autocommit connections."""

    path: Path | None = None
    local = False  # over the network: called from worker threads, never from an event loop

    def __init__(self, url: str, pool: PoolSettings) -> None:
        self.location = redact(url)
        self._url = url
        self._settings = pool
        try:
            given = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise ValueError(f"contract store {self.location}: {scrub(str(exc), url)}") from None
        self._connect_options: dict[str, Any] = {"autocommit": True}
        if "application_name" not in given:  # what operators see in pg_stat_activity
            self._connect_options["application_name"] = APPLICATION_NAME
        if "connect_timeout" not in given:
            self._connect_options["connect_timeout"] = max(
                _MIN_CONNECT_SECONDS, round(pool.timeout)
            )
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] | None = None
        self._opening = threading.Lock()

    # --- readiness -----------------------------------------------------------------

    def connect(self) -> None:
        """Migrate the schema over one direct connection, then open the pool; once."""
        if self._pool is not None:
            return
        with self._opening:
            if self._pool is not None:
                return
            with self._failures("cannot open"):
                with psycopg.connect(self._url, **self._connect_options) as connection:
                    migrate(connection, self.location)
                pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = (
                    psycopg_pool.ConnectionPool(
                        self._url,
                        kwargs=self._connect_options,
                        min_size=self._settings.min_size,
                        max_size=self._settings.max_size,
                        timeout=self._settings.timeout,
                        name=APPLICATION_NAME,
                        open=False,
                    )
                )
                pool.open(wait=self._settings.min_size > 0, timeout=self._settings.timeout)
            self._pool = pool

    def close(self) -> None:
        with self._opening:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """Driver and pool errors as one ``StoreUnavailable`` line without the password."""
        try:
            yield
        except _DRIVER_ERRORS as exc:
            # The driver's first line says what failed; the rest is hints and the query.
            lines = [line for line in str(exc).splitlines() if line.strip()]
            reason = scrub(lines[0], self._url) if lines else type(exc).__name__
            raise StoreUnavailable(f"contract store {self.location}: {doing}: {reason}") from None

    def _use(
        self,
        work: Callable[[psycopg.Connection[Any]], Result],
        may_retry: Callable[[], bool] = lambda: True,
    ) -> Result:
        """``work`` on a pooled connection; once more if the server had dropped that connection.

        A connection the server closed (a database restart, an idle timeout)
        is found when it is used, not by a round trip before every use. When
        ``work`` fails on one and ``may_retry()`` (for a write: it had not
        begun to commit, so the server rolled it back), the pool replaces
        every dropped idle connection and ``work`` runs again, on a fresh one.
        """
        self.connect()
        pool = self._pool
        if pool is None:  # closed meanwhile
            raise StoreUnavailable(f"contract store {self.location}: the store is closed")
        with self._failures("request failed"):
            try:
                return _on_connection(pool, work, may_retry)
            except _Dropped:
                pool.check()
            return _on_connection(pool, work, lambda: False)

    # --- the backend interface -----------------------------------------------------

    def run(self, step: Callable[[_PostgresTransaction], Result]) -> Result:
        """Run ``step`` in one transaction: all its writes, or (when it raises) none."""
        committing = False

        def transaction(connection: psycopg.Connection[Any]) -> Result:
            nonlocal committing
            committing = False
            with connection.transaction(), connection.cursor() as cursor:
                result = step(_PostgresTransaction(cursor))
                committing = True  # the COMMIT follows: past here, a failure is not retried
            return result

        return self._use(transaction, lambda: not committing)

    def active(self, agent_id: str) -> BehavioralContract | None:
        return self._one_body(SELECT_ACTIVE, (agent_id,))

    def history(self, agent_id: str) -> list[BehavioralContract]:
        rows = self._use(lambda c: c.execute(_SELECT_HISTORY, (agent_id,)).fetchall())
        return [decode_contract(body) for (body,) in rows]

    def version(self, agent_id: str, version: int) -> BehavioralContract | None:
        return self._one_body(_SELECT_VERSION, (agent_id, version))

    def agents(self) -> list[str]:
        rows = self._use(lambda c: c.execute(_SELECT_AGENTS).fetchall())
        return [agent for (agent,) in rows]

    def find_key(self, key: str) -> IdempotentWrite | None:
        row = self._use(lambda c: c.execute(_SELECT_KEY, (key,)).fetchone())
        return None if row is None else IdempotentWrite(key, row[0], row[1], int(row[2]))

    def _one_body(self, query: str, values: tuple[Any, ...]) -> BehavioralContract | None:
        row = self._use(lambda c: c.execute(query, values).fetchone())
        return None if row is None else decode_contract(row[0])


class _Dropped(Exception):
    """The server had closed the connection a request was given; it may run again."""


def _on_connection(
    pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]],
    work: Callable[[psycopg.Connection[Any]], Result],
    may_retry: Callable[[], bool],
) -> Result:
    with pool.connection() as connection:
        try:
            return work(connection)
        except psycopg.OperationalError:
            if connection.broken and may_retry():
                raise _Dropped() from None
            raise


class _PostgresTransaction:
    """Reads and writes inside one open transaction; ``latest`` locks the agent until it ends."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def latest(self, agent_id: str) -> int:
        # The lock is taken before the read, in its own statement: under READ
        # COMMITTED the read then sees every version the previous holder committed.
        self._cursor.execute(_LOCK, (_LOCK_AGENT, agent_id))
        row = self._cursor.execute(_SELECT_LATEST, (agent_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def insert(self, contract: BehavioralContract) -> None:
        try:
            self._cursor.execute(
                _INSERT,
                (
                    contract.agent_id,
                    contract.version,
                    contract.contract_id,
                    encode_contract(contract),
                ),
            )
        except psycopg.errors.UniqueViolation:
            # Only a writer that bypassed the lock can get here; the rule is the same.
            raise VersionConflict(contract.agent_id, contract.version, contract.version) from None

    def find(self, agent_id: str, version: int) -> BehavioralContract | None:
        row = self._cursor.execute(_SELECT_VERSION + " FOR UPDATE", (agent_id, version)).fetchone()
        return None if row is None else decode_contract(row[0])

    def replace_seal(self, contract: BehavioralContract) -> None:
        self._cursor.execute(
            _UPDATE_BODY, (encode_contract(contract), contract.agent_id, contract.version)
        )

    def find_key(self, key: str) -> IdempotentWrite | None:
        self._cursor.execute(_LOCK, (_LOCK_KEY, key))
        row = self._cursor.execute(_SELECT_KEY, (key,)).fetchone()
        return None if row is None else IdempotentWrite(key, row[0], row[1], int(row[2]))

    def insert_key(self, record: IdempotentWrite) -> None:
        self._cursor.execute(
            _INSERT_KEY, (record.key, record.fingerprint, record.agent_id, record.version)
        )


# ---- migrations ----------------------------------------------------------------------


def migrate(connection: psycopg.Connection[Any], location: str) -> list[int]:
    """Apply the migrations the schema lacks, in order; the versions applied (none: up to date).

    Reads first without a lock, so opening an up-to-date store writes nothing
    and waits for no one; otherwise takes the schema's advisory lock, reads
    again, and applies the rest in the same transaction.
    """
    if applied_migrations(connection, location) == _known(SCHEMA_VERSION):
        return []
    with connection.transaction():
        connection.execute(_LOCK_SCHEMA, (_LOCK_MIGRATIONS,))
        connection.execute(_CREATE_MIGRATIONS)
        done = applied_migrations(connection, location)
        missing = [migration for migration in MIGRATIONS if migration.version > len(done)]
        for migration in missing:
            for statement in migration.statements:
                connection.execute(statement)
            connection.execute(_INSERT_APPLIED, (migration.version, migration.name))
    for migration in missing:
        LOG.info("contract store %s: applied migration %d (%s)", location, *_named(migration))
    return [migration.version for migration in missing]


def applied_migrations(connection: psycopg.Connection[Any], location: str) -> list[tuple[int, str]]:
    """The migrations ``schema_migrations`` lists, checked against the ones this version knows.

    StoreSchemaError when the database holds a migration newer than this
    version knows, or one it knows under another name.
    """
    (exists,) = connection.execute(_MIGRATIONS_EXIST).fetchone() or (False,)
    if not exists:
        return []
    applied = [(int(version), str(name)) for version, name in connection.execute(_SELECT_APPLIED)]
    newest = applied[-1][0] if applied else 0
    if newest > SCHEMA_VERSION:
        raise StoreSchemaError(
            f"contract store {location} has schema {newest}; this version of nomotic_dsl "
            f"reads schema {SCHEMA_VERSION} and older (upgrade nomotic_dsl)"
        )
    if applied != _known(newest):
        raise StoreSchemaError(
            f"contract store {location}: schema_migrations lists {applied}, not the "
            f"migrations this version of nomotic_dsl made ({_known(newest)})"
        )
    return applied


def _known(upto: int) -> list[tuple[int, str]]:
    return [_named(migration) for migration in MIGRATIONS if migration.version <= upto]


def _named(migration: Migration) -> tuple[int, str]:
    return (migration.version, migration.name)
