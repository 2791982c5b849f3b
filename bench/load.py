"""Load benchmark of the contracts HTTP API: real ``nomo serve`` processes on 127.0.0.1.

Run ``python -m bench.load`` from the repository root (``--quick`` for a smoke
run; ``python -m bench --load`` runs it after the other benchmarks). For 1, 8
and 32 concurrent clients (each with its own keep-alive connection, httpx
with asyncio), first writes only (``POST /v1/contracts`` with an
``Idempotency-Key``), then writes mixed with reads (half the requests
``GET /v1/contracts/{agent}``). Reports writes/s and p50/p99 latency per
scenario, errors, and then checks the store: every acknowledged write is
there with the version and contract id it was acknowledged with, every
agent's history is contiguous (1..N), and ``PRAGMA integrity_check`` is ok.

The store is a new SQLite file, or with ``--db postgresql://...`` a new
schema in that database (dropped afterwards; its check: no duplicate
version, every idempotency key naming a stored version). ``--servers N``
starts N servers on the one store and spreads the clients over them.

Targets (issue 16), checked against the same run: at 32 clients, at least
``TARGET_WRITES_PER_S`` writes/s and p99 under ``TARGET_P99_MS`` ms, with no
error and nothing lost. Every loop is bounded in requests and in seconds.
Results go to ``bench/results/load.json``.

``--echo`` runs the writes-only loops against a canned-answer server instead
(``bench.echo``: no parsing beyond the head, no store), which measures the
load generator's own latency and throughput floor on this machine; nothing is
stored or checked, and no target applies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.server import TOKEN, Server, start_echo_server, start_server
from nomotic_dsl._version import __version__
from nomotic_dsl.runtime.contracts.backend import is_database_url, redact

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
CLIENTS = (1, 8, 32)
MODES = ("writes", "mixed")
AGENTS_PER_SCENARIO = 8
TARGET_WRITES_PER_S = 500.0
TARGET_P99_MS = 50.0
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC: dict[str, Any] = {
    "type": "ratio",
    "metric": "write_to_read",
    "operator": "lt",
    "threshold": 0.3,
    "window": 100,
}


@dataclass(frozen=True, slots=True)
class Budget:
    """How much each scenario may do: requests in all, and seconds."""

    requests: int
    seconds: float


FULL = Budget(requests=6_000, seconds=20.0)
QUICK = Budget(requests=60, seconds=5.0)


@dataclass
class Tally:
    """What one scenario saw."""

    write_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acknowledged: list[tuple[str, int, str]] = field(default_factory=list)
    elapsed: float = 0.0
    client_cpu: float = 0.0


def write_body(agent_id: str) -> bytes:
    """The body of one write: a contract for ``agent_id`` with one ratio invariant."""
    return json.dumps({"agent_id": agent_id, "invariants": [SPEC]}).encode()


async def post_write(client: httpx.AsyncClient, agent_id: str, key: str) -> httpx.Response:
    """One acknowledged-or-not write with an idempotency key."""
    headers = {**AUTH, "Idempotency-Key": key, "Content-Type": "application/json"}
    return await client.post("/v1/contracts", content=write_body(agent_id), headers=headers)


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as the load loop needs it."""

    status_code: int
    body: bytes
    replayed: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams, for the timed loops.

    httpx's per-request CPU is several times this one's, and on a small
    machine the client shares the cores with the server it measures; the
    ``--client httpx`` option runs the same loops through httpx instead.
    Handles exactly what ``nomo serve`` answers: a status line, headers and a
    ``Content-Length`` body.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        closing = replayed = False
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                closing = True
            elif name.lower() == "idempotent-replayed":
                replayed = value.strip() == "true"
        answer = Answer(status, await self._reader.readexactly(length), replayed)
        if closing:
            await self.close()
        return answer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class LoadClient:
    """One client's connection: raw (default) or httpx, with the same two operations."""

    def __init__(self, base_url: str, kind: str) -> None:
        self.kind = kind
        host, port = base_url.removeprefix("http://").split(":")
        self._raw = RawConnection(host, int(port))
        self._httpx: httpx.AsyncClient | None = (
            httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30.0))
            if kind == "httpx"
            else None
        )

    async def write(self, agent_id: str, key: str) -> Answer:
        headers = {**AUTH, "Idempotency-Key": key, "Content-Type": "application/json"}
        if self._httpx is not None:
            done = await self._httpx.post(
                "/v1/contracts", content=write_body(agent_id), headers=headers
            )
            return Answer(done.status_code, done.content)
        return await asyncio.wait_for(
            self._raw.request("POST", "/v1/contracts", write_body(agent_id), headers), 30.0
        )

    async def read(self, agent_id: str) -> Answer:
        if self._httpx is not None:
            done = await self._httpx.get(f"/v1/contracts/{agent_id}", headers=AUTH)
            return Answer(done.status_code, done.content)
        return await asyncio.wait_for(
            self._raw.request("GET", f"/v1/contracts/{agent_id}", b"", AUTH), 30.0
        )

    async def close(self) -> None:
        await self._raw.close()
        if self._httpx is not None:
            await self._httpx.aclose()


