"""The HTTP API on PostgreSQL: two real servers on one database, and 503 when it is down.

Two ``nomo serve`` processes on loopback share one schema; concurrent POSTs
for one agent, split across both, get versions 1..N with no duplicate and no
gap, and either server returns the whole history. A server whose database
is unreachable starts, answers 503 with the JSON error shape (never 500,
never a traceback) and never prints the password.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import AUTH, TOKEN
from fastapi.testclient import TestClient
from postgres_db import require_psycopg

from bench.server import TOKEN as SERVER_TOKEN
from bench.server import Server, start_server
from nomotic_dsl.http import ApiSettings, create_app

POSTS = 80
WRITERS = 16


@pytest.fixture(autouse=True)
def _psycopg() -> None:
    require_psycopg()


def unreachable_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://nomo:hunter2@127.0.0.1:{port}/test"


@pytest.fixture
def pg_client(postgres_url: str) -> Iterator[TestClient]:
    with TestClient(
        create_app(ApiSettings(db_path=postgres_url, write_token=TOKEN)),
        raise_server_exceptions=False,
    ) as client:
        yield client


def test_the_api_over_postgresql(pg_client: TestClient) -> None:
    for trust in (0.4, 0.7):
        answer = pg_client.post(
            "/v1/contracts", json={"agent_id": "pg-bot", "initial_trust": trust}, headers=AUTH
        )
        assert answer.status_code == 201, answer.text
    history = pg_client.get("/v1/contracts/pg-bot/history").json()["contracts"]
    assert [c["version"] for c in history] == [1, 2]
    diff = pg_client.get("/v1/contracts/pg-bot/diff", params={"v1": 1, "v2": 2}).json()
    assert diff["changes"]["initial_trust"] == {"from": 0.4, "to": 0.7}
    retried = [
        pg_client.post(
            "/v1/contracts",
            json={"agent_id": "pg-bot"},
            headers={**AUTH, "Idempotency-Key": "same-request"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in retried] == [201, 201]
    assert retried[0].json() == retried[1].json()
    assert retried[1].headers["Idempotent-Replayed"] == "true"
    stale = pg_client.post("/v1/contracts", json={"agent_id": "pg-bot", "version": 1}, headers=AUTH)
    assert stale.status_code == 409 and stale.json()["latest"] == 3


def test_an_unreachable_database_is_503_json_never_500(caplog: pytest.LogCaptureFixture) -> None:
    url = unreachable_url()
    client = TestClient(
        create_app(ApiSettings(db_path=url, write_token=TOKEN)), raise_server_exceptions=False
    )
    with caplog.at_level(logging.WARNING, logger="nomotic_dsl.http"):
        answers = [
            client.get("/v1/contracts/bot"),
            client.get("/v1/contracts/bot/history"),
            client.get("/v1/contracts/bot/diff", params={"v1": 1, "v2": 2}),
            client.post("/v1/contracts", json={"agent_id": "bot"}, headers=AUTH),
            client.post("/v1/evaluate", json={"agent_id": "bot", "state": {}}),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"error": "the contract store is unavailable; try again later"}
        assert answer.headers["Retry-After"] == "5"
    assert client.post("/v1/check", json={"source": "drift action < 0.2\n"}).status_code == 200
    logged = [record.getMessage() for record in caplog.records]
    assert logged and all("Connection refused" in line and "\n" not in line for line in logged)
    assert not any("hunter2" in line for line in logged)
    assert all(record.exc_info is None for record in caplog.records)  # no traceback


# ---- real servers --------------------------------------------------------------------


@pytest.fixture
def two_servers(postgres_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for _ in range(2):
            servers.append(start_server(tmp_path, postgres_url))
        yield servers
    finally:
        logs = [server.stop() for server in servers]
    assert all("Traceback" not in log for log in logs), logs


def _post(base_url: str, index: int) -> dict[str, Any]:
    body = {"agent_id": "shared-bot", "initial_trust": round(index / POSTS, 4)}
    headers = {"Authorization": f"Bearer {SERVER_TOKEN}"}
    answer = httpx.post(base_url + "/v1/contracts", json=body, headers=headers, timeout=60)
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


@pytest.mark.slow
def test_two_servers_on_one_database_allocate_every_version_once(
    two_servers: list[Server],
) -> None:
    urls = [server.base_url for server in two_servers]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        stored = list(pool.map(lambda i: _post(urls[i % 2], i), range(POSTS)))
    versions = sorted(item["version"] for item in stored)
    assert versions == list(range(1, POSTS + 1))  # no duplicate, no gap
    by_server = [[item["version"] for item in stored[side::2]] for side in (0, 1)]
    assert all(len(side) == POSTS // 2 for side in by_server)
    assert set(by_server[0]).isdisjoint(by_server[1])
    # Both servers really interleaved: neither got one contiguous block.
    assert sorted(by_server[0]) != list(range(1, POSTS // 2 + 1))
    histories = [
        httpx.get(f"{url}/v1/contracts/shared-bot/history", timeout=60).json()["contracts"]
        for url in urls
    ]
    assert histories[0] == histories[1]
    assert [c["version"] for c in histories[0]] == list(range(1, POSTS + 1))
    assert {c["contract_id"] for c in histories[0]} == {item["contract_id"] for item in stored}
    trusts = sorted(c["initial_trust"] for c in histories[0])
    assert trusts == sorted(round(i / POSTS, 4) for i in range(POSTS))


@pytest.mark.slow
def test_a_server_whose_database_is_down_starts_and_answers_503(tmp_path: Path) -> None:
    url = unreachable_url()
    server = start_server(tmp_path, url)
    try:
        read = httpx.get(server.base_url + "/v1/contracts/bot", timeout=30)
        write = httpx.post(
            server.base_url + "/v1/contracts",
            json={"agent_id": "bot"},
            headers={"Authorization": f"Bearer {SERVER_TOKEN}"},
            timeout=30,
        )
    finally:
        log = server.stop()
    for answer in (read, write):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "the contract store is unavailable; try again later"
    assert f"store {url.replace('hunter2', '***')}" in log
    assert "warning: contract store" in log and "answer 503 until it is reachable" in log
    assert "hunter2" not in log and "Traceback" not in log and " 500 " not in log


def test_the_settings_never_show_the_password() -> None:
    from nomotic_dsl.http.settings import settings_from_env

    url = unreachable_url()
    settings = settings_from_env({"NOMO_DB": url, "NOMO_DB_POOL_MAX": "4"})
    assert settings.db_path == url and settings.pool.max_size == 4
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert settings.store_label == url.replace("hunter2", "***")
