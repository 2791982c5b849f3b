"""ContractStore: every version of every agent's contract, in memory, SQLite or PostgreSQL.

Input: BehavioralContract values. Output: the same values read back (equal,
seals intact), by agent and version. Stage: persistence between contract
generation and the runtime / HTTP API.

Versions per agent only grow: ``store()`` refuses a version not greater than
the agent's latest, and ``store_next()`` allocates the next version and stores
the contract built for it in one atomic step, so concurrent writers (threads or
processes) never get the same version and never lose one.

Agent ids follow ``nomotic_dsl.ir.agent_id``: a write refuses a contract whose
``agent_id`` is not already a normalised id (``AgentIdError``, a ValueError);
reads normalise the id they are given (NFC), and an id that can never be
stored finds nothing.

Idempotent writes: a write may carry an ``IdempotencyClaim`` (a client's key
and a fingerprint of its request). The key is stored in the same transaction
as the version it produced, so after any crash either both exist or neither
does. A later write with the same key and fingerprint stores nothing and
returns that version (``StoredWrite.replayed``); the same key with another
fingerprint raises ``IdempotencyConflict``. Keys never expire.

The SQL lives in the backends alone (``_SqliteBackend`` and
``_SqliteTransaction`` here, the PostgreSQL ones in ``postgres.py``); the store
logic above them talks to a backend only through ``_Backend`` and
``_Transaction``, so every rule above holds for every database. A backend's
``latest()`` serialises the writers of that agent until its transaction ends
(SQLite: the file's write lock; PostgreSQL: a per-agent advisory lock).

``ContractStore(location)``: None is memory, a ``postgresql://`` URL is
PostgreSQL (``pip install 'nomotic-dsl[postgres]'``), anything else an SQLite
file. A database that cannot be reached raises ``StoreUnavailable``, whose
message never holds a password.

Concurrency (SQLite): WAL journal, ``synchronous=FULL`` (a commit is on disk
before it returns). Writers in one process never poll SQLite's busy handler
(whose sleeps grow to 100 ms, the cause of multi-second tails under load):
they queue their write steps, and one writer at a time, holding a per-file
lock, commits every queued step in one transaction (group commit: one fsync
for many writes, each step in its own savepoint). Writers in other processes
still meet through SQLite's lock and ``BUSY_TIMEOUT_MS``. Each thread keeps
its own connection, so a read costs one indexed query.

From an event loop (the HTTP API), ``await store.write_async(...)`` queues the
same write step without a thread per writer: the writer that finds no leader
hands the lead to the store's one committer thread, which commits batch after
batch (the same group commit, the same fsync per batch) until the queue is
empty, and settles each waiting writer's future once its batch is on disk.
Threads calling ``write`` and coroutines awaiting ``write_async`` share the
one queue, so their writes are serialised exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar, cast

from nomotic_dsl.ir.agent_id import AgentIdError, check_agent_id, normalize_agent_id
from nomotic_dsl.ir.contract import MAX_VERSION, BehavioralContract
from nomotic_dsl.runtime.contracts.backend import (
    IdempotentWrite,
    PoolSettings,
    StoreLocation,
    StoreSchemaError,
    StoreUnavailable,
    VersionConflict,
    is_database_url,
    redact,
)
from nomotic_dsl.runtime.contracts.backend import decode_contract as _decode
from nomotic_dsl.runtime.contracts.backend import encode_contract as _encode

__all__ = [
    "ContractStore",
    "IdempotencyClaim",
    "IdempotencyConflict",
    "IdempotentWrite",
    "PoolSettings",
    "StoreSchemaError",
    "StoreUnavailable",
    "StoredWrite",
    "VersionConflict",
    "check_idempotency_key",
]

# How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_MS = 30_000
MAX_IDEMPOTENCY_KEY_LENGTH = 255

ContractBuilder = Callable[[int], BehavioralContract]
Result = TypeVar("Result")
# Called once a queued step is committed (or failed): its result or error is on the _Pending.
Settle = Callable[["_Pending"], None]


class IdempotencyConflict(ValueError):
    """An idempotency key already used for a different request."""

    def __init__(self, key: str, agent_id: str, version: int) -> None:
        self.key = key
        self.agent_id = agent_id
        self.version = version
        super().__init__(
            f"idempotency key {key!r} was already used for a different request "
            f"(it produced agent {agent_id!r} version {version})"
        )


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """A client's idempotency key and a digest of the request it came with."""

    key: str
    fingerprint: str

    def __post_init__(self) -> None:
        check_idempotency_key(self.key)


