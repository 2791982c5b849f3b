"""What a Flink job of the fleet runtime is made of: the verified bundle, options, source, sink.

Input: a bundle file and trusted public keys (verified here, in the client,
before anything is submitted), the runtime options, where observations come
from and where decisions go. Output: a ``JobSpec``, plain data that is
shipped to every task (the bundle's bytes and the trusted keys' bytes
included, so each task verifies the bundle again before it loads any
generated code). Stage: Flink shell, client side; needs no pyflink.

The Flink engine keeps each agent's state in Flink keyed state and cannot see
the fleet as a whole, so the options whose decisions depend on every agent
at once are refused here (``--agent-idle``: the fleet's clock; ``--max-agents``:
the count of agents seen so far). ``session_idle_seconds`` is per monitor and
works as in the local engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomotic_dsl.runtime.bundle.loader import (
    check_expected,
    read_bundle_file,
    rollback_state_from,
    trusted_keys_from,
)
from nomotic_dsl.runtime.bundle.verify import verify_bundle_bytes
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.routing import Routing
from nomotic_dsl.runtime.fleet.runtime import fleet_digest

# The key of the agent-less chain in Flink (agent ids are never empty).
NO_AGENT_KEY = ""
DEFAULT_CHECKPOINT_MS = 2_000
DEFAULT_LIVE_AGENTS = 50_000


class JobOptionError(ValueError):
    """Options the Flink engine cannot honour; ``str()`` says which and why."""


@dataclass(frozen=True, slots=True)
class FileInput:
    """Trace files read by Flink's file source (``monitor_seconds``: keep watching a folder).

    ``staged``: the files were written by ``staging.stage_trace`` (numbered,
    keyed, base64 lines, exactly as the local engine reads the trace); else
    they are JSON Lines read by Flink's text reader and numbered in the job.
    """

    paths: tuple[str, ...]
    staged: bool = False
    monitor_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class KafkaInput:
    """A Kafka topic of observations, one JSON object per message (needs the connector jar)."""

    servers: str
    topic: str
    group: str = "nomotic-dsl"
    start: str = "earliest"


@dataclass(frozen=True, slots=True)
class FileOutput:
    """Decisions as JSON Lines part files in ``directory`` (committed at each checkpoint)."""

    directory: str


@dataclass(frozen=True, slots=True)
class KafkaOutput:
    """Decisions to a Kafka topic, one decision record per message."""

    servers: str
    topic: str
    exactly_once: bool = False


@dataclass(frozen=True, slots=True)
class PrintOutput:
    """Decisions printed by the task managers (their stdout)."""


Source = FileInput | KafkaInput
Sink = FileOutput | KafkaOutput | PrintOutput


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything a job needs; every field is plain data (it is pickled into each task)."""

    bundle: bytes
    trusted_keys: tuple[bytes, ...]
    digest: str
    agents: tuple[str, ...]
    governs_all: bool
    config: Mapping[str, Any]
    source: Source
    sink: Sink
    parallelism: int = 1
    # How many tasks a savepoint of this job can ever be restored to (Flink's key groups).
    max_parallelism: int | None = None
    checkpoint_ms: int = DEFAULT_CHECKPOINT_MS
    live_agents: int = DEFAULT_LIVE_AGENTS
    name: str = "nomotic_dsl fleet runtime"
    jars: tuple[str, ...] = field(default=())

    @property
    def routing(self) -> Routing:
        """Which chain (Flink key) each line goes to."""
        return Routing.of(self.agents, self.governs_all)

    def fleet_config(self) -> FleetConfig:
        """The runtime options every task runs with."""
        return FleetConfig(**dict(self.config))


def flink_config(config: FleetConfig) -> dict[str, Any]:
    """The options of ``config`` a job carries; JobOptionError for those Flink cannot honour."""
    refused = [
        name
        for name, value in (
            ("agent idle release (--agent-idle)", config.agent_idle_seconds),
            ("an agent limit (--max-agents)", config.max_agents),
        )
        if value is not None
    ]
    if refused:
        raise JobOptionError(
            f"the Flink engine cannot apply {' or '.join(refused)}: its decisions depend on "
            "every agent seen so far (the fleet's clock, the count of agents), and each Flink "
            "task sees only its own agents; run with --engine local, or leave it out (Flink "
            "keeps each agent's state in its state backend, not in memory)"
        )
    if config.archetype_lookup is not FleetConfig().archetype_lookup:
        raise JobOptionError("the Flink engine uses the standard library's archetype priors")
    return {
        "drift_window": config.drift_window,
        "min_drift_observations": config.min_drift_observations,
        "drift_weights": dict(config.drift_weights),
        "session_idle_seconds": config.session_idle_seconds,
    }


@dataclass(frozen=True, slots=True)
class VerifiedInput:
    """A bundle the client verified, with what the job needs to know about it."""

    data: bytes
    trusted_keys: tuple[bytes, ...]
    digest: str
    agents: tuple[str, ...]


def verify_for_job(
    path: str | os.PathLike[str],
    trusted: Sequence[str | os.PathLike[str]],
    *,
    state_path: str | os.PathLike[str] | None = None,
    init_state: bool = False,
    expect_agent: str | None = None,
    expect_name: str | None = None,
) -> VerifiedInput:
    """Verify a bundle in the client (no generated code runs); BundleError when refused.

    The anti-rollback state, when given, is checked and the bundle's revision
    recorded here, as ``nomo run`` does when it loads a bundle.
    """
    data = read_bundle_file(path)
    keys = trusted_keys_from([Path(key) for key in trusted])
    verified = verify_bundle_bytes(data, keys)
    check_expected(verified.manifest, expect_agent=expect_agent, expect_name=expect_name)
    state = rollback_state_from(state_path, create=init_state)
    if state is not None:
        state.check(verified.manifest)
        state.accept(verified.manifest)
    return VerifiedInput(
        data=data,
        trusted_keys=tuple(bytes(key) for key in keys),
        digest=fleet_digest([verified.manifest.sha256()]),
        agents=tuple(verified.manifest.agents),
    )


def job_spec(
    verified: VerifiedInput,
    config: FleetConfig,
    source: Source,
    sink: Sink,
    **options: Any,
) -> JobSpec:
    """A job over a verified bundle; JobOptionError for options Flink cannot honour."""
    return JobSpec(
        bundle=verified.data,
        trusted_keys=verified.trusted_keys,
        digest=verified.digest,
        agents=verified.agents,
        governs_all=not verified.agents,
        config=flink_config(config),
        source=source,
        sink=sink,
        **options,
    )
