"""FleetRuntime: many agents, each held to its contract, one decision per observation.

Input: verified bundles (or policies), then observations, each naming its
``agent_id``. Output: one decision record per observation, in input order,
with a receipt chained per agent; an end record on request; provenance counts
per agent; the whole state as JSON-clean data (checkpoints). Stage: runtime;
the CLI (``nomo run``) and the HTTP API (``POST /v1/observations``) are thin
shells over it.

Routing: an observation goes to its agent's contract; without ``agent_id``
to the only contract when there is exactly one; a bundle without a contract
governs every agent (each with its own monitor). An observation that cannot
be routed, is malformed, or is earlier than its agent's previous one gets a
decision whose ``error`` names the problem and changes no evaluation state;
the stream goes on.

Bounded state: with ``agent_idle_seconds``, an agent whose next observation
comes more than that many seconds after its previous one starts afresh (new
monitor and drift window, ``changed`` from null), and the evaluation state of
an agent idle for twice as long (by the fleet's clock, the latest timestamp
seen) is released from memory. What stays per agent is its chain head: agent
id, decision count, last receipt, provenance counts, last timestamp (about
300 bytes). ``max_agents`` bounds how many agent ids are held at all.

One agent at a time: ``export_agent`` / ``import_agent`` / ``release_agent``
move a single chain (with its evaluation) in and out, in the same form as
its entry in ``export_state``, for engines that keep each agent's state apart
(the Flink job keeps it in Flink keyed state); ``routing`` names the chain a
line's decision joins before anything is evaluated.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.runtime.fleet.agent import AgentEvaluation, Step
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.decision import (
    chain_sort_key,
    decision_entry,
    end_record,
    has_tiny,
    seal,
)
from nomotic_dsl.runtime.fleet.observation import (
    TraceItem,
    TraceLineError,
    agent_id_problem,
    parse_item,
    parse_line,
)
from nomotic_dsl.runtime.fleet.policy import Policy, make_policy
from nomotic_dsl.runtime.fleet.routing import Routing
from nomotic_dsl.runtime.governance.records import RESULT_STATES
from nomotic_dsl.runtime.interpreter.state import StateError

FLEET_STATE_FORMAT = "nomotic_dsl.fleet_state"
FLEET_STATE_VERSION = 1
AGENT_STATE_FORMAT = "nomotic_dsl.fleet_agent_state"
AGENT_STATE_VERSION = 1
COUNT_FIELDS: tuple[str, ...] = (
    "decisions",
    *RESULT_STATES,
    "drift_exceedances",
    "scope_violations",
    "errors",
)


class StateMismatch(ValueError):
    """A saved state that belongs to other bundles or another configuration."""


def fleet_digest(bundles: Iterable[str]) -> str:
    """The runtime's digest: the bundle's own with one bundle, else SHA-256 of the sorted list."""
    distinct = sorted(set(bundles))
    if len(distinct) == 1:
        return distinct[0]
    return hashlib.sha256(canonical_json(distinct)).hexdigest()


@dataclass(slots=True)
class Chain:
    """One agent id's place in the log, and its evaluation while it is held."""

    agent_id: str | None
    bundle: str
    receipt: str
    seq: int = 0
    last_timestamp: float | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    # Invariants not measured after the agent's last evaluated observation.
    unmeasured: tuple[str, ...] = ()
    evaluation: AgentEvaluation | None = None

    def head(self) -> tuple[str | None, int, str]:
        """``(agent_id, decisions, last receipt)``, what the end record covers."""
        return (self.agent_id, self.seq, self.receipt)

    def provenance(self) -> dict[str, Any]:
        """Running counts and the chain head, JSON-clean."""
        return {
            "agent_id": self.agent_id,
            **self.counts,
            "seq": self.seq,
            "last_receipt": self.receipt,
            "bundle": self.bundle,
            "last_timestamp": self.last_timestamp,
            "not_measured_now": list(self.unmeasured),
            "held": self.evaluation is not None,
        }

    def export(self) -> dict[str, Any]:
        """The chain (and its evaluation) as JSON-clean data."""
        return {
            "agent_id": self.agent_id,
            "bundle": self.bundle,
            "seq": self.seq,
            "receipt": self.receipt,
            "last_timestamp": self.last_timestamp,
            "counts": dict(self.counts),
            "not_measured_now": list(self.unmeasured),
            "evaluation": None if self.evaluation is None else self.evaluation.export(),
        }


