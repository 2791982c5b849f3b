"""A real ``nomo serve`` process on a free loopback port, for the load benchmark and its tests.

Input: a working directory, a store (an SQLite path or a ``postgresql://`` URL)
and extra environment. Output: a
``Server`` (process, base URL, log) that is ready to answer, or an error after
``READY_SECONDS``. Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

READY_SECONDS = 30.0
HOST = "127.0.0.1"
TOKEN = "bench-token-5d1e"


@dataclass
class Server:
    """A running server process and where to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    db_path: Path | str

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

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

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_server(
    workdir: Path,
    db_path: Path | str,
    extra_env: dict[str, str] | None = None,
    *,
    port: int | None = None,
) -> Server:
    """Start ``python -m nomotic_dsl serve`` on 127.0.0.1 and wait until it answers."""
    port = port or free_port()
    env = {**os.environ, "NOMO_API_TOKEN": TOKEN}
    env.update(extra_env or {})
    log_path = workdir / f"server-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nomotic_dsl", "serve", "--host", HOST, "--port", str(port),
             "--db", str(db_path)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(process, port, log_path, db_path)
    _wait_until_ready(server)
    return server


def start_echo_server(workdir: Path) -> Server:
    """Start ``python -m bench.echo`` (canned answers, no server work) and wait until it listens."""
    port = free_port()
    log_path = workdir / f"echo-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.echo", str(port)],
            cwd=Path(__file__).resolve().parents[1],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log_path, "")
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"echo server exited early:\n{server.stop()}")
        try:
            socket.create_connection((HOST, port), timeout=1.0).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"echo server not listening after {READY_SECONDS} s:\n{server.stop()}")


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.stop()}")
        try:
            with urllib.request.urlopen(server.base_url + "/openapi.json", timeout=1.0) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_SECONDS} s:\n{server.stop()}")