@dataclass(frozen=True, slots=True)
class StoredWrite:
    """The contract a write stored, or (``replayed``) the one an earlier write with its key stored."""

    contract: BehavioralContract
    replayed: bool = False


def check_idempotency_key(key: object) -> str:
    """A usable key: 1-255 printable ASCII characters, no spaces; ValueError otherwise."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"an idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if not all("!" <= char <= "~" for char in key):
        raise ValueError("an idempotency key must be printable ASCII without spaces")
    return key


class _Transaction(Protocol):
    """The operations one atomic store step needs from a backend."""

    def latest(self, agent_id: str) -> int: ...

    def insert(self, contract: BehavioralContract) -> None: ...

    def find(self, agent_id: str, version: int) -> BehavioralContract | None: ...

    def replace_seal(self, contract: BehavioralContract) -> None: ...

    def find_key(self, key: str) -> IdempotentWrite | None: ...

    def insert_key(self, record: IdempotentWrite) -> None: ...


class _Backend(Protocol):
    """Where contracts live: atomic write steps and the reads the store offers."""

    path: Path | None
    location: str  # where, to print: never a password
    local: bool  # reads are quick local lookups, and writes can be queued: a _QueuingBackend

    def connect(self) -> None:
        """Be ready now (connect, create or migrate the schema); a no-op when already ready."""
        ...

    def close(self) -> None:
        """Release connections; the backend may not be used afterwards."""
        ...

    def run(self, step: Callable[[_Transaction], Result]) -> Result:
        """Run ``step`` atomically: all its writes, or (when it raises) none of them."""
        ...

    def active(self, agent_id: str) -> BehavioralContract | None: ...

    def history(self, agent_id: str) -> list[BehavioralContract]: ...

    def version(self, agent_id: str, version: int) -> BehavioralContract | None: ...

    def agents(self) -> list[str]: ...

    def find_key(self, key: str) -> IdempotentWrite | None: ...


class _QueuingBackend(Protocol):
    """A backend that can take a write step without a thread waiting for it."""

    def submit(self, step: Callable[[_Transaction], object], settle: Settle) -> None:
        """Run ``step`` as ``run`` would; ``settle(pending)`` from any thread once it is done."""
        ...


class ContractStore:
    """Versioned contracts per agent: in memory, in an SQLite file, or in PostgreSQL.

    ``ContractStore()`` is in memory, ``ContractStore(path)`` an SQLite file,
    ``ContractStore("postgresql://...")`` a PostgreSQL database (``pool``
    sizes its connection pool). A PostgreSQL store connects and migrates its
    schema when it is made, or with ``lazy=True`` at its first use (or
    ``connect()``), so a server can start while its database is down.
    """

    def __init__(
        self,
        location: StoreLocation | None = None,
        *,
        pool: PoolSettings | None = None,
        lazy: bool = False,
    ) -> None:
        self._backend: _Backend = _open_backend(location, pool or PoolSettings())
        if not lazy:
            self._backend.connect()

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a store in memory or in PostgreSQL."""
        return self._backend.path

    @property
    def location(self) -> str:
        """Where the contracts are, fit to print: "memory", the file, or the URL without password."""
        return self._backend.location

    def connect(self) -> None:
        """Reach the database now (PostgreSQL: connect and migrate); StoreUnavailable if it cannot."""
        self._backend.connect()

    def close(self) -> None:
        """Release the store's connections (the PostgreSQL pool); it is not used afterwards."""
        self._backend.close()

    def __enter__(self) -> ContractStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def store(
        self, contract: BehavioralContract, *, idempotency: IdempotencyClaim | None = None
    ) -> BehavioralContract:
        """Store ``contract``; raise VersionConflict unless its version exceeds the latest."""
        return self.write(contract.agent_id, contract, idempotency=idempotency).contract

    def store_next(
        self,
        agent_id: str,
        build: ContractBuilder,
        *,
        idempotency: IdempotencyClaim | None = None,
    ) -> BehavioralContract:
        """Allocate the agent's next version, store ``build(version)``, return it; atomic.

        ``build`` runs inside the write transaction, so it must be quick and must
        return a contract for ``agent_id`` with exactly that version (ValueError
        otherwise; nothing is stored when it raises).
        """
        return self.write(agent_id, build, idempotency=idempotency).contract

    def write(
        self,
        agent_id: str,
        contract: BehavioralContract | ContractBuilder,
        *,
        idempotency: IdempotencyClaim | None = None,
    ) -> StoredWrite:
        """``store`` (a contract) or ``store_next`` (a builder), saying whether it was a replay.

        With ``idempotency``, a key already stored with the same fingerprint
        returns the version it produced and stores nothing; with another
        fingerprint it raises IdempotencyConflict.
        """
        return self._backend.run(_write_step(agent_id, contract, idempotency))

    async def write_async(
        self,
        agent_id: str,
        contract: BehavioralContract | ContractBuilder,
        *,
        idempotency: IdempotencyClaim | None = None,
    ) -> StoredWrite:
        """``write`` from an event loop: the step is queued, and awaited, without a thread hop.

        On disk (SQLite) before it returns, exactly as ``write``: the step joins
        the group commit's queue and the store's committer thread commits it.
        Only for stores whose ``serves_event_loop`` is true (TypeError otherwise).
        """
        backend = self._backend
        if not backend.local:
            raise TypeError(
                f"contract store {self.location} cannot queue writes from an event loop"
            )
        step = _write_step(agent_id, contract, idempotency)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoredWrite] = loop.create_future()

        def settle(pending: _Pending) -> None:
            # RuntimeError: the loop has closed, and nobody awaits the write any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_future, future, pending)

        cast(_QueuingBackend, backend).submit(step, settle)
        return await future

    @property
    def serves_event_loop(self) -> bool:
        """True when reads are local and quick and writes can be awaited (memory, SQLite).

        An event loop may then call the reads directly (one indexed query on a
        local file, never waiting for a writer in WAL mode) and
        ``await write_async(...)``; a PostgreSQL store is reached over the
        network and is called from worker threads instead.
        """
        return self._backend.local

    def find_idempotent(self, key: str) -> IdempotentWrite | None:
        """What an idempotency key recorded, or None when it was never used."""
        return self._backend.find_key(key)

    def attach_seal(self, sealed: BehavioralContract) -> BehavioralContract:
        """Record the seal of a stored, still unsealed version; return the sealed contract.

        Only the signature and signer change: the sealed content must equal the
        stored content byte for byte, so the history auditors read is unchanged.
        Raises ValueError when the version is missing, already sealed, or differs.
        """

        def step(txn: _Transaction) -> BehavioralContract:
            stored = txn.find(sealed.agent_id, sealed.version)
            if stored is None:
                raise ValueError(f"agent {sealed.agent_id!r} has no version {sealed.version}")
            if stored.is_sealed:
                raise ValueError(
                    f"agent {sealed.agent_id!r} version {sealed.version} is already sealed "
                    f"by {stored.signed_by or 'an unnamed signer'}"
                )
            if stored.canonical_bytes() != sealed.canonical_bytes() or not sealed.is_sealed:
                raise ValueError("the sealed contract's content differs from the stored version")
            txn.replace_seal(sealed)
            return sealed

        return self._backend.run(step)

    def latest_version(self, agent_id: str) -> int:
        """The agent's latest stored version, 0 when it has none."""
        active = self.get_active(agent_id)
        return active.version if active else 0

    def get_active(self, agent_id: str) -> BehavioralContract | None:
        """The agent's latest version, or None for an agent with no contract; one indexed read."""
        key = _lookup_key(agent_id)
        return None if key is None else self._backend.active(key)

    def get_version(self, agent_id: str, version: int) -> BehavioralContract | None:
        """One version of the agent's contract, or None when it was never stored."""
        key = _lookup_key(agent_id)
        if key is None or not 1 <= version <= MAX_VERSION:
            return None  # no contract can carry such an id or version
        return self._backend.version(key, version)

    def get_history(self, agent_id: str) -> list[BehavioralContract]:
        """Every stored version of the agent's contract, oldest first."""
        key = _lookup_key(agent_id)
        return [] if key is None else self._backend.history(key)

    def agents(self) -> list[str]:
        """Ids of agents with at least one contract, sorted."""
        return self._backend.agents()


