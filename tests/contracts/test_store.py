"""ContractStore: version rules, history, persistence, and concurrent writers.

Every test with ``store`` runs on each backend (memory, SQLite, PostgreSQL);
the ones across processes on each durable one (SQLite, PostgreSQL).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl import BehavioralContract, ContractStore
from nomotic_dsl.runtime.contracts import VersionConflict
from nomotic_dsl.runtime.contracts.backend import StoreLocation
from tests.contracts.helpers import full_contract

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(store_location: StoreLocation | None) -> Iterator[ContractStore]:
    with ContractStore(store_location) as opened:
        yield opened


def contract(version: int, agent: str = "agent-1", **fields: object) -> BehavioralContract:
    return BehavioralContract(agent_id=agent, version=version, **fields)  # type: ignore[arg-type]


def test_versions_must_grow(store: ContractStore) -> None:
    store.store(contract(1))
    store.store(contract(2))
    with pytest.raises(VersionConflict) as caught:
        store.store(contract(2, initial_trust=0.4))
    assert "version 2" in str(caught.value) and "latest stored version 2" in str(caught.value)
    with pytest.raises(ValueError, match="version 1 must be greater"):
        store.store(contract(1))
    assert [c.version for c in store.get_history("agent-1")] == [1, 2]


def test_versions_beyond_64_bits_are_refused_and_never_found(store: ContractStore) -> None:
    biggest = 2**63 - 1
    store.store(contract(biggest))
    assert store.get_version("agent-1", biggest) is not None
    assert store.get_version("agent-1", 2**63) is None
    assert store.get_version("agent-1", 0) is None
    with pytest.raises(ValueError, match="from 1 to"):
        contract(2**63)


def test_gaps_are_allowed_and_history_is_oldest_first(store: ContractStore) -> None:
    for version in (1, 5, 9):
        store.store(contract(version))
    assert [c.version for c in store.get_history("agent-1")] == [1, 5, 9]
    assert store.latest_version("agent-1") == 9
    with pytest.raises(VersionConflict):
        store.store(contract(7))


def test_lookups(store: ContractStore) -> None:
    v1, v2 = contract(1), contract(2, initial_trust=0.6)
    store.store(v1)
    store.store(v2)
    store.store(contract(1, agent="agent-0"))
    assert store.get_active("agent-1") == v2
    assert store.get_version("agent-1", 1) == v1
    assert store.get_history("agent-1") == [v1, v2]
    assert store.get_version("agent-1", 3) is None
    assert store.get_active("nobody") is None
    assert store.get_history("nobody") == []
    assert store.latest_version("nobody") == 0
    assert store.agents() == ["agent-0", "agent-1"]


def test_agents_are_independent(store: ContractStore) -> None:
    store.store(contract(3, agent="a"))
    store.store(contract(1, agent="b"))
    assert store.get_active("b") is not None
    assert store.get_active("b").version == 1  # type: ignore[union-attr]


def test_read_back_equal_and_seal_verifies(store: ContractStore, signing_key: SigningKey) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    store.store(sealed)
    again = store.get_active(sealed.agent_id)
    assert again == sealed
    assert again is not None and again.verify(signing_key.verify_key)


def test_store_next_allocates_versions(store: ContractStore) -> None:
    first = store.store_next("agent-1", lambda v: contract(v))
    second = store.store_next("agent-1", lambda v: contract(v, initial_trust=0.3))
    assert (first.version, second.version) == (1, 2)
    assert store.get_active("agent-1") == second


def test_store_next_refuses_a_wrong_builder_and_stores_nothing(store: ContractStore) -> None:
    with pytest.raises(ValueError, match="expected agent 'agent-1' version 1"):
        store.store_next("agent-1", lambda v: contract(v + 1))
    with pytest.raises(ValueError, match="builder gave agent 'other'"):
        store.store_next("agent-1", lambda v: contract(v, agent="other"))
    assert store.get_history("agent-1") == []
    assert store.agents() == []


def test_a_failing_builder_leaves_the_store_unchanged(store: ContractStore) -> None:
    store.store(contract(1))

    def explode(version: int) -> BehavioralContract:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.store_next("agent-1", explode)
    assert store.latest_version("agent-1") == 1
    assert store.store_next("agent-1", lambda v: contract(v)).version == 2


def test_memory_store_has_no_path(tmp_path: Path) -> None:
    assert ContractStore().path is None
    assert ContractStore(tmp_path / "x.db").path == tmp_path / "x.db"


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_persists_across_processes(
    durable_location: StoreLocation, signing_key: SigningKey
) -> None:
    db = durable_location
    sealed = full_contract().seal(signing_key, "ops")
    with ContractStore(db) as first:
        first.store(sealed)
    result = _run_python(f"""
        from nacl.signing import SigningKey
        from nomotic_dsl import ContractStore
        store = ContractStore({str(db)!r})
        active = store.get_active("support-bot")
        assert active.verify(SigningKey(bytes(range(32))).verify_key)
        store.store(active.next_version(initial_trust=0.7))
        print(active.contract_id)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sealed.contract_id
    with ContractStore(db) as reopened:
        assert [c.version for c in reopened.get_history("support-bot")] == [2, 3]
        assert reopened.get_version("support-bot", 2) == sealed


