"""Writes awaited from an event loop (``ContractStore.write_async``) keep every rule of ``write``.

On SQLite they join the group commit's queue and the store's committer
thread commits them, mixed with threads calling ``write`` on the same store:
no version lost or given twice, replays and conflicts answered as ``write``
answers them, a failing step undoing only itself. PostgreSQL stores do not
serve event loops (their writes are called from worker threads).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nomotic_dsl.ir import BehavioralContract
from nomotic_dsl.runtime.contracts.store import (
    ContractStore,
    IdempotencyClaim,
    IdempotencyConflict,
    VersionConflict,
)


def contract(version: int, agent: str = "agent-1") -> BehavioralContract:
    return BehavioralContract(agent_id=agent, version=version)


def next_for(agent: str) -> Callable[[int], BehavioralContract]:
    return lambda version: contract(version, agent=agent)


@pytest.fixture(params=["memory", "sqlite"])
def local_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContractStore]:
    location = None if request.param == "memory" else tmp_path / "async.sqlite3"
    store = ContractStore(location)
    yield store
    store.close()


def test_local_stores_serve_event_loops(local_store: ContractStore) -> None:
    assert local_store.serves_event_loop


def test_awaited_and_threaded_writers_share_one_queue(local_store: ContractStore) -> None:
    """64 coroutines and 4 threads x 16 writes on two agents: versions 1..N each, none twice."""

    def threaded(agent: str) -> list[int]:
        return [local_store.write(agent, next_for(agent)).contract.version for _ in range(16)]

    async def awaited() -> list[BehavioralContract]:
        writes = [
            local_store.write_async(agent, next_for(agent))
            for _ in range(32)
            for agent in ("a", "b")
        ]
        return [written.contract for written in await asyncio.gather(*writes)]

    results: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda agent=agent: results.append(threaded(agent)))
        for agent in ("a", "b", "a", "b")
    ]
    for thread in threads:
        thread.start()
    from_loop = asyncio.run(awaited())
    for thread in threads:
        thread.join(timeout=60)
    for agent in ("a", "b"):
        versions = [item.version for item in local_store.get_history(agent)]
        assert versions == list(range(1, 16 * 2 + 32 + 1))
    given = [item.version for item in from_loop] + [v for batch in results for v in batch]
    assert len(given) == 128
    assert len({(c.agent_id, c.version) for c in from_loop}) == 64


def test_awaited_writes_answer_as_write_does(local_store: ContractStore) -> None:
    claim = IdempotencyClaim("key-1", "print-1")

    async def scenario() -> None:
        first = await local_store.write_async("k", next_for("k"), idempotency=claim)
        again = await local_store.write_async("k", next_for("k"), idempotency=claim)
        assert not first.replayed and again.replayed
        assert again.contract == first.contract
        with pytest.raises(IdempotencyConflict):
            await local_store.write_async(
                "k", next_for("k"), idempotency=IdempotencyClaim("key-1", "print-2")
            )
        with pytest.raises(VersionConflict):
            await local_store.write_async("k", contract(1, agent="k"))

        def broken(version: int) -> BehavioralContract:
            raise RuntimeError("builder failed")

        # A failing step, committed in the same batch as good ones, undoes only itself.
        outcomes = await asyncio.gather(
            local_store.write_async("k", next_for("k")),
            local_store.write_async("k", broken),
            local_store.write_async("k", next_for("k")),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], RuntimeError)
        assert sorted(o.contract.version for o in outcomes if not isinstance(o, Exception)) == [
            2,
            3,
        ]

    asyncio.run(scenario())
    assert [item.version for item in local_store.get_history("k")] == [1, 2, 3]
    assert local_store.find_idempotent("key-1") is not None


def test_an_awaited_write_is_committed_when_it_returns(tmp_path: Path) -> None:
    """Read back through another connection (another store on the file) right after the await."""
    path = tmp_path / "durable.sqlite3"
    store = ContractStore(path)

    async def write_and_check() -> None:
        for expected in range(1, 21):
            written = await store.write_async("d", next_for("d"))
            assert written.contract.version == expected
            other = ContractStore(path)
            assert other.latest_version("d") == expected
            other.close()

    asyncio.run(write_and_check())
    store.close()


def test_a_network_store_refuses_awaited_writes(local_store: ContractStore) -> None:
    class Remote:
        local = False
        location = "postgresql://db/x"

    real = local_store._backend
    local_store._backend = Remote()  # type: ignore[assignment]
    try:
        assert not local_store.serves_event_loop
        with pytest.raises(TypeError, match="cannot queue writes"):
            asyncio.run(local_store.write_async("x", next_for("x")))
    finally:
        local_store._backend = real


def test_row_bodies_decode_once_and_large_ones_every_time() -> None:
    import json

    from nomotic_dsl.runtime.contracts import backend

    small = backend.encode_contract(contract(3, agent="cached"))
    large_contract = BehavioralContract(
        agent_id="large", version=1, authorized_scope={"actions": [f"a{i}" for i in range(3000)]}
    )
    large = backend.encode_contract(large_contract)
    assert len(small) <= backend.DECODED_CACHE_MAX_CHARS < len(large)
    first, again = backend.decode_contract(small), backend.decode_contract(small)
    assert first == again == BehavioralContract.from_dict(json.loads(small))
    before = backend._decoded.cache_info()
    assert backend.decode_contract(large) == large_contract
    after = backend._decoded.cache_info()
    assert (after.hits, after.misses, after.currsize) == (
        before.hits,
        before.misses,
        before.currsize,
    )


def test_a_closed_store_still_takes_awaited_and_threaded_writes(tmp_path: Path) -> None:
    """close() releases connections and the committer; later writes work as they always did."""
    store = ContractStore(tmp_path / "reopened.sqlite3")

    async def two() -> list[int]:
        first = await store.write_async("r", next_for("r"))
        second = await store.write_async("r", next_for("r"))
        return [first.contract.version, second.contract.version]

    assert asyncio.run(two()) == [1, 2]
    store.close()
    assert asyncio.run(asyncio.wait_for(two(), timeout=30)) == [3, 4]
    assert store.write("r", next_for("r")).contract.version == 5
    store.close()
    assert asyncio.run(asyncio.wait_for(two(), timeout=30)) == [6, 7]
    store.close()
