"""What each Flink task runs: the verified bundle's runtime, one agent's state at a time.

Input: the ``JobSpec`` (in ``open()``), then job records ``(line, key,
payload)`` with the agent's stored state (the key's Flink ``ValueState``: a
JSON text in ``FleetRuntime.export_agent`` form, or None). Output: the
decision record, the agent's new state text to store, and the invariants it
leaves unmeasured. Stage: Flink shell, task side; needs no pyflink (the
pyflink functions in ``functions`` are thin wrappers), so tests drive it
with a dict for keyed state.

Verification in every task: ``task_runtime`` verifies the bundle's bytes
(structure, digests, signatures against the trusted keys the client sent)
with ``load_bundle_bytes`` before a single generated module is loaded; a
refused bundle raises ``TaskRefused`` and the task fails in ``open()``.

State: the key's stored text is the truth (it is what Flink checkpoints and
restores). The runtime keeps up to ``live_agents`` agents' evaluations live
between their observations, each with the text it last stored: while the
stored state is that text (same object, or equal), the live one is used;
otherwise (a restore, a rescale, an agent evicted from the live set) the
stored text is imported, checked field by field like any checkpoint.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from nomotic_dsl.flink.records import LineRecord
from nomotic_dsl.flink.spec import JobSpec
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.loader import load_bundle_bytes
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime
from nomotic_dsl.runtime.interpreter.state import StateError


class TaskRefused(RuntimeError):
    """A task that cannot govern: the bundle was refused, or its stored state is not valid."""


def task_runtime(spec: JobSpec) -> FleetRuntime:
    """Verify the bundle's bytes, then load it; TaskRefused (nothing loaded) when refused."""
    try:
        bundle = load_bundle_bytes(spec.bundle, list(spec.trusted_keys))
    except BundleError as exc:
        raise TaskRefused(
            f"the bundle was refused in a Flink task before any of its code ran: {exc}"
        ) from None
    runtime = FleetRuntime.from_bundles([bundle], spec.fleet_config())
    if runtime.digest != spec.digest:
        raise TaskRefused(
            f"the bundle in the task is {runtime.digest}, not the {spec.digest} the client verified"
        )
    return runtime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one record did: the decision, the state text to store, what stays unmeasured.

    (The job writes only the decision; ``unmeasured`` is the runtime's own
    view, which the tests compare with what the client reads off decisions.)
    """

    decision: dict[str, Any]
    state: str
    unmeasured: tuple[str, ...]


def state_text(state: dict[str, Any] | None) -> str:
    """The stored form of an agent state: compact JSON."""
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class AgentKeeper:
    """One task's runtime, holding agents' state as Flink hands it over, one record at a time."""

    def __init__(self, runtime: FleetRuntime, live_agents: int) -> None:
        self.runtime = runtime
        self.live_agents = max(1, live_agents)
        # Agent -> the state text it last stored, least recently used first.
        self._live: OrderedDict[str | None, str] = OrderedDict()
        self.imports = 0

    def decide(self, record: LineRecord, stored: str | None) -> Outcome:
        """Decide on one record of ``record.key``, whose stored state is ``stored``."""
        agent = record.agent_id
        self._bring(agent, stored)
        runtime = self.runtime
        if record.data is None:
            decision = runtime.reject(record.problem or "unreadable line", record.line)
        else:
            decision = runtime.process_line(record.data, record.line)
        if decision["agent_id"] != agent:
            raise TaskRefused(
                f"trace line {record.line} was keyed to agent {agent!r} but decided for "
                f"{decision['agent_id']!r}: the job's routing and the bundle's disagree"
            )
        state = runtime.export_agent(agent)
        provenance = runtime.provenance(agent)
        assert state is not None and provenance is not None  # the decision made the chain
        text = state_text(state)
        self._live[agent] = text
        self._live.move_to_end(agent)
        while len(self._live) > self.live_agents:
            oldest, _text = self._live.popitem(last=False)
            runtime.release_agent(oldest)
        return Outcome(decision, text, tuple(provenance["not_measured_now"]))

    def _bring(self, agent: str | None, stored: str | None) -> None:
        live = self._live.get(agent)
        if stored is None:
            if live is not None or self.runtime.provenance(agent) is not None:
                self.runtime.release_agent(agent)
                self._live.pop(agent, None)
            return
        if live is not None and (live is stored or live == stored):
            return
        try:
            self.runtime.import_agent(json.loads(stored))
        except (ValueError, StateError) as exc:
            raise TaskRefused(f"the stored state of agent {agent!r} is not valid: {exc}") from None
        self.imports += 1
        self._live[agent] = stored
