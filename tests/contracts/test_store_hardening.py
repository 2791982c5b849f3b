"""The store under load and hostile ids (issue 16, findings 6 and 7).

The active contract is read with one indexed query whatever the history's
length; concurrent writers are group-committed (no lost or duplicated
version, a failing step undoes only itself); idempotency keys make a retried
write store nothing; agent ids follow the one rule of ``nomotic_dsl.ir.agent_id``.
Every backend (memory, SQLite, PostgreSQL) is held to the same behaviour.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nomotic_dsl.ir import BehavioralContract, ContractError
from nomotic_dsl.ir.agent_id import AgentIdError, check_agent_id, normalize_agent_id
from nomotic_dsl.runtime.contracts import store as store_module
from nomotic_dsl.runtime.contracts.backend import StoreLocation
from nomotic_dsl.runtime.contracts.store import (
    ContractStore,
    IdempotencyClaim,
    IdempotencyConflict,
    StoreSchemaError,
    VersionConflict,
)

StoreFactory = Callable[[], ContractStore]


@pytest.fixture
def make_store(store_location: StoreLocation | None) -> Iterator[StoreFactory]:
    """Stores on the test's backend (each call opens it again); all closed afterwards."""
    opened: list[ContractStore] = []

    def make() -> ContractStore:
        opened.append(ContractStore(store_location))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def contract(version: int, agent: str = "agent-1", **fields: object) -> BehavioralContract:
    return BehavioralContract(agent_id=agent, version=version, **fields)  # type: ignore[arg-type]


def test_the_active_contract_is_one_indexed_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ContractStore(tmp_path / "long.sqlite3")
    for _ in range(1500):
        store.store_next("busy", lambda version: contract(version, agent="busy"))
    decoded: list[str] = []
    real_decode = store_module._decode

    def counting(body: str) -> BehavioralContract:
        decoded.append(body)
        return real_decode(body)

    monkeypatch.setattr(store_module, "_decode", counting)
    assert store.get_active("busy") is not None and store.get_active("busy").version == 1500  # type: ignore[union-attr]
    assert store.latest_version("busy") == 1500
    assert len(decoded) == 3  # one body per call, not 1,500
    connection = sqlite3.connect(tmp_path / "long.sqlite3")
    plan = " ".join(
        str(row[-1])
        for row in connection.execute(
            "EXPLAIN QUERY PLAN " + store_module._SELECT_ACTIVE, ("busy",)
        )
    )
    connection.close()
    assert "USING" in plan and ("PRIMARY KEY" in plan or "INDEX" in plan), plan
    assert "TEMP B-TREE" not in plan, plan  # no sort of the whole history