async def _client_loop(
    client: LoadClient,
    index: int,
    agents: Sequence[str],
    mode: str,
    quota: list[int],
    deadline: float,
    tally: Tally,
) -> None:
    step = 0
    try:
        while quota[0] > 0 and time.perf_counter() < deadline:
            quota[0] -= 1
            step += 1
            agent = agents[(index + step) % len(agents)]
            read = mode == "mixed" and step % 2 == 0
            started = time.perf_counter()
            try:
                answer = await (
                    client.read(agent) if read else client.write(agent, uuid.uuid4().hex)
                )
            except (OSError, asyncio.IncompleteReadError, TimeoutError, httpx.HTTPError) as exc:
                tally.errors.append(f"{type(exc).__name__}: {exc}")
                await client.close()
                continue
            took = (time.perf_counter() - started) * 1000
            expected = 200 if read else 201
            if answer.status_code != expected:
                tally.errors.append(f"{answer.status_code}: {answer.text[:200]}")
                continue
            if read:
                tally.read_ms.append(took)
            else:
                body = answer.json()
                tally.write_ms.append(took)
                tally.acknowledged.append((body["agent_id"], body["version"], body["contract_id"]))
    finally:
        await client.close()


async def run_scenario(
    base_url: str | Sequence[str],
    clients: int,
    mode: str,
    budget: Budget,
    label: str,
    kind: str = "raw",
) -> tuple[Tally, list[str]]:
    """``clients`` concurrent loops until the budget is spent; the tally and the agents used.

    With several base URLs (servers on one store), client ``i`` talks to server ``i mod n``.
    """
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    agents = [f"load-{label}-{index}" for index in range(AGENTS_PER_SCENARIO)]
    tally = Tally()
    seeder = LoadClient(urls[0], kind)
    for agent in agents:  # every agent has a contract before reads start
        seeded = await seeder.write(agent, uuid.uuid4().hex)
        if seeded.status_code != 201:
            raise RuntimeError(f"seeding {agent} failed: {seeded.status_code} {seeded.text}")
        body = seeded.json()
        tally.acknowledged.append((body["agent_id"], body["version"], body["contract_id"]))
    await seeder.close()
    quota = [budget.requests]
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + budget.seconds
    await asyncio.gather(
        *(
            _client_loop(
                LoadClient(urls[index % len(urls)], kind),
                index,
                agents,
                mode,
                quota,
                deadline,
                tally,
            )
            for index in range(clients)
        )
    )
    tally.elapsed = time.perf_counter() - started
    tally.client_cpu = time.process_time() - cpu_started
    return tally, agents


def check_store(
    base_url: str, db_path: Path | str, acknowledged: Sequence[tuple[str, int, str]]
) -> dict[str, Any]:
    """Every acknowledged write present; histories contiguous; the database's own check ok."""
    by_agent: dict[str, dict[int, str]] = {}
    for agent, version, contract_id in acknowledged:
        by_agent.setdefault(agent, {})[version] = contract_id
    missing: list[str] = []
    gaps: list[str] = []
    stored = 0
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        for agent, versions in sorted(by_agent.items()):
            answer = client.get(f"/v1/contracts/{agent}/history", headers=AUTH)
            history = answer.json()["contracts"] if answer.status_code == 200 else []
            found = {item["version"]: item["contract_id"] for item in history}
            stored += len(found)
            if sorted(found) != list(range(1, len(found) + 1)):
                gaps.append(agent)
            missing.extend(
                f"{agent} v{version}"
                for version, contract_id in versions.items()
                if found.get(version) != contract_id
            )
    return {
        "acknowledged": len(acknowledged),
        "stored": stored,
        "missing": missing[:20],
        "missing_count": len(missing),
        "agents_with_gaps": gaps,
        "integrity_check": integrity_check(db_path),
    }


