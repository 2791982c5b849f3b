"""End-to-end: a real `python -m nomotic_dsl serve` process on a loopback port, a real SQLite file.

Every endpoint and every error status over real sockets, a restart that keeps
the data, and concurrent writers for one agent. Each server start is bounded
(readiness is polled for at most ``READY_SECONDS``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import AUTH, RATIO_SPEC, TOKEN

from nomotic_dsl.ir import BehavioralContract
from nomotic_dsl.runtime.bundle.keys import load_verify_key, write_key_pair

pytestmark = pytest.mark.slow

READY_SECONDS = 20.0
BODY_LIMIT = 4096
WRITERS = 20


@dataclass
class Server:
    """A running server process and where to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0)

    def stop(self) -> str:
        """Stop the process (SIGTERM, then SIGKILL after 10 s); its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(workdir: Path, db: Path, extra_env: dict[str, str] | None = None) -> Server:
    """Start `nomo serve` on a free loopback port and wait until it answers."""
    port = _free_port()
    env = {**os.environ, "NOMO_API_TOKEN": TOKEN, "NOMO_API_MAX_BODY_BYTES": str(BODY_LIMIT)}
    env.update(extra_env or {})
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nomotic_dsl",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--db",
                str(db),
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    _wait_until_ready(server)
    return server


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited early:\n{server.stop()}")
        try:
            if httpx.get(server.base_url + "/openapi.json", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not ready after {READY_SECONDS} s:\n{server.stop()}")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pair = write_key_pair(tmp_path_factory.mktemp("keys") / "server")
    return pair.secret_path, pair.public_path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("served")
    running = start_server(
        workdir, workdir / "store.sqlite3", {"NOMO_API_SIGNING_KEY": str(keys[0])}
    )
    yield running
    log = running.stop()
    assert TOKEN not in log


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _post(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/v1/contracts", json=body, headers=AUTH)


def test_every_endpoint_over_a_real_socket(http: httpx.Client, keys: tuple[Path, Path]) -> None:
    first = _post(
        http, agent_id="e2e-bot", archetype="customer-experience", invariants=[RATIO_SPEC]
    )
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    second = _post(http, agent_id="e2e-bot", source="drift action < 0.2\n", initial_trust=0.7)
    assert second.status_code == 201, second.text
    active = http.get("/v1/contracts/e2e-bot").json()
    assert active["version"] == 2 and active["initial_trust"] == 0.7
    assert BehavioralContract.from_dict(active).verify(load_verify_key(keys[1]))
    assert http.get("/v1/contracts/e2e-bot", params={"version": 1}).json()["version"] == 1
    history = http.get("/v1/contracts/e2e-bot/history").json()["contracts"]
    assert [c["version"] for c in history] == [1, 2]
    diff = http.get("/v1/contracts/e2e-bot/diff", params={"v1": 1, "v2": 2}).json()
    assert diff["changes"]["initial_trust"] == {"from": 0.5, "to": 0.7}
    check = http.post("/v1/check", json={"source": "drift action < 0.2\n"}).json()
    assert (check["ok"], check["diagnostics"], check["errors"]) == (True, [], 0)
    state = {"actions": [], "drift": {"action": 0.5}}
    evaluation = http.post("/v1/evaluate", json={"agent_id": "e2e-bot", "state": state}).json()
    assert evaluation["summary"]["violated"] == [evaluation["results"][0]["invariant_id"]]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v1/contracts", {"json": {"agent_id": "x"}}, 401),
        (
            "POST",
            "/v1/contracts",
            {"json": {"agent_id": "x"}, "headers": {"Authorization": "Bearer nope"}},
            401,
        ),
        ("GET", "/v1/contracts/nobody", {}, 404),
        ("GET", "/v1/contracts/nobody/history", {}, 404),
        ("GET", "/v1/contracts/e2e-bot/diff", {"params": {"v1": 1, "v2": 99}}, 404),
        ("POST", "/v1/evaluate", {"json": {"agent_id": "nobody", "state": {}}}, 404),
        (
            "POST",
            "/v1/contracts",
            {"json": {"agent_id": "e2e-bot", "version": 1}, "headers": AUTH},
            409,
        ),
        ("POST", "/v1/check", {"content": b"{" + b" " * BODY_LIMIT + b"}"}, 413),
        ("POST", "/v1/contracts", {"content": b"{not json", "headers": AUTH}, 422),
        (
            "POST",
            "/v1/contracts",
            {"json": {"agent_id": "x", "source": "drift mood < 2"}, "headers": AUTH},
            422,
        ),
        ("GET", "/v1/contracts/e2e-bot/diff", {"params": {"v1": "one"}}, 422),
    ],
)
def test_every_error_status_over_a_real_socket(
    http: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    _post(http, agent_id="e2e-bot")
    response = http.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str)


def test_a_chunked_body_over_the_limit_is_413(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b" " * (BODY_LIMIT // 2)

    response = http.post("/v1/check", content=chunks())
    assert response.status_code == 413


def test_concurrent_posts_for_one_agent_get_every_version_once(http: httpx.Client) -> None:
    def post_one(index: int) -> int:
        body = {"agent_id": "busy-bot", "initial_trust": round(index / WRITERS, 4)}
        response = http.post("/v1/contracts", json=body, headers=AUTH)
        assert response.status_code == 201, response.text
        return int(response.json()["version"])

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        versions = list(pool.map(post_one, range(WRITERS)))
    assert sorted(versions) == list(range(1, WRITERS + 1))
    history = http.get("/v1/contracts/busy-bot/history").json()["contracts"]
    assert [c["version"] for c in history] == list(range(1, WRITERS + 1))
    trusts = sorted(c["initial_trust"] for c in history)
    assert trusts == sorted(round(i / WRITERS, 4) for i in range(WRITERS))


def test_data_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "restart.sqlite3"
    first = start_server(tmp_path, db)
    try:
        with first.client() as http:
            stored = _post(http, agent_id="durable", invariants=[RATIO_SPEC]).json()
    finally:
        first.stop()
    second = start_server(tmp_path, db)
    try:
        with second.client() as http:
            assert http.get("/v1/contracts/durable").json() == stored
            assert _post(http, agent_id="durable").json()["version"] == 2
    finally:
        log = second.stop()
    assert TOKEN not in log


def test_the_default_store_is_a_file_in_the_working_directory(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "NOMO_API_TOKEN": TOKEN}
    env.pop("NOMO_API_DB", None)
    log_path = tmp_path / "default.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nomotic_dsl", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_until_ready(server)
        with server.client() as http:
            assert _post(http, agent_id="here").status_code == 201
    finally:
        server.stop()
    assert (tmp_path / "nomo.db").is_file()
