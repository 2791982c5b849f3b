"""Hypothesis strategies for differential tests: valid spec sets, states and traces.

Names come from small alphabets so that windows, ratios and distinct counts
actually collide; timestamps start near DST changes and move in steps that
land exactly on window edges as well as between them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from nomotic_dsl.ir.spec import (
    COUNT_METRICS,
    DISTRIBUTION_METRICS,
    DRIFT_DISTRIBUTIONS,
    EVERY_TERM,
    OPERATORS,
    RATE_GROWTH,
    RATE_METRICS,
)

ACTIONS = ("read", "write", "delete", "x")
TARGETS = ("kb", "tickets", "email")
TERMS = ("accuracy", "tone", "refund")
ZONES = (None, "UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe")
# Around the US spring-forward (2024-03-10) and the UK fall-back (2024-10-27) changes.
STARTS = (-0.0, 0.0, 1_710_050_400.0, 1_729_990_800.0, 1_763_802_000.5)
STEPS = (0.0, 0.25, 1.0, 30.0, 600.0, 1800.0, 3600.0)
SESSIONS = (None, "s1", "s2", "s3")
# Idle times that release sessions between the steps above, exactly at them and never.
IDLE = (None, 0.25, 30.0, 600.0, 1000.0, 7200.0)
idle_seconds = st.sampled_from(IDLE)

thresholds = st.sampled_from((0.0, -0.0, 0.001, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0)) | st.floats(
    -2.0, 5.0, allow_nan=False
)
unit_floats = st.sampled_from((0.0, -0.0, 1.0, 0.1, 1 / 3, 5e-324, 1e-300)) | st.floats(0.0, 1.0)
time_windows = st.sampled_from((0.25, 1.0, 30.0, 3600.0, 7200.5, 86400.0)).map(
    lambda t: {"window_seconds": t}
)
windows = st.one_of(st.just({}), st.integers(1, 8).map(lambda n: {"window": n}), time_windows)


@st.composite
def metrics(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(
        st.sampled_from(("ratio", "distribution", "drift", "semantic", "temporal", "rate", "count"))
    )
    match kind:
        case "ratio":
            return kind, f"{draw(st.sampled_from(ACTIONS))}_to_{draw(st.sampled_from(ACTIONS))}"
        case "distribution":
            return kind, draw(st.sampled_from(DISTRIBUTION_METRICS))
        case "drift":
            return kind, draw(st.sampled_from(DRIFT_DISTRIBUTIONS))
        case "semantic":
            return kind, draw(st.sampled_from((*TERMS, EVERY_TERM)))
        case "temporal":
            start = draw(st.integers(0, 24))
            end = draw(st.integers(0, 24).filter(lambda hour: hour != start))
            zone = draw(st.sampled_from(ZONES))
            return kind, f"{start}-{end}" + (f"@{zone}" if zone else "")
        case "rate":
            return kind, draw(st.sampled_from(RATE_METRICS))
    return kind, draw(st.sampled_from(COUNT_METRICS))


@st.composite
def spec_dicts(draw: st.DrawFn, invariant_id: str) -> dict[str, Any]:
    type_, metric = draw(metrics())
    operator = draw(st.sampled_from(OPERATORS))
    threshold = draw(thresholds)
    upper = None
    if operator == "between":
        upper = threshold + draw(st.sampled_from((0.001, 0.5, 1.0, 4.0)))
    spec = {
        "invariant_id": invariant_id,
        "type": type_,
        "description": "",
        "metric": metric,
        "operator": operator,
        "threshold": threshold,
        "threshold_upper": upper,
        **draw(time_windows if metric == RATE_GROWTH else windows),
    }
    if draw(st.integers(0, 3)) == 0:
        spec["min_actions"] = draw(st.integers(1, spec.get("window") or 8))
    if type_ != "drift" and draw(st.integers(0, 2)) == 0:
        spec["per_session"] = True
    return spec


@st.composite
def spec_sets(draw: st.DrawFn, max_size: int = 8) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.text("abc-_9", min_size=1, max_size=4), max_size=max_size, unique=True))
    return [draw(spec_dicts(invariant_id)) for invariant_id in ids if invariant_id.strip()]


@st.composite
def observations(draw: st.DrawFn, timestamp: float) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "timestamp": timestamp,
        "action_type": draw(st.sampled_from(ACTIONS)),
        "target": draw(st.sampled_from(TARGETS)),
    }
    semantic = draw(st.dictionaries(st.sampled_from(TERMS), unit_floats, max_size=3))
    if semantic:
        observation["semantic"] = semantic
    session = draw(st.sampled_from(SESSIONS))
    if session is not None:
        observation["session_id"] = session
    return observation


@st.composite
def traces(draw: st.DrawFn, max_size: int = 25) -> list[dict[str, Any]]:
    timestamp = draw(st.sampled_from(STARTS))
    steps = draw(st.lists(st.sampled_from(STEPS) | st.floats(0.0, 5000.0), max_size=max_size))
    trace = []
    for step in steps:
        timestamp += step
        trace.append(draw(observations(timestamp)))
    return trace


def shares(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, float]]:
    return st.dictionaries(
        st.sampled_from(names),
        st.sampled_from((0.0, 0.2, 0.5, 1.0, 3.0, 1.7e308)) | st.floats(0.0, 10.0),
    )


@st.composite
def states(draw: st.DrawFn) -> dict[str, Any]:
    trace = draw(traces())
    state: dict[str, Any] = {"actions": trace}
    optional = {
        "action_distribution": shares(ACTIONS),
        "target_distribution": shares(TARGETS),
        "drift": st.dictionaries(st.sampled_from(DRIFT_DISTRIBUTIONS), unit_floats),
        "semantic_drift": st.dictionaries(st.sampled_from(TERMS), unit_floats),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            state[name] = draw(values)
    if trace and draw(st.booleans()):
        last = trace[-1]["timestamp"]
        state["now"] = draw(st.sampled_from((last, last + 30.0, max(0.0, last - 600.0))))
    return state