def _open_backend(location: StoreLocation | None, pool: PoolSettings) -> _Backend:
    if location is None:
        return _MemoryBackend()
    if not is_database_url(location):
        return _SqliteBackend(Path(location))
    try:
        from nomotic_dsl.runtime.contracts.postgres import PostgresBackend
    except ImportError as exc:
        raise StoreUnavailable(
            f"contract store {redact(location)}: PostgreSQL support is not installed "
            f"({exc.name or 'psycopg'} is missing): pip install 'nomotic-dsl[postgres]'"
        ) from None
    return PostgresBackend(str(location), pool)


def _lookup_key(agent_id: str) -> str | None:
    try:
        return normalize_agent_id(agent_id)
    except AgentIdError:
        return None


def _write_step(
    agent_id: str,
    contract: BehavioralContract | ContractBuilder,
    idempotency: IdempotencyClaim | None,
) -> Callable[[_Transaction], StoredWrite]:
    """The atomic step of ``ContractStore.write``: replay, or check the version, insert, key."""
    check_agent_id(agent_id)

    def step(txn: _Transaction) -> StoredWrite:
        if idempotency is not None:
            earlier = _replay(txn, idempotency)
            if earlier is not None:
                return StoredWrite(earlier, replayed=True)
        latest = txn.latest(agent_id)
        if isinstance(contract, BehavioralContract):
            stored = contract
            check_agent_id(stored.agent_id)
            if stored.version <= latest:
                raise VersionConflict(stored.agent_id, stored.version, latest)
        else:
            version = latest + 1
            stored = contract(version)
            if stored.agent_id != agent_id or stored.version != version:
                raise ValueError(
                    f"store_next expected agent {agent_id!r} version {version}, "
                    f"the builder gave agent {stored.agent_id!r} version {stored.version}"
                )
        txn.insert(stored)
        if idempotency is not None:
            txn.insert_key(
                IdempotentWrite(
                    idempotency.key, idempotency.fingerprint, stored.agent_id, stored.version
                )
            )
        return StoredWrite(stored)

    return step