WRITER = """
import os, sys, time
from nomotic_dsl import BehavioralContract, ContractStore
store = ContractStore(sys.argv[1])
signals = sys.argv[4]
open(os.path.join(signals, sys.argv[2] + ".ready"), "w").close()
while not os.path.exists(os.path.join(signals, "go")):  # start both writers together
    time.sleep(0.005)
for _ in range(int(sys.argv[3])):
    store.store_next(
        "shared-agent",
        lambda v: BehavioralContract(agent_id="shared-agent", version=v, certificate_id=sys.argv[2]),
    )
    time.sleep(0.002)  # let the other writer in, so the two really interleave
"""


def test_two_processes_writing_at_once_lose_nothing(
    durable_location: StoreLocation, tmp_path: Path
) -> None:
    db = durable_location
    ContractStore(db).close()
    signals = tmp_path / "signals"
    signals.mkdir()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), name, "25", str(signals)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("writer-a", "writer-b")
    ]
    deadline = time.monotonic() + 60
    while not all((signals / f"{name}.ready").exists() for name in ("writer-a", "writer-b")):
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.01)
    (signals / "go").touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    with ContractStore(db) as reopened:
        history = reopened.get_history("shared-agent")
    assert [c.version for c in history] == list(range(1, 51))
    writers_seen = [c.certificate_id for c in history]
    assert writers_seen.count("writer-a") == 25 and writers_seen.count("writer-b") == 25
    switches = sum(a != b for a, b in itertools.pairwise(writers_seen))
    assert switches > 1, "the writers ran one after the other; the race was not exercised"


def test_attach_seal_to_a_stored_version(store: ContractStore, signing_key: SigningKey) -> None:
    store.store(contract(1))
    sealed = store.get_active("agent-1").seal(signing_key, "ops")  # type: ignore[union-attr]
    store.attach_seal(sealed)
    again = store.get_version("agent-1", 1)
    assert again == sealed and again is not None and again.verify(signing_key.verify_key)
    with pytest.raises(ValueError, match="already sealed by ops"):
        store.attach_seal(sealed)
    with pytest.raises(ValueError, match="has no version 2"):
        store.attach_seal(contract(2).seal(signing_key, "ops"))


def test_attach_seal_refuses_changed_content(store: ContractStore, signing_key: SigningKey) -> None:
    store.store(contract(1))
    with pytest.raises(ValueError, match="differs from the stored version"):
        store.attach_seal(contract(1, initial_trust=0.2).seal(signing_key, "ops"))
    with pytest.raises(ValueError, match="differs"):
        store.attach_seal(contract(1))
    assert not store.get_active("agent-1").is_sealed  # type: ignore[union-attr]
