"""InvariantResult: the outcome of evaluating one invariant on one state."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class InvariantResult:
    """Whether an invariant held, the measured value, its margin and a readable detail.

    ``measured`` is False when the invariant had nothing to measure: an absent
    drift or semantic score, an empty window, or a warm-up not yet reached.
    Such a result is never a violation (satisfied, margin NaN, status by the
    status rules) and is never counted as satisfied: summaries and provenance
    count it as not measured. ``current_value`` is NaN when no value exists
    (absent data, warm-up) and 0.0 for an empty window.
    """

    invariant_id: str
    satisfied: bool
    current_value: float
    threshold: float
    margin: float
    status: str
    detail: str
    measured: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-clean form: NaN becomes null, infinities become the strings "inf"/"-inf"."""
        return {f.name: _json_number(getattr(self, f.name)) for f in fields(self)}

    def same_as(self, other: InvariantResult) -> bool:
        """Field-by-field equality that treats NaN as equal to NaN."""
        return self.to_dict() == other.to_dict()


def _json_number(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value
