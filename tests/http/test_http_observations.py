"""POST /v1/observations and GET /v1/agents/{id}/provenance: in process and on a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import AUTH, TOKEN
from fastapi.testclient import TestClient
from test_http_server_e2e import Server, _free_port, _wait_until_ready

from nomotic_dsl.compiler.pipeline import build_bundle
from nomotic_dsl.http import ApiSettings, create_app
from nomotic_dsl.runtime.bundle import load_bundle
from nomotic_dsl.runtime.bundle.keys import write_key_pair
from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime
from nomotic_dsl.runtime.fleet.decision import encode_record, end_record
from nomotic_dsl.runtime.fleet.log import BundleIdentity, verify_log

POLICY = """\
contract "support-bot" {
    scope {
        actions read, reply
        targets tickets
    }
    invariant few_targets: count distinct_targets <= 1 over 5 actions
}
contract "etl" {
    invariant calm: rate < 1 over 1m
}
"""


def obs(
    t: float, agent: str | None, action: str = "read", target: str = "tickets"
) -> dict[str, Any]:
    item: dict[str, Any] = {"timestamp": t, "action_type": action, "target": target}
    if agent is not None:
        item["agent_id"] = agent
    return item


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("bundle")
    keys = write_key_pair(folder / "k")
    policy = folder / "fleet.nomo"
    policy.write_text(POLICY)
    path = folder / "fleet.nomob"
    build_bundle(policy, keys.secret_path, path)
    return path, keys.public_path


@pytest.fixture
def fleet_client(tmp_path: Path, bundle: tuple[Path, Path]) -> TestClient:
    runtime = FleetRuntime.from_bundles([load_bundle(bundle[0], [bundle[1]])], FleetConfig())
    settings = ApiSettings(db_path=tmp_path / "c.db", write_token=TOKEN)
    return TestClient(create_app(settings, fleet=runtime), raise_server_exceptions=False)


def test_a_json_array_gets_one_decision_each_in_order(fleet_client: TestClient) -> None:
    body = [
        obs(100.0, "support-bot"),
        obs(101.0, "etl", "write", "warehouse"),
        obs(102.0, "support-bot", "delete", "prod_database"),
        {"timestamp": 103.0, "action_type": "read"},
        obs(104.0, "nobody"),
        obs(105.0, None),
    ]
    response = fleet_client.post("/v1/observations", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    decisions = response.json()["decisions"]
    assert [d["line"] for d in decisions] == [1, 2, 3, 4, 5, 6]
    assert decisions[2]["scope"] == {"action": "delete", "target": "prod_database"}
    assert decisions[2]["violated"] == ["few_targets"]
    assert "missing 'target'" in decisions[3]["error"]
    assert "no contract for agent 'nobody'" in decisions[4]["error"]
    assert "names no agent_id" in decisions[5]["error"]
    more = fleet_client.post(
        "/v1/observations",
        content="\n".join(json.dumps(obs(110.0 + i, "etl")) for i in range(3)) + "\n",
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )
    assert more.status_code == 200, more.text
    assert [d["line"] for d in more.json()["decisions"]] == [7, 8, 9]
    assert [d["seq"] for d in more.json()["decisions"]] == [2, 3, 4]
    provenance = fleet_client.get("/v1/agents/support-bot/provenance")
    assert provenance.status_code == 200, provenance.text
    counts = provenance.json()
    assert counts["decisions"] == 2 and counts["scope_violations"] == 1 and counts["violated"] == 1
    assert counts["last_receipt"] == decisions[2]["receipt"]
    assert fleet_client.get("/v1/agents/ghost/provenance").status_code == 404
    # The decisions, with an end record, verify as a decision log.
    records = decisions + more.json()["decisions"]
    digest = records[0]["bundle"]
    log = [encode_record(r) + b"\n" for r in records]
    identity = BundleIdentity(digest, {"support-bot": digest, "etl": digest})
    assert verify_log([*log, _end(records, digest)], identity).decisions == 9


def _end(records: list[dict[str, Any]], digest: str) -> bytes:
    heads: dict[str | None, tuple[int, str]] = {}
    for record in records:
        heads[record["agent_id"]] = (record["seq"], record["receipt"])
    return (
        encode_record(
            end_record(
                line=records[-1]["line"],
                bundle=digest,
                decisions=len(records),
                heads=[(agent, seq, receipt) for agent, (seq, receipt) in heads.items()],
            )
        )
        + b"\n"
    )


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (b"{not json", "application/json", 422, "not valid JSON"),
        (b'{"timestamp": 1}', "application/json", 422, "JSON array"),
        (b"[]", "application/json", 422, "no observations"),
        (b"\xff\xfe", "application/json", 422, "not UTF-8"),
    ],
)
def test_bad_bodies_are_json_errors(
    fleet_client: TestClient, content: bytes, content_type: str, status: int, message: str
) -> None:
    response = fleet_client.post(
        "/v1/observations", content=content, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert message in response.json()["error"]


def test_writes_need_the_token_and_a_runtime(fleet_client: TestClient, tmp_path: Path) -> None:
    assert fleet_client.post("/v1/observations", json=[obs(1.0, "etl")]).status_code == 401
    plain = TestClient(
        create_app(ApiSettings(db_path=tmp_path / "p.db", write_token=TOKEN)),
        raise_server_exceptions=False,
    )
    refused = plain.post("/v1/observations", json=[obs(1.0, "etl")], headers=AUTH)
    assert refused.status_code == 409 and "--bundle" in refused.json()["error"]
    assert plain.get("/v1/agents/etl/provenance").status_code == 409


def test_too_many_observations_are_refused(
    fleet_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nomotic_dsl.http.fleet.MAX_OBSERVATIONS", 2)
    response = fleet_client.post("/v1/observations", json=[obs(1.0, "etl")] * 3, headers=AUTH)
    assert response.status_code == 422 and response.json()["limit"] == 2


@pytest.fixture
def served(tmp_path: Path, bundle: tuple[Path, Path]) -> Iterator[Server]:
    port = _free_port()
    log_path = tmp_path / "server.log"
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
                str(tmp_path / "s.db"),
                "--bundle",
                str(bundle[0]),
                "--trust",
                str(bundle[1]),
            ],
            cwd=tmp_path,
            env={**os.environ, "NOMO_API_TOKEN": TOKEN},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    _wait_until_ready(server)
    yield server
    server.stop()


@pytest.mark.slow
def test_a_real_server_governs_observations(served: Server) -> None:
    with served.client() as http:
        response = http.post(
            "/v1/observations",
            content="\n".join(json.dumps(obs(1.0 + i, "support-bot")) for i in range(4)),
            headers={**AUTH, "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 200, response.text
        assert [d["seq"] for d in response.json()["decisions"]] == [1, 2, 3, 4]
        assert http.get("/v1/agents/support-bot/provenance").json()["decisions"] == 4
        assert http.post("/v1/observations", content=b"nope", headers=AUTH).status_code == 200
        bad = http.post("/v1/observations", content=b"[nope", headers=AUTH)
        assert bad.status_code == 422 and "error" in bad.json()
    assert "governing 2 agent(s) of 1 bundle(s)" in served.log_path.read_text()


def test_serve_refuses_a_bundle_it_cannot_verify(tmp_path: Path, bundle: tuple[Path, Path]) -> None:
    other = write_key_pair(tmp_path / "other")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nomotic_dsl",
            "serve",
            "--bundle",
            str(bundle[0]),
            "--trust",
            str(other.public_path),
            "--db",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "refused" in done.stderr


@pytest.mark.parametrize("media", ["application/json", "application/x-ndjson"])
def test_a_lone_surrogate_gets_an_error_decision_not_a_500(
    fleet_client: TestClient, media: str
) -> None:
    # JSON can spell "\ud800"; no UTF-8 text can hold it. Before, the decision could not be
    # encoded and the request failed half done (500), its agent's chain counted one more.
    bad = '{"timestamp": 100.0, "agent_id": "support-bot", "action_type": "re\\ud800ad", '
    bad += '"target": "tickets"}'
    good = json.dumps(obs(101.0, "support-bot"))
    body = f"[{bad}, {good}]" if media == "application/json" else f"{bad}\n{good}\n"
    headers = {**AUTH, "Content-Type": media}
    response = fleet_client.post("/v1/observations", content=body.encode(), headers=headers)
    assert response.status_code == 200, response.text
    first, second = response.json()["decisions"]
    assert "lone surrogate" in first["error"]
    assert first["timestamp"] == 100.0 and first["agent_id"] is None
    assert second["error"] is None and second["agent_id"] == "support-bot"
    assert second["seq"] == 1  # the refused line joined no agent's chain