def test_concurrent_writers_get_contiguous_versions_and_a_failing_step_undoes_only_itself(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    store.store(contract(1, agent="shared"))
    barrier = threading.Barrier(16)
    failures: list[Exception] = []

    def writer(index: int) -> None:
        barrier.wait(timeout=30)
        for step in range(10):
            if step == 5 and index % 4 == 0:
                try:  # an explicit, stale version: refused inside the batch
                    store.store(contract(1, agent="shared"))
                except VersionConflict as exc:
                    failures.append(exc)
                continue
            store.store_next("shared", lambda version: contract(version, agent="shared"))

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    versions = [item.version for item in store.get_history("shared")]
    assert len(failures) == 4
    assert versions == list(range(1, 1 + 1 + 16 * 10 - 4))


def test_a_retried_write_with_its_key_stores_nothing(make_store: StoreFactory) -> None:
    store = make_store()
    claim = IdempotencyClaim("req-1", "digest-a")
    first = store.write("agent-1", lambda v: contract(v), idempotency=claim)
    again = store.write("agent-1", lambda v: contract(v, initial_trust=0.1), idempotency=claim)
    assert not first.replayed and again.replayed
    assert again.contract == first.contract
    assert [c.version for c in store.get_history("agent-1")] == [1]
    with pytest.raises(IdempotencyConflict, match="already used for a different request"):
        store.write("agent-1", lambda v: contract(v), idempotency=IdempotencyClaim("req-1", "b"))
    recorded = store.find_idempotent("req-1")
    assert recorded is not None and (recorded.agent_id, recorded.version) == ("agent-1", 1)
    # A key is kept with the version it produced; an explicit version is replayed too.
    explicit = store.write("agent-1", contract(7), idempotency=IdempotencyClaim("req-2", "c"))
    assert store.write("agent-1", contract(7), idempotency=IdempotencyClaim("req-2", "c")).replayed
    assert explicit.contract.version == 7
    assert store.find_idempotent("never-used") is None


def test_idempotency_keys_survive_reopening_and_fail_with_their_write(
    durable_location: StoreLocation,
) -> None:
    with ContractStore(durable_location) as store:
        store.store(contract(5), idempotency=IdempotencyClaim("k", "f"))
        with pytest.raises(VersionConflict):
            store.store(contract(5), idempotency=IdempotencyClaim("k2", "f"))
    with ContractStore(durable_location) as reopened:
        assert reopened.find_idempotent("k") is not None
        assert reopened.find_idempotent("k2") is None  # the refused write stored no key


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9", "tab\t"])
def test_unusable_idempotency_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        IdempotencyClaim(key, "f")


@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        (".", "dot segment"),
        ("..", "dot segment"),
        ("a/b", "'/'"),
        ("", "empty"),
        ("bot\u202e", "bidirectional"),
        ("bot\u2066x", "bidirectional"),
        ("bo\u200bt", "invisible format"),
        ("\ufeffbot", "invisible format"),
        ("bot\x00", "control"),
        ("bot\n", "control"),
        ("bot\x7f", "control"),
        ("bot\u00a0", "space other than"),
        (" bot", "start or end with a space"),
        ("bot\ufe0f", "invisible character"),
        ("\ud800", "lone surrogate"),
        ("b" * 201, "at most 200"),
    ],
)
def test_unusable_agent_ids_are_refused_by_the_store(
    make_store: StoreFactory, agent: str, reason: str
) -> None:
    with pytest.raises(AgentIdError, match=reason):
        normalize_agent_id(agent)
    store = make_store()
    try:
        built = contract(1, agent=agent)
    except (ContractError, UnicodeError):
        built = None  # the contract model refuses it already (empty id, lone surrogate)
    if built is not None:
        with pytest.raises(AgentIdError):
            store.store(built)
    with pytest.raises(AgentIdError):
        store.store_next(agent, lambda v: contract(v, agent=agent))
    assert store.get_active(agent) is None
    assert store.get_history(agent) == []


def test_nfc_and_nfd_spellings_are_one_agent(make_store: StoreFactory) -> None:
    store = make_store()
    nfc, nfd = "caf\u00e9-bot", "cafe\u0301-bot"
    assert normalize_agent_id(nfd) == nfc
    with pytest.raises(AgentIdError, match="not in Unicode NFC"):
        check_agent_id(nfd)
    with pytest.raises(AgentIdError):
        store.store(contract(1, agent=nfd))  # stored data must already be normalised
    store.store(contract(1, agent=nfc))
    assert store.get_active(nfd) is not None
    assert store.get_version(nfd, 1) is not None
    assert [c.agent_id for c in store.get_history(nfd)] == [nfc]
    assert store.agents() == [nfc]


def test_a_schema_1_store_is_upgraded_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE contracts (agent_id TEXT NOT NULL, version INTEGER NOT NULL "
        "CHECK (version >= 1), contract_id TEXT NOT NULL, body TEXT NOT NULL, "
        "PRIMARY KEY (agent_id, version))"
    )
    old = contract(3)
    connection.execute(
        "INSERT INTO contracts VALUES (?, ?, ?, ?)",
        (old.agent_id, old.version, old.contract_id, store_module._encode(old)),
    )
    connection.execute("PRAGMA user_version=1")
    connection.commit()
    connection.close()
    store = ContractStore(path)
    assert store.get_active("agent-1") == old
    store.store_next("agent-1", lambda v: contract(v), idempotency=IdempotencyClaim("k", "f"))
    assert store.latest_version("agent-1") == 4
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    connection.execute("PRAGMA user_version=99")
    connection.commit()
    connection.close()
    with pytest.raises(StoreSchemaError, match="schema 99"):
        ContractStore(path)
