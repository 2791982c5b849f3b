"""A fleet policy of three contracts, trace strategies, and the reference decisions.

``reference_decisions`` builds every decision from first principles: the
reference interpreter over each agent's whole history, drift recomputed with
``window_drift`` over the agent's last actions, scope and thresholds checked,
receipts chained; the fleet runtime (generated code, incremental drift) must
produce exactly these records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from nomotic_dsl.compiler.evaluators import policies_of
from nomotic_dsl.compiler.generate import BundleContents, bundle_contents
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.runtime import priors
from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime
from nomotic_dsl.runtime.fleet.decision import decision_entry
from nomotic_dsl.runtime.fleet.policy import Scope
from nomotic_dsl.runtime.governance.drift import overall_drift, window_drift
from nomotic_dsl.runtime.governance.records import exceedances, result_state
from nomotic_dsl.runtime.interpreter import BehavioralState, CompiledInvariants, Observation

FLEET_POLICY = """\
contract "alpha" {
    archetype customer-experience
    scope {
        actions read, reply, escalate, close
        targets tickets, knowledge_base
    }
    anchor "refund" { actions reply, escalate }
    drift thresholds { action 0.2 target 0.25 overall 0.3 }
    invariant alpha_ratio: ratio reply/read < 1.0 over 10 actions
    invariant alpha_spread: count distinct_targets <= 2 over 5 actions
    invariant alpha_refund: fidelity of "refund" above 80% over 5 actions
    invariant alpha_drift: drift action < 0.3
    invariant alpha_overall: drift overall < 0.35
}
contract "beta" {
    archetype data-processor
    drift thresholds { target 0.4 }
    invariant beta_burst: rate < 0.5 over 1m
    invariant beta_hours: no activity outside 6-22
    invariant beta_target: drift target < 0.4
}
contract "gamma" {
    invariant gamma_targets: count distinct_targets <= 3 over 4 actions
    invariant gamma_semantic: drift semantic < 0.5
}
"""
AGENTS = ("alpha", "beta", "gamma")
ACTIONS = ("read", "reply", "escalate", "close", "delete", "write")
TARGETS = ("tickets", "knowledge_base", "prod_database", "warehouse")
START = 1_712_577_600.0  # 2024-04-08 12:00 UTC
SMALL = FleetConfig(drift_window=6, min_drift_observations=3)


def fleet_contents() -> BundleContents:
    result = compile_source(FLEET_POLICY, "fleet.nomo")
    assert result.ok, result.render()
    return bundle_contents(result.contracts, result.invariants, result.sources, result.root)


def fleet_runtime(config: FleetConfig = SMALL) -> FleetRuntime:
    digest, policies = policies_of(fleet_contents(), config)
    return FleetRuntime(policies, config, digest=digest)


@st.composite
def trace_lines(draw: st.DrawFn, max_size: int = 40) -> list[str]:
    """Interleaved observations of the three agents (and a few strays), as trace lines."""
    count = draw(st.integers(min_value=1, max_value=max_size))
    clock = START
    lines = []
    for _ in range(count):
        clock += draw(st.sampled_from([0.0, 1.0, 7.0, 45.0, 3600.0]))
        agent = draw(st.sampled_from([*AGENTS, *AGENTS, None, "stranger"]))
        line: dict[str, Any] = {
            "timestamp": clock,
            "action_type": draw(st.sampled_from(ACTIONS)),
            "target": draw(st.sampled_from(TARGETS)),
        }
        if agent is not None:
            line["agent_id"] = agent
        if draw(st.booleans()):
            line["session_id"] = draw(st.sampled_from(["s1", "s2", "s3"]))
        if draw(st.booleans()):
            line["outcome"] = draw(st.sampled_from(["allow", "deny", "escalate"]))
        if draw(st.integers(0, 3)) == 0:
            line["semantic"] = {"refund": draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]))}
        if draw(st.integers(0, 9)) == 0:
            line["drift"] = {"action": draw(st.sampled_from([0.05, 0.5]))}
        if draw(st.integers(0, 14)) == 0:
            lines.append(draw(st.sampled_from(["{not json", "[1, 2]", '{"timestamp": 1}'])))
            continue
        lines.append(json.dumps(line))
    return lines


def run_runtime(
    runtime: FleetRuntime, lines: Sequence[str], start: int = 0
) -> list[dict[str, Any]]:
    return [runtime.process_line(text, start + number) for number, text in enumerate(lines, 1)]


class _Agent:
    def __init__(self, contract: BehavioralContract) -> None:
        self.contract = contract
        self.compiled = CompiledInvariants.compile(contract.invariants)
        self.actions: list[Observation] = []
        self.states: list[str] | None = None


def reference_decisions(
    lines: Sequence[str], digest: str, config: FleetConfig = SMALL
) -> list[dict[str, Any]]:
    """Every decision, built from the interpreter and from-scratch drift (see the module note)."""
    contracts = {c.agent_id: c for c in compile_source(FLEET_POLICY, "fleet.nomo").contracts}
    agents: dict[str, _Agent] = {}
    heads: dict[str | None, tuple[int, str]] = {}
    out = []
    for number, text in enumerate(lines, start=1):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        agent_id = data.get("agent_id") if isinstance(data, dict) else None
        valid = isinstance(data, dict)
        observation = None
        if valid:
            fields = {k: v for k, v in data.items() if k not in ("agent_id", "drift")}
            try:
                observation = Observation.from_mapping(fields)
            except ValueError:
                valid = False
        seq, previous = heads.get(agent_id, (0, digest))
        common: dict[str, Any] = {
            "line": number,
            "agent_id": agent_id,
            "session_id": observation.session_id if observation else None,
            "timestamp": observation.timestamp if observation else None,
            "seq": seq + 1,
            "bundle": digest,
            "previous": previous,
        }
        if not valid:
            if isinstance(data, dict) and isinstance(data.get("timestamp"), float | int):
                common["timestamp"] = float(data["timestamp"])
            record = _error(common)
        elif agent_id not in contracts:
            record = _error(common)
        else:
            assert observation is not None
            agent = agents.setdefault(agent_id, _Agent(contracts[agent_id]))
            if agent.actions and observation.timestamp < agent.actions[-1].timestamp:
                record = _error(
                    common, {"id": agent.contract.contract_id, "version": agent.contract.version}
                )
            else:
                record = _step(agent, observation, data.get("drift"), common, config)
        heads[agent_id] = (record["seq"], record["receipt"])
        out.append(record)
    return out


def _error(common: dict[str, Any], contract: dict[str, Any] | None = None) -> dict[str, Any]:
    # The message is the runtime's own wording; equality is checked on everything else.
    return decision_entry(**common, contract=contract, error="?")[0]


def _step(
    agent: _Agent,
    observation: Observation,
    given: dict[str, float] | None,
    common: dict[str, Any],
    config: FleetConfig,
) -> dict[str, Any]:
    contract = agent.contract
    agent.actions.append(observation)
    if given is not None:
        drift = dict(given)
        overall = overall_drift(drift, config.drift_weights)
        if "overall" not in drift and overall is not None:
            drift["overall"] = overall
        source = "given"
    else:
        drift = {}
        if len(agent.actions) >= config.min_drift_observations:
            prior = priors.get_archetype(contract.archetype)
            expected = {
                "action": contract.expected_action_distribution,
                "target": contract.expected_target_distribution,
                "outcome": contract.expected_outcome_distribution,
            }
            drift = window_drift(
                agent.actions[-config.drift_window :],
                expected,
                None if prior is None else prior.active_hours,
                config.drift_weights,
                frozenset(anchor["term"] for anchor in contract.semantic_anchors),
            )
        source = "computed"
    results = agent.compiled.evaluate(
        BehavioralState(actions=tuple(agent.actions), drift=drift or None)
    )
    states = [result_state(result) for result in results]
    changed = [
        {
            "invariant": result.invariant_id,
            "from": None if agent.states is None else agent.states[index],
            "to": state,
            "detail": result.detail,
        }
        for index, (result, state) in enumerate(zip(results, states, strict=True))
        if agent.states is None or agent.states[index] != state
    ]
    agent.states = states
    counts = {
        name: states.count(name)
        for name in ("satisfied", "approaching", "violated", "not_measured")
    }
    record, _line = decision_entry(
        **common,
        contract={"id": contract.contract_id, "version": contract.version},
        violated=sorted(r.invariant_id for r in results if r.status == "violated"),
        changed=changed,
        counts=counts,
        drift=drift,
        drift_source=source,
        drift_exceedances=[e.to_dict() for e in exceedances(drift, contract.drift_thresholds)],
        scope=Scope.of(contract.authorized_scope).outside(
            observation.action_type, observation.target
        ),
    )
    return record


def without_error_text(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with error messages replaced by a marker (and receipts left out)."""
    return [
        {
            **{k: v for k, v in r.items() if k != "receipt"},
            "error": None if r["error"] is None else "?",
        }
        for r in records
    ]


def write(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