class FleetRuntime:
    """Governs many agents at once: routing, evaluation, receipts, idle release, state."""

    def __init__(
        self,
        policies: Sequence[Policy],
        config: FleetConfig | None = None,
        *,
        digest: str | None = None,
    ) -> None:
        self.config = config or FleetConfig()
        if not policies:
            raise ValueError("a fleet runtime needs at least one policy")
        self._any: Policy | None = None
        self._by_agent: dict[str, Policy] = {}
        for policy in policies:
            if policy.agent_id is None:
                if self._any is not None:
                    raise ValueError("only one policy without a contract can be loaded")
                self._any = policy
            elif policy.agent_id in self._by_agent:
                raise ValueError(f"two contracts for agent {policy.agent_id!r} were loaded")
            else:
                self._by_agent[policy.agent_id] = policy
        if self._any is not None and self._by_agent:
            raise ValueError(
                "a policy without a contract governs every agent, so it cannot be loaded "
                "together with contracts"
            )
        self.digest = digest or fleet_digest(policy.bundle for policy in policies)
        self.routing = Routing.of(self._by_agent, governs_all=self._any is not None)
        self._chains: dict[str | None, Chain] = {}
        # Chains holding an evaluation, least recently observed first.
        self._held: OrderedDict[str | None, None] = OrderedDict()
        self.line = 0
        self.decisions = 0
        self.clock: float | None = None
        # What the last observation did to its agent's evaluation (every result, with
        # values), for replays that look closer than the decision record; None after an
        # error decision.
        self.last_step: Step | None = None
        # The log line (``encode_record``) of the decision last returned, made with it.
        self.last_encoded: bytes | None = None

    @classmethod
    def from_bundles(
        cls, bundles: Sequence[Any], config: FleetConfig | None = None
    ) -> FleetRuntime:
        """A runtime over verified ``LoadedBundle``s; every policy runs its bundle's module.

        ValueError when two bundles hold a contract for the same agent.
        """
        chosen = config or FleetConfig()
        policies = [
            make_policy(policy.contract, policy.module, bundle.digest, chosen, policy.invariants)
            for bundle in bundles
            for policy in bundle.policies
        ]
        return cls(policies, chosen, digest=fleet_digest(bundle.digest for bundle in bundles))

    # --- what the runtime governs ---------------------------------------------------------

    @property
    def agents(self) -> tuple[str, ...]:
        """The agent ids that have a contract, sorted (empty for a policy without contract)."""
        return tuple(sorted(self._by_agent))

    @property
    def policies(self) -> tuple[Policy, ...]:
        """Every policy, by agent id (the agent-less one alone)."""
        if self._any is not None:
            return (self._any,)
        return tuple(self._by_agent[agent] for agent in self.agents)

    @property
    def held(self) -> int:
        """How many agents' evaluation states are in memory."""
        return len(self._held)

    def policy_for(self, agent_id: str | None) -> Policy | None:
        """The policy an observation for ``agent_id`` goes to, or None."""
        policy, _key, _problem = self._route(agent_id)
        return policy

    def unmeasured(self) -> dict[str | None, list[str]]:
        """Per agent, the invariants not measured after its last observation (only non-empty)."""
        return {
            chain.agent_id: list(chain.unmeasured)
            for chain in sorted(self._chains.values(), key=lambda c: chain_sort_key(c.agent_id))
            if chain.unmeasured
        }

    def provenance(self, agent_id: str | None) -> dict[str, Any] | None:
        """Running counts and chain head of ``agent_id``; None for an agent never seen."""
        chain = self._chains.get(agent_id)
        return None if chain is None else chain.provenance()

    # --- observations -------------------------------------------------------------------

    def next_line(self) -> int:
        """The line number the next observation gets when the caller has none."""
        return self.line + 1

    def process_line(self, text: str | bytes, line: int | None = None) -> dict[str, Any]:
        """Decide on one trace line (JSON text); a malformed line gets an error decision."""
        return self._parse_and_process(parse_line, text, line)

    def reject(self, message: str, line: int | None = None) -> dict[str, Any]:
        """An error decision for a line that could not even be read (too long, say)."""
        number = self.next_line() if line is None else line
        return self._error(number, None, None, None, message)

    def process_value(self, value: Any, line: int | None = None) -> dict[str, Any]:
        """Decide on one decoded JSON value (an observation object)."""
        return self._parse_and_process(parse_item, value, line)

    def _parse_and_process(
        self, parse: Callable[[Any], TraceItem], data: Any, line: int | None
    ) -> dict[str, Any]:
        """``process`` of what ``parse`` reads from ``data``; what it refuses is an error decision."""
        number = self.next_line() if line is None else line
        try:
            item = parse(data)
        except TraceLineError as exc:
            return self._error(number, exc.agent_id, exc.session_id, exc.timestamp, str(exc))
        return self.process(item, number)

    def process(self, item: TraceItem, line: int | None = None) -> dict[str, Any]:
        """Decide on one observation: route it, evaluate it, record and chain the decision."""
        number = self.next_line() if line is None else line
        observation = item.observation
        policy, key, problem = self._route(item.agent_id)
        if policy is None:
            return self._error(
                number, key, observation.session_id, observation.timestamp, str(problem)
            )
        chain = self._chain(key, policy)
        if chain is None:
            return self._error(
                number,
                None,
                observation.session_id,
                observation.timestamp,
                f"agent {key!r} refused: this runtime already holds its limit of "
                f"{self.config.max_agents} agents",
            )
        if chain.last_timestamp is not None and observation.timestamp < chain.last_timestamp:
            return self._error(
                number,
                key,
                observation.session_id,
                observation.timestamp,
                f"observation at {observation.timestamp!r} is earlier than agent {key!r}'s "
                f"previous one at {chain.last_timestamp!r}; an agent's observations must be "
                "in time order",
                chain=chain,
                contract=policy.identity,
            )
        evaluation = self._evaluation(chain, policy, observation.timestamp)
        self._held[key] = None
        self._held.move_to_end(key)
        try:
            step = evaluation.step(observation, item.drift)
        except StateError as exc:
            return self._error(
                number,
                key,
                observation.session_id,
                observation.timestamp,
                str(exc),
                chain=chain,
                contract=policy.identity,
            )
        chain.last_timestamp = observation.timestamp
        self.last_step = step
        if self.clock is None or observation.timestamp > self.clock:
            self.clock = observation.timestamp
        record = self._decide(
            number, chain, policy, observation.session_id, observation.timestamp, step
        )
        self._release_idle()
        return record

    def end_record(self, line: int | None = None) -> dict[str, Any]:
        """The record that closes a log of every decision so far (see ``decision.end_record``)."""
        return end_record(
            line=self.line if line is None else max(line, self.line),
            bundle=self.digest,
            decisions=self.decisions,
            heads=[chain.head() for chain in self._chains.values()],
        )

    # --- internals ------------------------------------------------------------------------

    def _route(self, agent_id: str | None) -> tuple[Policy | None, str | None, str | None]:
        """(policy or None, the decision's agent id, the problem when there is no policy)."""
        key = self.routing.key(agent_id)
        policy = self._any if key is None else self._by_agent.get(key) or self._any
        if policy is not None:
            return policy, key, None
        if agent_id is not None:
            return (
                None,
                agent_id,
                f"no contract for agent {agent_id!r} (contracts: {', '.join(self.agents)})",
            )
        return (
            None,
            None,
            (
                f"the observation names no agent_id and there are {len(self._by_agent)} contracts "
                f"({', '.join(self.agents)}); add agent_id to the observation"
            ),
        )

    def _chain(self, key: str | None, policy: Policy | None) -> Chain | None:
        chain = self._chains.get(key)
        if chain is not None:
            return chain
        limit = self.config.max_agents
        if limit is not None and len(self._chains) >= limit and key is not None:
            return None
        bundle = policy.bundle if policy is not None else self._unrouted_bundle()
        chain = Chain(agent_id=key, bundle=bundle, receipt=bundle)
        self._chains[key] = chain
        return chain

    def _unrouted_bundle(self) -> str:
        return self._any.bundle if self._any is not None else self.digest

    def _evaluation(self, chain: Chain, policy: Policy, timestamp: float) -> AgentEvaluation:
        idle = self.config.agent_idle_seconds
        evaluation = chain.evaluation
        if (
            evaluation is not None
            and idle is not None
            and chain.last_timestamp is not None
            and timestamp - chain.last_timestamp > idle
        ):
            evaluation = None
        if evaluation is None:
            evaluation = AgentEvaluation(policy, self.config)
            chain.evaluation = evaluation
        return evaluation

    def _release_idle(self) -> None:
        idle = self.config.agent_idle_seconds
        if idle is None or self.clock is None:
            return
        cutoff = self.clock - 2 * idle
        while self._held:
            key = next(iter(self._held))
            chain = self._chains[key]
            if chain.last_timestamp is None or chain.last_timestamp >= cutoff:
                return
            chain.evaluation = None
            del self._held[key]

    def _check_line(self, line: int) -> None:
        if line <= self.line:
            raise ValueError(f"line {line} comes after line {self.line}: lines must increase")

    def _commit(self, line: int, chain: Chain, record: Mapping[str, Any]) -> None:
        """Count a decision whose line is made: only then do the log's numbers move."""
        self.line = line
        self.decisions += 1
        chain.seq = record["seq"]
        chain.receipt = record["receipt"]
        chain.counts["decisions"] += 1

    def _decide(
        self,
        line: int,
        chain: Chain,
        policy: Policy,
        session_id: str | None,
        timestamp: float,
        step: Step,
    ) -> dict[str, Any]:
        self._check_line(line)
        if step.changed:
            by_id = {result.invariant_id: result for result in step.results}
            changed = [
                {"invariant": ident, "from": old, "to": new, "detail": by_id[ident].detail}
                for ident, old, new in step.changed
            ]
        else:
            changed = []
        drift = dict(step.drift)
        exceedances = step.exceedances
        # The record in DECISION_FIELDS order, as decision_entry makes it, built in place.
        record: dict[str, Any] = {
            "line": line,
            "agent_id": chain.agent_id,
            "session_id": session_id,
            "timestamp": timestamp,
            "seq": chain.seq + 1,
            "bundle": chain.bundle,
            "contract": policy.identity,  # a new dict on every call
            "violated": list(step.violated),
            "changed": changed,
            "counts": dict(step.counts),
            "drift": drift,
            "drift_source": step.drift_source,
            "drift_exceedances": [exceedance.to_dict() for exceedance in exceedances]
            if exceedances
            else [],
            "scope": None if step.scope is None else dict(step.scope),
            "error": None,
        }
        # Times, scores and thresholds are checked finite on the way in, and they are the
        # record's only floats: when none is tiny, orjson's bytes are json's as they come.
        # (Scores are within 0..1, so their minimum rules most records out at once.)
        tiny = (
            0.0 < timestamp < 1e-4
            or (bool(drift) and min(drift.values()) < 1e-4 and has_tiny(drift.values()))
            or (bool(exceedances) and has_tiny(e.threshold for e in exceedances))
        )
        self.last_encoded = seal(record, chain.receipt, finite=True, tiny=tiny)
        self._commit(line, chain, record)
        chain.unmeasured = step.unmeasured
        counts = chain.counts
        for state, number in step.counts.items():
            counts[state] += number
        counts["drift_exceedances"] += len(step.exceedances)
        counts["scope_violations"] += step.scope is not None
        return record

    def _error(
        self,
        line: int,
        agent_id: str | None,
        session_id: str | None,
        timestamp: float | None,
        message: str,
        *,
        chain: Chain | None = None,
        contract: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._check_line(line)
        self.last_step = None
        if chain is None:
            chain = self._chain(agent_id, None)
            if chain is None:
                agent_id = None
                message = (
                    f"{message} (and this runtime already holds its limit of "
                    f"{self.config.max_agents} agents)"
                )
                chain = self._chain(None, None)
                assert chain is not None  # the agent-less chain is never refused
        record, self.last_encoded = decision_entry(
            line=line,
            agent_id=chain.agent_id,
            session_id=session_id,
            timestamp=timestamp,
            seq=chain.seq + 1,
            bundle=chain.bundle,
            contract=contract,
            error=message,
            previous=chain.receipt,
            finite=True,  # times, scores and thresholds are checked finite on the way in
        )
        self._commit(line, chain, record)
        chain.counts["errors"] += 1
        return record

    # --- state ----------------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """The whole runtime state, JSON-clean: every chain, every held evaluation, counters."""
        keys = list(self._chains)
        index = {key: position for position, key in enumerate(keys)}
        return {
            "format": FLEET_STATE_FORMAT,
            "version": FLEET_STATE_VERSION,
            "digest": self.digest,
            "config": self.config.decision_fields(),
            "line": self.line,
            "decisions": self.decisions,
            "clock": self.clock,
            "chains": [self._chains[key].export() for key in keys],
            "held": [index[key] for key in self._held],
        }

    def import_state(self, state: Any) -> None:
        """Continue from ``export_state`` data of an identical runtime (same bundles, config).

        StateMismatch when the state belongs to other bundles or another
        configuration; StateError naming the field when it is malformed. The
        runtime is unchanged unless the whole state was valid.
        """
        restored = _StateReader(self, state).read()
        self._chains, self._held, self.line, self.decisions, self.clock = restored

    # --- one agent's state (engines that keep state per agent, such as the Flink job) -------

    def export_agent(self, agent_id: str | None) -> dict[str, Any] | None:
        """One chain (and its evaluation) as JSON-clean data; None for an agent never seen.

        The chain is exactly the entry ``export_state`` lists for it, inside an
        envelope naming the runtime's digest and options, so it can be kept
        apart from every other agent's (per-key state) and read back by
        ``import_agent`` of an identical runtime.
        """
        chain = self._chains.get(agent_id)
        if chain is None:
            return None
        return {
            "format": AGENT_STATE_FORMAT,
            "version": AGENT_STATE_VERSION,
            "digest": self.digest,
            "config": self.config.decision_fields(),
            "chain": chain.export(),
        }

    def import_agent(self, state: Any) -> None:
        """Hold the chain ``export_agent`` gave, in place of what this runtime has for that agent.

        StateMismatch when it belongs to other bundles or options, StateError
        naming the field when it is malformed; nothing changes unless it is
        valid. The agent becomes the most recently observed one held. The
        runtime's own counters (``line``, ``decisions``, ``clock``) are not
        touched: an engine that holds agents one at a time keeps those itself.
        """
        chain = _StateReader(self, state).read_agent()
        key = chain.agent_id
        self._chains[key] = chain
        self._held.pop(key, None)
        if chain.evaluation is not None:
            self._held[key] = None

    def release_agent(self, agent_id: str | None) -> dict[str, Any] | None:
        """``export_agent``, then forget the agent (its chain and evaluation) entirely."""
        state = self.export_agent(agent_id)
        self._chains.pop(agent_id, None)
        self._held.pop(agent_id, None)
        return state


class _StateReader:
    """Reads and checks a fleet state against a runtime, building nothing until it all fits."""

    def __init__(self, runtime: FleetRuntime, state: Any) -> None:
        self.runtime = runtime
        self.state = state

    def read(
        self,
    ) -> tuple[dict[str | None, Chain], OrderedDict[str | None, None], int, int, float | None]:
        state = self.state
        keys = {
            "format",
            "version",
            "digest",
            "config",
            "line",
            "decisions",
            "clock",
            "chains",
            "held",
        }
        if not isinstance(state, Mapping) or set(state) != keys:
            raise StateError(f"state: expected exactly {', '.join(sorted(keys))}")
        if state["format"] != FLEET_STATE_FORMAT or state["version"] != FLEET_STATE_VERSION:
            raise StateError(
                f"state: not a {FLEET_STATE_FORMAT} version {FLEET_STATE_VERSION} state"
            )
        runtime = self.runtime
        if state["digest"] != runtime.digest:
            raise StateMismatch(
                f"the state was saved with bundle {state['digest']!r}, not {runtime.digest!r}"
            )
        self._check_config(state["config"])
        line = _whole(state["line"], "state.line")
        decisions = _whole(state["decisions"], "state.decisions")
        clock = _optional_number(state["clock"], "state.clock")
        raw_chains = state["chains"]
        if not isinstance(raw_chains, list):
            raise StateError("state.chains: expected a list")
        chains: dict[str | None, Chain] = {}
        total = 0
        for position, raw in enumerate(raw_chains):
            chain = self._chain(raw, f"state.chains[{position}]")
            if chain.agent_id in chains:
                raise StateError(
                    f"state.chains[{position}]: agent {chain.agent_id!r} appears twice"
                )
            chains[chain.agent_id] = chain
            total += chain.seq
        if total != decisions:
            raise StateError(
                f"state.decisions: {decisions} is not the {total} the chains hold together"
            )
        held_raw = state["held"]
        if not isinstance(held_raw, list):
            raise StateError("state.held: expected a list of chain positions")
        keys_in_order = list(chains)
        held: OrderedDict[str | None, None] = OrderedDict()
        for position, value in enumerate(held_raw):
            where = f"state.held[{position}]"
            if not (_is_whole(value) and 0 <= value < len(keys_in_order)):
                raise StateError(f"{where}: expected a position in state.chains")
            key = keys_in_order[value]
            if key in held or chains[key].evaluation is None:
                raise StateError(f"{where}: not a chain holding an evaluation, or listed twice")
            held[key] = None
        if len(held) != sum(1 for chain in chains.values() if chain.evaluation is not None):
            raise StateError("state.held: must list every chain that holds an evaluation")
        return chains, held, line, decisions, clock

    def read_agent(self) -> Chain:
        """The chain of an ``export_agent`` envelope, checked against the runtime."""
        state = self.state
        keys = {"format", "version", "digest", "config", "chain"}
        if not isinstance(state, Mapping) or set(state) != keys:
            raise StateError(f"agent state: expected exactly {', '.join(sorted(keys))}")
        if state["format"] != AGENT_STATE_FORMAT or state["version"] != AGENT_STATE_VERSION:
            raise StateError(
                f"agent state: not a {AGENT_STATE_FORMAT} version {AGENT_STATE_VERSION} state"
            )
        if state["digest"] != self.runtime.digest:
            raise StateMismatch(
                f"the agent state was saved with bundle {state['digest']!r}, "
                f"not {self.runtime.digest!r}"
            )
        self._check_config(state["config"])
        return self._chain(state["chain"], "agent state.chain")

    def _check_config(self, saved: Any) -> None:
        current = self.runtime.config.decision_fields()
        if saved == current:
            return
        differs = sorted(
            name
            for name in current
            if not isinstance(saved, Mapping) or saved.get(name) != current[name]
        )
        raise StateMismatch(
            "the state was saved with other runtime options: "
            + ", ".join(
                f"{name} {saved.get(name) if isinstance(saved, Mapping) else None!r} "
                f"(now {current[name]!r})"
                for name in differs
            )
        )

    def _chain(self, raw: Any, where: str) -> Chain:
        keys = {
            "agent_id",
            "bundle",
            "seq",
            "receipt",
            "last_timestamp",
            "counts",
            "not_measured_now",
            "evaluation",
        }
        if not isinstance(raw, Mapping) or set(raw) != keys:
            raise StateError(f"{where}: expected exactly {', '.join(sorted(keys))}")
        agent_id = raw["agent_id"]
        if agent_id is not None and agent_id_problem(agent_id):
            raise StateError(f"{where}.agent_id: {agent_id_problem(agent_id)}")
        runtime = self.runtime
        policy, key, _problem = runtime._route(agent_id)
        if key != agent_id:
            policy = None  # an agent-less error chain, never the only contract's
        expected_bundle = policy.bundle if policy is not None else runtime._unrouted_bundle()
        if raw["bundle"] != expected_bundle:
            raise StateMismatch(
                f"{where}.bundle: agent {agent_id!r} was governed under bundle "
                f"{raw['bundle']!r}, not {expected_bundle!r}"
            )
        for name in ("receipt",):
            if not (isinstance(raw[name], str) and _is_hex64(raw[name])):
                raise StateError(f"{where}.{name}: expected 64 lowercase hex characters")
        counts = raw["counts"]
        if not isinstance(counts, Mapping) or set(counts) != set(COUNT_FIELDS):
            raise StateError(f"{where}.counts: expected exactly {', '.join(COUNT_FIELDS)}")
        chain = Chain(
            agent_id=agent_id,
            bundle=expected_bundle,
            receipt=raw["receipt"],
            seq=_whole(raw["seq"], f"{where}.seq"),
            last_timestamp=_optional_number(raw["last_timestamp"], f"{where}.last_timestamp"),
            counts={name: _whole(counts[name], f"{where}.counts.{name}") for name in COUNT_FIELDS},
        )
        unmeasured = raw["not_measured_now"]
        if not isinstance(unmeasured, list) or not all(
            isinstance(ident, str) and ident for ident in unmeasured
        ):
            raise StateError(f"{where}.not_measured_now: expected a list of invariant ids")
        chain.unmeasured = tuple(unmeasured)
        if chain.counts["decisions"] != chain.seq:
            raise StateError(f"{where}.counts.decisions: must equal seq ({chain.seq})")
        if raw["evaluation"] is not None:
            if policy is None:
                raise StateError(f"{where}.evaluation: agent {agent_id!r} has no policy here")
            chain.evaluation = AgentEvaluation.restore(
                raw["evaluation"], policy, runtime.config, f"{where}.evaluation"
            )
        return chain


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: Any, where: str) -> int:
    if not _is_whole(value) or value < 0:
        raise StateError(f"{where}: expected a whole number, 0 or more")
    return int(value)


def _optional_number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not is_number(value):  # an int past the float range included
        raise StateError(f"{where}: expected a finite number or null")
    return float(value)


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(char in "0123456789abcdef" for char in text)
