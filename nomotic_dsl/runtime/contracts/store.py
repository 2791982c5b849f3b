"""ContractStore: every version of every agent's contract, in memory or in SQLite.

Input: BehavioralContract values. Output: the same values read back (equal,
seals intact), by agent and version. Stage: persistence between contract
generation and the runtime / HTTP API.

Versions per agent only grow: ``store()`` refuses a version not greater than
the agent's latest, and ``store_next()`` allocates the next version and stores
the contract built for it in one atomic step, so concurrent writers (threads or
processes) never get the same version and never lose one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.ir.contract import MAX_VERSION, BehavioralContract

# How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_MS = 30_000
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS contracts (
    agent_id    TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    contract_id TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (agent_id, version)
)
"""

ContractBuilder = Callable[[int], BehavioralContract]


class VersionConflict(ValueError):
    """A contract whose version is not greater than the agent's latest stored version."""

    def __init__(self, agent_id: str, version: int, latest: int) -> None:
        self.agent_id = agent_id
        self.version = version
        self.latest = latest
        super().__init__(
            f"agent {agent_id!r}: version {version} must be greater than the latest "
            f"stored version {latest}"
        )


class _Transaction(Protocol):
    """The operations one atomic store step needs from a backend."""

    def latest(self, agent_id: str) -> int: ...

    def insert(self, contract: BehavioralContract) -> None: ...

    def find(self, agent_id: str, version: int) -> BehavioralContract | None: ...

    def replace_seal(self, contract: BehavioralContract) -> None: ...


class ContractStore:
    """Versioned contracts per agent; ``ContractStore()`` in memory, ``ContractStore(path)`` in SQLite."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._backend: _MemoryBackend | _SqliteBackend = (
            _MemoryBackend() if path is None else _SqliteBackend(Path(path))
        )

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for an in-memory store."""
        return self._backend.path

    def store(self, contract: BehavioralContract) -> BehavioralContract:
        """Store ``contract``; raise VersionConflict unless its version exceeds the latest."""
        with self._backend.transaction() as txn:
            latest = txn.latest(contract.agent_id)
            if contract.version <= latest:
                raise VersionConflict(contract.agent_id, contract.version, latest)
            txn.insert(contract)
        return contract

    def store_next(self, agent_id: str, build: ContractBuilder) -> BehavioralContract:
        """Allocate the agent's next version, store ``build(version)``, return it; atomic.

        ``build`` runs inside the write transaction, so it must be quick and must
        return a contract for ``agent_id`` with exactly that version (ValueError
        otherwise; nothing is stored when it raises).
        """
        with self._backend.transaction() as txn:
            version = txn.latest(agent_id) + 1
            contract = build(version)
            if contract.agent_id != agent_id or contract.version != version:
                raise ValueError(
                    f"store_next expected agent {agent_id!r} version {version}, "
                    f"the builder gave agent {contract.agent_id!r} version {contract.version}"
                )
            txn.insert(contract)
        return contract

    def attach_seal(self, sealed: BehavioralContract) -> BehavioralContract:
        """Record the seal of a stored, still unsealed version; return the sealed contract.

        Only the signature and signer change: the sealed content must equal the
        stored content byte for byte, so the history auditors read is unchanged.
        Raises ValueError when the version is missing, already sealed, or differs.
        """
        with self._backend.transaction() as txn:
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

    def latest_version(self, agent_id: str) -> int:
        """The agent's latest stored version, 0 when it has none."""
        history = self._backend.history(agent_id)
        return history[-1].version if history else 0

    def get_active(self, agent_id: str) -> BehavioralContract | None:
        """The agent's latest version, or None for an agent with no contract."""
        history = self._backend.history(agent_id)
        return history[-1] if history else None

    def get_version(self, agent_id: str, version: int) -> BehavioralContract | None:
        """One version of the agent's contract, or None when it was never stored."""
        if not 1 <= version <= MAX_VERSION:
            return None  # no contract can carry such a version
        return self._backend.version(agent_id, version)

    def get_history(self, agent_id: str) -> list[BehavioralContract]:
        """Every stored version of the agent's contract, oldest first."""
        return self._backend.history(agent_id)

    def agents(self) -> list[str]:
        """Ids of agents with at least one contract, sorted."""
        return self._backend.agents()