def _replay(txn: _Transaction, claim: IdempotencyClaim) -> BehavioralContract | None:
    earlier = txn.find_key(claim.key)
    if earlier is None:
        return None
    if earlier.fingerprint != claim.fingerprint:
        raise IdempotencyConflict(claim.key, earlier.agent_id, earlier.version)
    stored = txn.find(earlier.agent_id, earlier.version)
    if stored is None:  # pragma: no cover - the key and its version are written together
        raise ValueError(f"idempotency key {claim.key!r} names a version that is not stored")
    return stored


def _settle_future(future: asyncio.Future[StoredWrite], pending: _Pending) -> None:
    """In the loop's thread: the awaiting writer gets its step's result or error."""
    if future.cancelled():
        return  # the request went away; its write is committed all the same
    if pending.error is not None:
        future.set_exception(pending.error)
    else:
        future.set_result(cast(StoredWrite, pending.result))


class _MemoryBackend:
    """Dicts behind a lock: the same rules as SQLite, for one process."""

    path: Path | None = None
    location = "memory"
    local = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, dict[int, BehavioralContract]] = {}
        self._latest: dict[str, int] = {}
        self._keys: dict[str, IdempotentWrite] = {}

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, step: Callable[[_Transaction], Result]) -> Result:
        with self._lock:
            staged = _StagedWrites(self._versions, self._latest, self._keys)
            result = step(staged)
            staged.apply()
            return result

    def submit(self, step: Callable[[_Transaction], object], settle: Settle) -> None:
        pending = _Pending(step, settle)
        try:
            pending.result = self.run(step)
        except Exception as exc:
            pending.error = exc
        pending.done = True
        settle(pending)

    def active(self, agent_id: str) -> BehavioralContract | None:
        with self._lock:
            latest = self._latest.get(agent_id)
            return None if latest is None else self._versions[agent_id][latest]

    def history(self, agent_id: str) -> list[BehavioralContract]:
        with self._lock:
            versions = self._versions.get(agent_id, {})
            return [versions[n] for n in sorted(versions)]

    def version(self, agent_id: str, version: int) -> BehavioralContract | None:
        with self._lock:
            return self._versions.get(agent_id, {}).get(version)

    def agents(self) -> list[str]:
        with self._lock:
            return sorted(self._versions)

    def find_key(self, key: str) -> IdempotentWrite | None:
        with self._lock:
            return self._keys.get(key)


