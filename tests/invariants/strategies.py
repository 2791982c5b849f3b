"""Hypothesis strategies for valid invariant specs and well-formed behavioral states."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from nomotic_dsl.ir import InvariantSpec
from nomotic_dsl.ir.spec import (
    COUNT_METRICS,
    DISTRIBUTION_METRICS,
    DRIFT_DISTRIBUTIONS,
    OPERATORS,
)
from nomotic_dsl.runtime.interpreter import BehavioralState, Observation

ACTIONS = ("read", "write", "send", "delete", "search")
TARGETS = ("tickets", "kb", "email", "crm", "files", "calendar")
TERMS = ("research", "refund", "billing")
ZONES = (None, "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe")

# 2024-03-01 .. 2024-11-30: spans both DST transitions of the zones above.
BASE_TIME = 1_709_251_200.0
SPAN = 275 * 86_400.0

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def metrics(draw: st.DrawFn) -> tuple[str, str]:
    """A (type, metric) pair that validates."""
    type_ = draw(
        st.sampled_from(("ratio", "distribution", "drift", "semantic", "temporal", "rate", "count"))
    )
    if type_ == "ratio":
        a, b = draw(st.sampled_from(ACTIONS)), draw(st.sampled_from(ACTIONS))
        return type_, f"{a}_to_{b}"
    if type_ == "temporal":
        start = draw(st.integers(0, 24))
        end = draw(st.integers(0, 24).filter(lambda e: e != start))
        zone = draw(st.sampled_from(ZONES))
        return type_, f"{start}-{end}" + (f"@{zone}" if zone else "")
    table = {
        "distribution": DISTRIBUTION_METRICS,
        "drift": DRIFT_DISTRIBUTIONS,
        "semantic": (*TERMS, "*"),
        "rate": ("action_frequency", "action_frequency_growth"),
        "count": COUNT_METRICS,
    }
    return type_, draw(st.sampled_from(table[type_]))


@st.composite
def specs(draw: st.DrawFn, invariant_id: str | None = None) -> InvariantSpec:
    """A valid InvariantSpec of any type, operator and window kind."""
    type_, metric = draw(metrics())
    operator = draw(st.sampled_from(OPERATORS))
    threshold = draw(st.one_of(unit, st.integers(0, 12).map(float), st.floats(-5, 50)))
    upper = None
    if operator == "between":
        upper = threshold + draw(st.floats(min_value=0.001, max_value=10.0))
    window_kind = draw(st.sampled_from(("none", "count", "time")))
    if metric == "action_frequency_growth":
        window_kind = "time"  # growth compares one time window with the one before
    window = draw(st.integers(1, 40)) if window_kind == "count" else None
    return InvariantSpec(
        invariant_id=invariant_id or draw(st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)),
        type=type_,
        description=draw(st.text(max_size=20)),
        metric=metric,
        operator=operator,
        threshold=threshold,
        threshold_upper=upper,
        window=window,
        window_seconds=draw(st.floats(0.5, 20_000.0)) if window_kind == "time" else None,
        min_actions=draw(st.none() | st.integers(1, window or 12)),
        per_session=type_ != "drift" and draw(st.booleans()),
    )


@st.composite
def observations(draw: st.DrawFn, count: int) -> tuple[Observation, ...]:
    """``count`` observations in timestamp order, with ties and gaps."""
    time = BASE_TIME + draw(st.floats(0, SPAN))
    out = []
    for _ in range(count):
        time += draw(st.sampled_from((0.0, 0.5, 1.0, 7.25, 60.0, 3_600.0, 40_000.0)))
        semantic = draw(st.dictionaries(st.sampled_from(TERMS), unit, max_size=2))
        out.append(
            Observation(
                timestamp=time,
                action_type=draw(st.sampled_from(ACTIONS)),
                target=draw(st.sampled_from(TARGETS)),
                outcome=draw(st.sampled_from((None, "allow", "deny"))),
                session_id=draw(st.sampled_from((None, "s1", "s2"))),
                semantic=semantic,
            )
        )
    return tuple(out)


def _distribution(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, float]]:
    return st.dictionaries(st.sampled_from(keys), st.floats(0, 100), max_size=len(keys))


@st.composite
def states(draw: st.DrawFn, max_actions: int = 30) -> BehavioralState:
    """A well-formed state: actions, and any mix of snapshot fields."""
    actions = draw(observations(draw(st.integers(0, max_actions))))
    maybe = st.booleans()
    fields: dict[str, Any] = {"actions": actions}
    if draw(maybe):
        fields["action_distribution"] = draw(_distribution(ACTIONS))
    if draw(maybe):
        fields["target_distribution"] = draw(_distribution(TARGETS))
    if draw(maybe):
        fields["drift"] = draw(st.dictionaries(st.sampled_from(DRIFT_DISTRIBUTIONS), unit))
    if draw(maybe):
        fields["semantic_drift"] = draw(st.dictionaries(st.sampled_from(TERMS), unit))
    if actions and draw(maybe):
        fields["now"] = actions[-1].timestamp + draw(st.floats(0, 5_000))
    return BehavioralState(**fields)