class _MemoryBackend:
    """Dicts behind a lock: the same rules as SQLite, for one process."""

    path: Path | None = None

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, dict[int, BehavioralContract]] = {}

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self._lock:
            staged = _StagedWrites(self._versions)
            yield staged
            staged.apply()

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


class _StagedWrites:
    """Inserts held back until the step succeeds, so a failed step changes nothing."""

    def __init__(self, versions: dict[str, dict[int, BehavioralContract]]) -> None:
        self._versions = versions
        self._pending: list[BehavioralContract] = []

    def latest(self, agent_id: str) -> int:
        stored = self._versions.get(agent_id, {})
        return max(stored, default=0)

    def insert(self, contract: BehavioralContract) -> None:
        self._pending.append(contract)

    def find(self, agent_id: str, version: int) -> BehavioralContract | None:
        return self._versions.get(agent_id, {}).get(version)

    def replace_seal(self, contract: BehavioralContract) -> None:
        self._pending.append(contract)

    def apply(self) -> None:
        for contract in self._pending:
            self._versions.setdefault(contract.agent_id, {})[contract.version] = contract


class _SqliteBackend:
    """One row per version; writes in ``BEGIN IMMEDIATE`` transactions, WAL journal."""

    def __init__(self, path: Path) -> None:
        self.path: Path | None = path
        self._file = path
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(_SCHEMA)
            connection.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            connection.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation keeps the store safe to share between threads.
        connection = sqlite3.connect(
            self._file, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous=FULL")
            yield connection
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self._connect() as connection:
            # IMMEDIATE takes the write lock before reading the latest version, so
            # two writers cannot both read the same latest and pick the same next.
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def history(self, agent_id: str) -> list[BehavioralContract]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT body FROM contracts WHERE agent_id = ? ORDER BY version", (agent_id,)
            ).fetchall()
        return [_decode(body) for (body,) in rows]

    def version(self, agent_id: str, version: int) -> BehavioralContract | None:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT body FROM contracts WHERE agent_id = ? AND version = ?",
                (agent_id, version),
            ).fetchone()
        return None if row is None else _decode(row[0])

    def agents(self) -> list[str]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT DISTINCT agent_id FROM contracts ORDER BY agent_id"
            ).fetchall()
        return [agent for (agent,) in rows]


class _SqliteTransaction:
    """Reads and writes inside one open SQLite transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def latest(self, agent_id: str) -> int:
        row = self._connection.execute(
            "SELECT MAX(version) FROM contracts WHERE agent_id = ?", (agent_id,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def insert(self, contract: BehavioralContract) -> None:
        self._connection.execute(
            "INSERT INTO contracts (agent_id, version, contract_id, body) VALUES (?, ?, ?, ?)",
            (contract.agent_id, contract.version, contract.contract_id, _encode(contract)),
        )

    def find(self, agent_id: str, version: int) -> BehavioralContract | None:
        row = self._connection.execute(
            "SELECT body FROM contracts WHERE agent_id = ? AND version = ?", (agent_id, version)
        ).fetchone()
        return None if row is None else _decode(row[0])

    def replace_seal(self, contract: BehavioralContract) -> None:
        self._connection.execute(
            "UPDATE contracts SET body = ? WHERE agent_id = ? AND version = ?",
            (_encode(contract), contract.agent_id, contract.version),
        )


def _encode(contract: BehavioralContract) -> str:
    return canonical_json(contract.to_dict()).decode("utf-8")


def _decode(body: str) -> BehavioralContract:
    return BehavioralContract.from_dict(json.loads(body))