class _StagedWrites:
    """Inserts held back until the step succeeds, so a failed step changes nothing."""

    def __init__(
        self,
        versions: dict[str, dict[int, BehavioralContract]],
        latest: dict[str, int],
        keys: dict[str, IdempotentWrite],
    ) -> None:
        self._versions = versions
        self._latest_of = latest
        self._keys = keys
        self._pending: list[BehavioralContract] = []
        self._pending_keys: list[IdempotentWrite] = []

    def latest(self, agent_id: str) -> int:
        return self._latest_of.get(agent_id, 0)

    def insert(self, contract: BehavioralContract) -> None:
        self._pending.append(contract)

    def find(self, agent_id: str, version: int) -> BehavioralContract | None:
        return self._versions.get(agent_id, {}).get(version)

    def replace_seal(self, contract: BehavioralContract) -> None:
        self._pending.append(contract)

    def find_key(self, key: str) -> IdempotentWrite | None:
        return self._keys.get(key)

    def insert_key(self, record: IdempotentWrite) -> None:
        self._pending_keys.append(record)

    def apply(self) -> None:
        for contract in self._pending:
            self._versions.setdefault(contract.agent_id, {})[contract.version] = contract
            latest = self._latest_of.get(contract.agent_id, 0)
            self._latest_of[contract.agent_id] = max(latest, contract.version)
        for record in self._pending_keys:
            self._keys[record.key] = record


# ---- SQLite --------------------------------------------------------------------------------

_SCHEMA_VERSION = 2
_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS contracts (
        agent_id    TEXT    NOT NULL,
        version     INTEGER NOT NULL CHECK (version >= 1),
        contract_id TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        PRIMARY KEY (agent_id, version)
    )
    """,
    # Schema 2: idempotency keys, each with the version its request produced.
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        key         TEXT    NOT NULL PRIMARY KEY,
        fingerprint TEXT    NOT NULL,
        agent_id    TEXT    NOT NULL,
        version     INTEGER NOT NULL,
        FOREIGN KEY (agent_id, version) REFERENCES contracts (agent_id, version)
    )
    """,
)
# The primary key (agent_id, version) is the index every read uses: the latest
# version is its last entry for the agent, found without reading the others.
_SELECT_ACTIVE = "SELECT body FROM contracts WHERE agent_id = ? ORDER BY version DESC LIMIT 1"
_SELECT_LATEST = "SELECT MAX(version) FROM contracts WHERE agent_id = ?"
_SELECT_VERSION = "SELECT body FROM contracts WHERE agent_id = ? AND version = ?"
_SELECT_HISTORY = "SELECT body FROM contracts WHERE agent_id = ? ORDER BY version"
_SELECT_AGENTS = "SELECT DISTINCT agent_id FROM contracts ORDER BY agent_id"
_INSERT = "INSERT INTO contracts (agent_id, version, contract_id, body) VALUES (?, ?, ?, ?)"
_UPDATE_BODY = "UPDATE contracts SET body = ? WHERE agent_id = ? AND version = ?"
_SELECT_KEY = "SELECT fingerprint, agent_id, version FROM idempotency_keys WHERE key = ?"
_INSERT_KEY = (
    "INSERT INTO idempotency_keys (key, fingerprint, agent_id, version) VALUES (?, ?, ?, ?)"
)

