"""Behavioral drift: how far an observed window is from a contract's expectations.

Input: a window of observations, a contract's expected distributions and,
optionally, its archetype's active hours. Output: drift scores in 0..1 per
distribution (``action``, ``target``, ``outcome``, ``temporal``, ``semantic``)
and their weighted mean ``overall``. Stage: runtime governance, after each
verdict. Every function here is pure.

Scores are Jensen-Shannon divergences with base-2 logarithms, so 0 means the
observed shares equal the expected ones and 1 means they share no name at all.

Every score is computed in a fixed order (names sorted) with exactly rounded
sums (``math.fsum``) and exact means, so the same window gives the same bits
in any process, whatever its hash seed: the fleet runtime's receipts and
checkpoints depend on that.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType

from nomotic_dsl.ir.prior import ActiveHours
from nomotic_dsl.ir.spec import load_zone
from nomotic_dsl.runtime.interpreter.measure import exact_mean, local_hour
from nomotic_dsl.runtime.interpreter.state import Observation

# Weights of each distribution in ``overall`` (renormalised over the scores
# present). What an agent does and to what weigh most; when it acts and what
# the governance verdicts were come next; semantic drift is the noisiest signal.
DEFAULT_DRIFT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"action": 0.30, "target": 0.25, "outcome": 0.20, "temporal": 0.15, "semantic": 0.10}
)
HOURS_PER_DAY = 24


def normalise(weights: Mapping[str, float]) -> dict[str, float]:
    """Shares summing to 1 from non-negative counts or weights; empty when they sum to 0."""
    total = math.fsum(value for value in weights.values() if value > 0)
    if total <= 0:
        return {}
    return {name: value / total for name, value in weights.items() if value > 0}


def js_divergence(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence (base 2) of two distributions, in 0..1.

    Both arguments are normalised first, so counts work as well as shares. An
    empty (all-zero) distribution has nothing to compare: the result is 0.0
    when both are empty and 1.0 when only one is.
    """
    return js_of_shares(normalise(p), normalise(q))


def js_of_shares(p_shares: Mapping[str, float], q_shares: Mapping[str, float]) -> float:
    """``js_divergence`` of two distributions already normalised by ``normalise``."""
    if not p_shares or not q_shares:
        return 0.0 if p_shares == q_shares else 1.0
    terms = []
    for name in sorted(p_shares.keys() | q_shares.keys()):
        pi, qi = p_shares.get(name, 0.0), q_shares.get(name, 0.0)
        mi = (pi + qi) / 2
        terms.append(_kl_term(pi, mi))
        terms.append(_kl_term(qi, mi))
    # Rounding can leave the sum a hair outside the mathematical range.
    return min(1.0, max(0.0, math.fsum(terms) / 2))


def _kl_term(x: float, m: float) -> float:
    return 0.0 if x == 0.0 else x * math.log2(x / m)


def counts_of(values: Iterable[str | None]) -> dict[str, float]:
    """How often each name occurs, ignoring absent values."""
    counts = Counter(value for value in values if value is not None)
    return {name: float(counts[name]) for name in sorted(counts)}


def hour_counts(window: Sequence[Observation], zone: str | None) -> dict[str, float]:
    """How many actions fell in each local hour of the day (keys ``"0"``..``"23"``)."""
    tz = load_zone(zone) if zone else None
    return counts_of(str(local_hour(action.timestamp, tz)) for action in window)


def active_hours_distribution(hours: ActiveHours) -> dict[str, float]:
    """The expected hour-of-day shares: uniform over the active hours (wrapping past midnight)."""
    if hours.start < hours.end:
        active = range(hours.start, hours.end)
    else:
        active = range(hours.start, hours.end + HOURS_PER_DAY)
    return normalise({str(hour % HOURS_PER_DAY): 1.0 for hour in active})


def semantic_fidelities(
    action: Observation, terms: Collection[str] | None = None
) -> tuple[float, ...]:
    """The fidelities an action reports, for ``terms`` only when given, in term order."""
    return tuple(
        action.semantic[term] for term in sorted(action.semantic) if terms is None or term in terms
    )


def semantic_drift(
    window: Sequence[Observation], terms: Collection[str] | None = None
) -> float | None:
    """1 minus the exact mean fidelity reported in the window; None without any.

    With ``terms`` (a contract's anchor terms) only those terms count.
    """
    fidelities = [score for action in window for score in semantic_fidelities(action, terms)]
    if not fidelities:
        return None
    return semantic_score(exact_mean(fidelities))


def semantic_score(mean_fidelity: float) -> float:
    """The semantic drift of a mean fidelity: ``1 - mean``, within 0..1."""
    return min(1.0, max(0.0, 1.0 - mean_fidelity))


def overall_drift(scores: Mapping[str, float], weights: Mapping[str, float]) -> float | None:
    """Weighted mean of the scores present that have a positive weight; None when there are none."""
    used = {name: weights[name] for name in scores if weights.get(name, 0.0) > 0}
    total = math.fsum(used.values())
    if total <= 0:
        return None
    return min(1.0, max(0.0, math.fsum(scores[name] * w for name, w in used.items()) / total))


def window_drift(
    window: Sequence[Observation],
    expected: Mapping[str, Mapping[str, float]],
    active_hours: ActiveHours | None = None,
    weights: Mapping[str, float] = DEFAULT_DRIFT_WEIGHTS,
    terms: Collection[str] | None = None,
) -> dict[str, float]:
    """Drift scores of ``window`` against ``expected`` (``action``/``target``/``outcome`` shares).

    A distribution is scored only when the contract expects something for it
    and the window observed something for it: an empty expectation is no
    baseline, and a window without outcomes says nothing about outcomes.
    ``temporal`` needs the archetype's active hours, ``semantic`` needs
    per-action fidelities (of ``terms`` only, when given: the contract's
    anchor terms). ``overall`` is the weighted mean of the others.
    """
    observed = {
        "action": counts_of(action.action_type for action in window),
        "target": counts_of(action.target for action in window),
        "outcome": counts_of(action.outcome for action in window),
    }
    scores: dict[str, float] = {}
    for name, counts in observed.items():
        if expected.get(name) and counts:
            scores[name] = js_divergence(counts, expected[name])
    if active_hours is not None and window:
        expected_hours = active_hours_distribution(active_hours)
        scores["temporal"] = js_divergence(hour_counts(window, active_hours.zone), expected_hours)
    semantic = semantic_drift(window, terms)
    if semantic is not None:
        scores["semantic"] = semantic
    overall = overall_drift(scores, weights)
    if overall is not None:
        scores["overall"] = overall
    return scores
