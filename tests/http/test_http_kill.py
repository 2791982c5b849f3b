"""kill -9 of a real server mid-load (issue 16, finding 6): nothing acknowledged is lost.

Eight clients write with idempotency keys; the server is killed with SIGKILL
while they do. After a restart on the same SQLite file: every acknowledged
write is there with the version it was acknowledged with, each agent's
history is 1..N without a gap, ``PRAGMA integrity_check`` is ok, and retrying
every write whose answer was lost, with its key, creates no extra version (a
write that had committed before the kill is replayed, one that had not is
stored once). Bounded: at most ``MAX_REQUESTS`` requests and ``KILL_AFTER_S``
seconds before the kill; all traffic on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.load import RawConnection, write_body
from bench.server import HOST, TOKEN, Server, start_server

pytestmark = pytest.mark.slow

CLIENTS = 8
AGENTS = [f"killed-{index}" for index in range(4)]
MAX_REQUESTS = 2_000
KILL_AFTER_ACKS = 150
KILL_AFTER_S = 10.0
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@dataclass
class Ledger:
    """Every write sent: acknowledged (key -> agent, version, id) or unanswered (key -> agent)."""

    acked: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)
    sent: int = 0


async def _write(connection: RawConnection, agent: str, key: str) -> tuple[int, dict[str, object]]:
    answer = await asyncio.wait_for(
        connection.request(
            "POST", "/v1/contracts", write_body(agent), {**HEADERS, "Idempotency-Key": key}
        ),
        30.0,
    )
    return answer.status_code, {**answer.json(), "_replayed": answer.replayed}


async def _writer(server: Server, index: int, ledger: Ledger, stop: asyncio.Event) -> None:
    connection = RawConnection(HOST, server.port)
    try:
        step = 0
        while not stop.is_set() and ledger.sent < MAX_REQUESTS:
            step += 1
            agent = AGENTS[(index + step) % len(AGENTS)]
            key = uuid.uuid4().hex
            ledger.sent += 1
            try:
                status, body = await _write(connection, agent, key)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                ledger.unanswered[key] = agent
                return  # the server is gone
            assert status == 201, (status, body)
            ledger.acked[key] = (agent, int(body["version"]), str(body["contract_id"]))  # type: ignore[call-overload]
    finally:
        await connection.close()


async def _load_then_kill(server: Server, ledger: Ledger) -> None:
    stop = asyncio.Event()
    writers = [
        asyncio.create_task(_writer(server, index, ledger, stop)) for index in range(CLIENTS)
    ]
    deadline = time.monotonic() + KILL_AFTER_S
    while len(ledger.acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    # SIGKILL from another thread while the event loop keeps the writers going,
    # so some are mid-request: their writes may or may not have committed.
    await asyncio.get_running_loop().run_in_executor(None, server.kill)
    await asyncio.wait_for(asyncio.gather(*writers), 60.0)
    stop.set()


async def _retry(server: Server, keys: dict[str, str]) -> dict[str, tuple[int, dict[str, object]]]:
    connection = RawConnection(HOST, server.port)
    try:
        return {key: await _write(connection, agent, key) for key, agent in keys.items()}
    finally:
        await connection.close()


def test_a_killed_server_loses_nothing_acknowledged_and_retries_add_no_version(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.sqlite3"
    ledger = Ledger()
    first = start_server(tmp_path, db)
    try:
        asyncio.run(_load_then_kill(first, ledger))
    finally:
        first.stop()
    assert first.process.returncode == -9
    assert len(ledger.acked) >= 1 and ledger.unanswered, (len(ledger.acked), ledger.unanswered)

    second = start_server(tmp_path, db)
    try:
        retried = asyncio.run(_retry(second, ledger.unanswered))
        replays = asyncio.run(_retry(second, {k: v[0] for k, v in list(ledger.acked.items())[:20]}))
        histories = asyncio.run(_histories(second))
    finally:
        second.stop()

    assert all(status == 201 for status, _ in retried.values()), retried
    # Whether any unanswered write had committed before the kill depends on timing;
    # either way the retry must not add a version (checked below).
    print(
        f"kill -9: {len(ledger.acked)} acknowledged, {len(retried)} unanswered retried, "
        f"{sum(bool(body['_replayed']) for _, body in retried.values())} of them replays"
    )
    for key, (status, body) in replays.items():
        agent, version, contract_id = ledger.acked[key]
        assert status == 201 and body["_replayed"] is True
        assert (body["version"], body["contract_id"]) == (version, contract_id)

    answered = {key: (agent, version) for key, (agent, version, _) in ledger.acked.items()}
    answered.update(
        {key: (str(body["agent_id"]), int(body["version"])) for key, (_, body) in retried.items()}  # type: ignore[call-overload]
    )
    for agent in AGENTS:
        versions = [item[0] for item in histories[agent]]
        assert versions == list(range(1, len(versions) + 1)), (agent, versions)
        expected = sorted(version for key, (a, version) in answered.items() if a == agent)
        # One version per key: the retries created none beyond their own write.
        assert versions == expected, (agent, versions, expected)
    for key, (agent, version, contract_id) in ledger.acked.items():
        assert (version, contract_id) in histories[agent], key
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = connection.execute("SELECT COUNT(*) FROM idempotency_keys").fetchone()[0]
    finally:
        connection.close()
    assert keys == len(answered)


async def _histories(server: Server) -> dict[str, list[tuple[int, str]]]:
    connection = RawConnection(HOST, server.port)
    try:
        found = {}
        for agent in AGENTS:
            answer = await connection.request("GET", f"/v1/contracts/{agent}/history", b"", HEADERS)
            contracts = answer.json()["contracts"] if answer.status_code == 200 else []
            found[agent] = [(item["version"], item["contract_id"]) for item in contracts]
        return found
    finally:
        await connection.close()
