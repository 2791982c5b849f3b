"""BehavioralState and Observation: construction, mappings, and errors that name the field."""

from __future__ import annotations

import pytest

from nomotic_dsl.runtime.interpreter import BehavioralState, Observation, StateError, coerce_state


def obs(ts: float, action: str = "read", target: str = "kb", **extra: object) -> dict[str, object]:
    return {"timestamp": ts, "action_type": action, "target": target, **extra}


def test_mapping_and_typed_state_are_equal() -> None:
    mapping = {
        "actions": [obs(1.0), obs(2.0, "write", semantic={"research": 0.9})],
        "drift": {"action": 0.1},
        "now": 5,
    }
    typed = BehavioralState(
        actions=(
            Observation(1.0, "read", "kb"),
            Observation(2.0, "write", "kb", semantic={"research": 0.9}),
        ),
        drift={"action": 0.1},
        now=5.0,
    )
    assert coerce_state(mapping) == typed
    assert coerce_state(typed) is typed
    assert BehavioralState.from_mapping(typed.to_dict()) == typed


def test_effective_now_defaults_to_last_action() -> None:
    assert BehavioralState.from_mapping({"actions": [obs(1), obs(7)]}).effective_now == 7.0
    assert BehavioralState.from_mapping({"actions": [obs(1)], "now": 9}).effective_now == 9.0
    assert BehavioralState().effective_now is None


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            {"actions": [obs(1), {"timestamp": 2, "target": "kb"}]},
            "actions[1]: missing 'action_type'",
        ),
        ({"actions": [obs("noon")]}, "actions[0].timestamp"),
        ({"actions": [obs(float("nan"))]}, "actions[0].timestamp"),
        ({"actions": [obs(-1)]}, "actions[0].timestamp"),
        ({"actions": [obs(1e20)]}, "actions[0].timestamp"),
        ({"actions": [obs(1, action="")]}, "actions[0].action_type"),
        ({"actions": [obs(1, target=3)]}, "actions[0].target"),
        ({"actions": [obs(1, semantic={"research": 1.5})]}, "actions[0].semantic['research']"),
        ({"actions": [obs(1, colour="red")]}, "actions[0]: unknown field(s) 'colour'"),
        ({"actions": [obs(5), obs(4)]}, "actions[1].timestamp: 4.0 is earlier"),
        ({"actions": "read"}, "actions: expected a list"),
        ({"actions": [7]}, "actions[0]: expected an object"),
        ({"drift": {"action": 2}}, "drift['action']"),
        ({"drift": {"action": True}}, "drift['action']"),
        ({"semantic_drift": [0.1]}, "semantic_drift: expected an object"),
        ({"action_distribution": {"read": -1}}, "at least 0"),
        ({"now": "later"}, "now:"),
        ({"action": []}, "unknown field(s) 'action'"),
    ],
)
def test_malformed_states_name_the_field(state: dict[str, object], message: str) -> None:
    with pytest.raises(StateError) as info:
        BehavioralState.from_mapping(state)
    assert message in str(info.value)


def test_state_is_not_a_mapping() -> None:
    with pytest.raises(StateError, match="expected an object"):
        coerce_state([1, 2])  # type: ignore[arg-type]


def test_snapshot_fields_are_read_only_copies() -> None:
    source = {"read": 3}
    state = BehavioralState(action_distribution=source)
    source["read"] = 99
    assert state.action_distribution == {"read": 3.0}
    with pytest.raises(TypeError):
        state.action_distribution["read"] = 1  # type: ignore[index]
