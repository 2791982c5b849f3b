"""Assembling results and reading snapshot fields, for generated evaluators.

Input: a measured value and its basis, or a state's snapshot fields; output:
``InvariantResult`` values built exactly as the reference interpreter builds
them (same judge functions, same detail sentence), so generated code and the
interpreter agree field for field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from typing import NamedTuple

from nomotic_dsl.ir.describe import DetailText
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime.interpreter.detail import (
    BASIS_EMPTY,
    BASIS_NO_DATA,
    BASIS_SNAPSHOT,
    BASIS_WARMUP,
    UNMEASURED_BASES,
    render_detail,
)
from nomotic_dsl.runtime.interpreter.judge import status_of
from nomotic_dsl.runtime.interpreter.measure import largest_share
from nomotic_dsl.runtime.interpreter.result import DetailParts, InvariantResult
from nomotic_dsl.runtime.interpreter.state import BehavioralState, StateError, plain_scores

Scores = Mapping[str, float]
_DRIFT_KEYS = frozenset(DRIFT_DISTRIBUTIONS)


class Snapshot(NamedTuple):
    """The snapshot fields of a state that unwindowed invariants and drift invariants read.

    A named tuple: immutable, and made in a fraction of a frozen dataclass's
    time (a monitor makes one whenever its drift scores are set).
    """

    action_distribution: Scores | None = None
    target_distribution: Scores | None = None
    drift: Scores | None = None
    semantic_drift: Scores | None = None

    @classmethod
    def of(cls, state: BehavioralState) -> Snapshot:
        """The snapshot fields of ``state``."""
        return cls(
            state.action_distribution, state.target_distribution, state.drift, state.semantic_drift
        )


EMPTY_SNAPSHOT = Snapshot()


def checked_scores(name: str, scores: Scores | None) -> Scores | None:
    """Validate drift-like scores (names to numbers in 0..1) as a state does; StateError if not."""
    if scores is None:
        return None
    if name == "drift" and plain_scores(scores, 1.0) and _DRIFT_KEYS.issuperset(scores):
        return MappingProxyType(dict(scores))  # what BehavioralState makes of plain scores
    if name == "drift":
        return BehavioralState(drift=scores).drift
    return BehavioralState(semantic_drift=scores).semantic_drift


def finish(
    invariant_id: str,
    threshold: float,
    text: DetailText,
    value: float,
    basis: str,
    judged: tuple[bool, float],
    note: str = "",
) -> InvariantResult:
    """The result of a judged measurement: status and detail as the interpreter gives them.

    A basis that measured nothing (an empty window) overrides the judgement:
    satisfied, margin NaN, ``measured`` False.
    """
    measured = basis not in UNMEASURED_BASES
    satisfied, margin = judged if measured else (True, math.nan)
    status = status_of(satisfied, margin)
    detail = render_detail(text, value, margin, status, basis, note)
    return InvariantResult(
        invariant_id, satisfied, value, threshold, margin, status, detail, measured
    )


# ``new_result((invariant_id, satisfied, value, threshold, margin, status, detail, measured))``:
# a result from one tuple of its eight fields, the fastest way to make one (generated code).
new_result = partial(tuple.__new__, InvariantResult)

# The status of a result that measured nothing, as the status rules give it.
_UNMEASURED_STATUS = status_of(True, math.nan)


def unmeasured(
    invariant_id: str, threshold: float, parts: DetailParts, value: float = math.nan
) -> InvariantResult:
    """A result that measured nothing, its detail rendered from ``parts`` when read.

    Equal to ``finish`` of the same value on an unmeasured basis: satisfied,
    margin NaN, ``measured`` False.
    """
    return new_result(
        (invariant_id, True, value, threshold, math.nan, _UNMEASURED_STATUS, parts, False)
    )


def not_measured(
    invariant_id: str,
    threshold: float,
    text: DetailText,
    value: float = math.nan,
    basis: str = BASIS_NO_DATA,
) -> InvariantResult:
    """The result of an invariant that measured nothing (absent data by default)."""
    return finish(invariant_id, threshold, text, value, basis, (True, math.nan))


def warming_up(invariant_id: str, threshold: float, text: DetailText, held: int) -> InvariantResult:
    """The result of an invariant whose window holds fewer actions than its ``min_actions``."""
    return finish(
        invariant_id, threshold, text, math.nan, BASIS_WARMUP, (True, math.nan), str(held)
    )


def snapshot_max_share(snapshot: Scores) -> tuple[float, str]:
    """Largest share in a non-empty snapshot distribution, and its basis."""
    if not any(share > 0 for share in snapshot.values()):
        return 0.0, BASIS_EMPTY
    return largest_share(list(snapshot.values())), BASIS_SNAPSHOT


def snapshot_distinct(snapshot: Scores) -> tuple[float, str]:
    """Number of names with a positive share in a non-empty snapshot distribution, and its basis."""
    present = sum(1 for share in snapshot.values() if share > 0)
    if not present:
        return 0.0, BASIS_EMPTY
    return float(present), BASIS_SNAPSHOT


def check_order(last: float | None, timestamp: float) -> None:
    """Refuse an observation earlier than the last one a monitor saw."""
    if last is not None and timestamp < last:
        raise StateError(
            f"observation at timestamp {timestamp!r} is earlier than the previous one "
            f"({last!r}); a monitor takes observations in timestamp order"
        )