# One writer lock per database file in this process, shared by every store on it.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock_for(path: Path) -> threading.Lock:
    key = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


class _SqliteBackend:
    """One row per version; writes serialised per file, then ``BEGIN IMMEDIATE``; WAL journal."""

    local = True

    def __init__(self, path: Path) -> None:
        self.path: Path | None = path
        self.location = str(path)
        self._file = path
        self._local = threading.local()
        self._write_lock = _write_lock_for(path)
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False
        self._committer: ThreadPoolExecutor | None = None
        connection = self._connection()
        with self._write_lock:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            try:
                (found,) = connection.execute("PRAGMA user_version").fetchone()
                if found > _SCHEMA_VERSION:
                    raise StoreSchemaError(
                        f"contract store {path} has schema {found}; this version of "
                        f"nomotic_dsl reads schema {_SCHEMA_VERSION} and older"
                    )
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def connect(self) -> None:
        pass  # the file is opened, and its schema upgraded, when the backend is made

    def close(self) -> None:
        # The committer's queued writes finish first. The store stays usable, as
        # it always was after close(): a later awaited write starts a new committer.
        with self._queue_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.shutdown(wait=True)
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:  # this thread's; other threads' close when they end
            connection.close()
            self._local.connection = None

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread: safe to share the store between threads,
        # and no connect and PRAGMA cost per operation.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._file, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
        return connection

    def run(self, step: Callable[[_Transaction], Result]) -> Result:
        """Queue ``step``; one writer at a time commits everything queued, in one transaction.

        Group commit: the writer that finds no leader becomes the leader; it
        takes every step queued so far, runs each inside its own savepoint (a
        step that raises undoes only its own writes), commits them with one
        fsync, wakes their writers, and hands the lead to the first writer
        queued meanwhile. The others sleep on their own event until their
        step is committed, so they neither poll SQLite's busy handler nor
        queue one by one on a lock; every write is on disk before it returns.
        """
        pending = _Pending(step)
        with self._queue_lock:
            self._queue.append(pending)
            lead = not self._leading
            self._leading = True
        if not lead:
            pending.wake.wait()
            if pending.done:
                return cast(Result, pending.outcome())
        with self._queue_lock:
            batch, self._queue = self._queue, []
        try:
            with self._write_lock:
                self._commit(batch)
        finally:
            with self._queue_lock:
                if not self._queue:
                    self._leading = False
                elif self._queue[0].settle is None:
                    self._queue[0].wake.set()  # a thread waiting: it leads the next batch
                else:
                    self._hand_to_committer()  # a coroutine waiting: the committer leads
        return cast(Result, pending.outcome())

    def submit(self, step: Callable[[_Transaction], object], settle: Settle) -> None:
        """Queue ``step`` without waiting; ``settle(pending)`` runs once it is committed.

        The same queue as ``run``: with no leader, the store's committer thread
        takes the lead and commits batch after batch until the queue is empty.
        """
        pending = _Pending(step, settle)
        with self._queue_lock:
            self._queue.append(pending)
            if self._leading:
                return
            self._leading = True
            self._hand_to_committer()

    def _hand_to_committer(self) -> None:
        """Start the committer on the queue (called holding the queue lock, as leader)."""
        if self._committer is None:
            self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nomo-commit")
        self._committer.submit(self._drain)

    def _drain(self) -> None:
        """The committer's lead: commit what is queued, batch after batch, until none is left."""
        while True:
            with self._queue_lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._leading = False
                    return
            with self._write_lock:
                self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        connection: sqlite3.Connection | None = None
        try:
            connection = self._connection()
            # IMMEDIATE takes SQLite's write lock before any step reads the latest
            # version, so writers in other processes cannot interleave.
            connection.execute("BEGIN IMMEDIATE")
            transaction = _SqliteTransaction(connection)
            for pending in batch:
                connection.execute("SAVEPOINT step")
                try:
                    pending.result = pending.step(transaction)
                except Exception as exc:
                    connection.execute("ROLLBACK TO step")
                    pending.error = exc
                connection.execute("RELEASE step")
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection is not None and connection.in_transaction:
                connection.execute("ROLLBACK")
            for pending in batch:
                pending.result = None
                pending.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for pending in batch:
                pending.done = True
                if pending.settle is None:
                    pending.wake.set()
                else:
                    pending.settle(pending)

    def active(self, agent_id: str) -> BehavioralContract | None:
        row = self._connection().execute(_SELECT_ACTIVE, (agent_id,)).fetchone()
        return None if row is None else _decode(row[0])

    def history(self, agent_id: str) -> list[BehavioralContract]:
        rows = self._connection().execute(_SELECT_HISTORY, (agent_id,)).fetchall()
        return [_decode(body) for (body,) in rows]

    def version(self, agent_id: str, version: int) -> BehavioralContract | None:
        row = self._connection().execute(_SELECT_VERSION, (agent_id, version)).fetchone()
        return None if row is None else _decode(row[0])

    def agents(self) -> list[str]:
        rows = self._connection().execute(_SELECT_AGENTS).fetchall()
        return [agent for (agent,) in rows]

    def find_key(self, key: str) -> IdempotentWrite | None:
        return _find_key(self._connection(), key)