def integrity_check(db_path: Path | str) -> str:
    """SQLite's ``PRAGMA integrity_check``; on PostgreSQL, no duplicate and no dangling key."""
    if not is_database_url(db_path):
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(str(db_path), autocommit=True) as pg:
        duplicates = pg.execute(
            "SELECT count(*) FROM (SELECT 1 FROM contracts GROUP BY agent_id, version "
            "HAVING count(*) > 1) AS twice"
        ).fetchone()
        dangling = pg.execute(
            "SELECT count(*) FROM idempotency_keys AS k LEFT JOIN contracts AS c "
            "ON (c.agent_id, c.version) = (k.agent_id, k.version) WHERE c.agent_id IS NULL"
        ).fetchone()
    problems = {"duplicate versions": duplicates, "dangling keys": dangling}
    found = [f"{name}: {row[0]}" for name, row in problems.items() if row and row[0]]
    return "; ".join(found) or "ok"


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarise(clients: int, mode: str, tally: Tally) -> dict[str, Any]:
    """One scenario's row: rates, latencies (ms), errors."""
    elapsed = tally.elapsed or float("nan")
    return {
        "clients": clients,
        "mode": mode,
        "seconds": round(tally.elapsed, 3),
        "writes": len(tally.write_ms),
        "reads": len(tally.read_ms),
        "writes_per_s": round(len(tally.write_ms) / elapsed, 1),
        "reads_per_s": round(len(tally.read_ms) / elapsed, 1),
        "write_p50_ms": _rounded(percentile(tally.write_ms, 0.50)),
        "write_p99_ms": _rounded(percentile(tally.write_ms, 0.99)),
        "read_p50_ms": _rounded(percentile(tally.read_ms, 0.50)),
        "read_p99_ms": _rounded(percentile(tally.read_ms, 0.99)),
        "write_median_ms": _rounded(statistics.median(tally.write_ms) if tally.write_ms else None),
        "errors": len(tally.errors),
        "first_errors": tally.errors[:5],
        "client_cpu_ms_per_request": _rounded(
            1000 * tally.client_cpu / max(1, len(tally.write_ms) + len(tally.read_ms))
        ),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def targets(rows: Sequence[dict[str, Any]], store: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets against this run: 32 clients, writes only and mixed."""
    checks: dict[str, Any] = {}
    for row in rows:
        if row["clients"] != 32:
            continue
        mode = row["mode"]
        checks[f"{mode}_writes_per_s>={TARGET_WRITES_PER_S:g}"] = (
            row["writes_per_s"] >= TARGET_WRITES_PER_S
        )
        p99 = row["write_p99_ms"]
        checks[f"{mode}_write_p99<{TARGET_P99_MS:g}ms"] = p99 is not None and p99 < TARGET_P99_MS
    checks["no_errors"] = all(row["errors"] == 0 for row in rows)
    checks["nothing_lost"] = (
        store["missing_count"] == 0 and store["stored"] == store["acknowledged"]
    )
    checks["histories_contiguous"] = not store["agents_with_gaps"]
    checks["integrity_ok"] = store["integrity_check"] == "ok"
    return checks


def run(
    budget: Budget,
    workdir: Path,
    clients: Sequence[int] = CLIENTS,
    kind: str = "raw",
    db: Path | str | None = None,
    servers: int = 1,
) -> dict[str, Any]:
    """Start the servers, run every scenario, check the store, stop the servers; the report."""
    db_path = db or workdir / "load.sqlite3"
    load_before = _load_average()
    started: list[Server] = []
    try:
        for _ in range(servers):
            started.append(start_server(workdir, db_path))
        urls = [server.base_url for server in started]
        rows = []
        acknowledged: list[tuple[str, int, str]] = []
        for count in clients:
            for mode in MODES:
                label = f"{count}-{mode}"
                tally, _ = asyncio.run(run_scenario(urls, count, mode, budget, label, kind))
                rows.append(summarise(count, mode, tally))
                acknowledged.extend(tally.acknowledged)
        store = check_store(urls[-1], db_path, acknowledged)
    finally:
        logs = [server.stop() for server in started]
    log = logs[0] if logs else ""
    return {
        **_report_head(budget, kind),
        "store_backend": "postgresql" if is_database_url(db_path) else "sqlite",
        "store_location": redact(db_path) if is_database_url(db_path) else "a new file",
        "servers": servers,
        "load_average_before": load_before,
        "scenarios": rows,
        "store": store,
        "targets": targets(rows, store),
        "server_log_tail": log.splitlines()[-3:],
        "load_average_after": _load_average(),
    }


def _report_head(budget: Budget, kind: str) -> dict[str, Any]:
    """What every load report starts with: the versions, the machine, the budget, the client."""
    return {
        "python": platform.python_version(),
        "nomotic_dsl": __version__,
        "machine": platform.machine(),
        "budget": {"requests": budget.requests, "seconds": budget.seconds},
        "client": kind,
    }


def run_echo(
    budget: Budget, workdir: Path, clients: Sequence[int] = CLIENTS, kind: str = "raw"
) -> dict[str, Any]:
    """The writes-only loops against ``bench.echo``: the client's own cost, nothing stored."""
    load_before = _load_average()
    server = start_echo_server(workdir)
    try:
        rows = []
        for count in clients:
            label = f"echo-{count}"
            tally, _ = asyncio.run(
                run_scenario(server.base_url, count, "writes", budget, label, kind)
            )
            rows.append(summarise(count, "writes", tally))
    finally:
        server.stop()
    return {
        **_report_head(budget, kind),
        "echo": True,
        "load_average_before": load_before,
        "scenarios": rows,
        "load_average_after": _load_average(),
    }


def _load_average() -> list[float] | None:
    """The machine's 1/5/15-minute load, which says how shared the cores were."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def render(report: dict[str, Any]) -> str:
    """The report as a table, then the store check and the targets."""
    header = (
        f"{'clients':>7} {'mode':<6} {'writes/s':>9} {'w p50':>7} {'w p99':>7} "
        f"{'reads/s':>8} {'r p50':>7} {'r p99':>7} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in report["scenarios"]:
        lines.append(
            f"{row['clients']:>7} {row['mode']:<6} {row['writes_per_s']:>9.1f} "
            f"{_ms(row['write_p50_ms'])} {_ms(row['write_p99_ms'])} {row['reads_per_s']:>8.1f} "
            f"{_ms(row['read_p50_ms'])} {_ms(row['read_p99_ms'])} {row['errors']:>6}"
        )
    if report.get("echo"):
        lines.append(
            f"against bench.echo (canned answers: the client's own floor); client "
            f"{report['client']}; load average before {report['load_average_before']}, "
            f"after {report['load_average_after']}"
        )
        return "\n".join(lines)
    store = report["store"]
    lines.append(
        f"store {report['store_backend']} ({report['store_location']}), "
        f"{report['servers']} server(s); "
        f"client {report['client']}; load average before {report['load_average_before']}, "
        f"after {report['load_average_after']} (the machine's cores may be shared)"
    )
    lines.append(
        f"store: {store['acknowledged']} acknowledged, {store['stored']} stored, "
        f"{store['missing_count']} missing, gaps in {len(store['agents_with_gaps'])} histories, "
        f"integrity_check {store['integrity_check']}"
    )
    for name, met in report["targets"].items():
        lines.append(f"target {name}: {'met' if met else 'MISSED'}")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return f"{'-':>7}" if value is None else f"{value:>7.1f}"


def _store_dir() -> str | None:
    """Where the store file goes: NOMO_BENCH_DIR, else the system temporary directory."""
    return os.environ.get("NOMO_BENCH_DIR") or None


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new schema in the database at ``url`` for one run; dropped with its tables afterwards."""
    import psycopg

    schema = f"nomo_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench.load [--quick] [--output PATH] [--db URL] [--servers N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON report path")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 client (default) or httpx",
    )
    parser.add_argument(
        "--clients", default=",".join(map(str, CLIENTS)), help="comma-separated client counts"
    )
    parser.add_argument(
        "--db",
        default=None,
        help="a postgresql:// URL: run on a new schema there instead of a new SQLite file",
    )
    parser.add_argument(
        "--servers", type=int, default=1, help="servers on the one store (clients spread over them)"
    )
    parser.add_argument(
        "--echo",
        action="store_true",
        help="writes only, against a canned-answer server: the load generator's own floor",
    )
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL
    counts = tuple(int(part) for part in args.clients.split(","))
    if args.db is not None and not is_database_url(args.db):
        parser.error("--db takes a postgresql:// URL (the SQLite store is always a new file)")
    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="nomo-load-", dir=_store_dir())
        )
        if args.echo:
            report = run_echo(budget, Path(workdir), counts, args.client)
        else:
            db = stack.enter_context(fresh_schema(args.db)) if args.db else None
            report = run(budget, Path(workdir), counts, args.client, db, args.servers)
    report["quick"] = args.quick
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(render(report))
    print(f"wrote {args.output}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