class _Pending:
    """One queued write step and, once its batch is committed, its result or error."""

    __slots__ = ("done", "error", "result", "settle", "step", "wake")

    def __init__(
        self, step: Callable[[_Transaction], object], settle: Settle | None = None
    ) -> None:
        self.step = step
        self.done = False
        # A thread's write: set when the step is committed (done), or when this writer
        # is to lead. A coroutine's write (``settle``): called once, when it is done.
        self.settle = settle
        self.wake = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None

    def outcome(self) -> object:
        if self.error is not None:
            raise self.error
        return self.result


class _SqliteTransaction:
    """Reads and writes inside one open SQLite transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def latest(self, agent_id: str) -> int:
        row = self._connection.execute(_SELECT_LATEST, (agent_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def insert(self, contract: BehavioralContract) -> None:
        self._connection.execute(
            _INSERT, (contract.agent_id, contract.version, contract.contract_id, _encode(contract))
        )

    def find(self, agent_id: str, version: int) -> BehavioralContract | None:
        row = self._connection.execute(_SELECT_VERSION, (agent_id, version)).fetchone()
        return None if row is None else _decode(row[0])

    def replace_seal(self, contract: BehavioralContract) -> None:
        self._connection.execute(
            _UPDATE_BODY, (_encode(contract), contract.agent_id, contract.version)
        )

    def find_key(self, key: str) -> IdempotentWrite | None:
        return _find_key(self._connection, key)

    def insert_key(self, record: IdempotentWrite) -> None:
        self._connection.execute(
            _INSERT_KEY, (record.key, record.fingerprint, record.agent_id, record.version)
        )


def _find_key(connection: sqlite3.Connection, key: str) -> IdempotentWrite | None:
    row = connection.execute(_SELECT_KEY, (key,)).fetchone()
    return None if row is None else IdempotentWrite(key, row[0], row[1], int(row[2]))
