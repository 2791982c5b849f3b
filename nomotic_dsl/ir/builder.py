"""InvariantBuilder: a fluent way to write an InvariantSpec in Python.

    spec = InvariantBuilder().ratio("write", "read").lt(0.3).window(100).build()

One method per type, one per operator, one per window kind. ``build()``
generates a stable id from the rule when none was given, and a description
from the rule when none was set.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nomotic_dsl.ir.canonical import canonical_digest
from nomotic_dsl.ir.describe import default_description
from nomotic_dsl.ir.spec import EVERY_TERM, RATE_GROWTH, InvariantSpec


def derived_invariant_id(spec: InvariantSpec, prefix: str = "inv") -> str:
    """A stable id from what the spec measures and how: the same rule, the same id."""
    rule = spec.to_dict()
    del rule["invariant_id"], rule["description"]
    return f"{prefix}-{canonical_digest(rule)[:12]}"


class InvariantBuilder:
    """Fluent builder of one InvariantSpec."""

    def __init__(self, invariant_id: str | None = None) -> None:
        self._id = invariant_id
        self._fields: dict[str, Any] = {}

    def _set(self, **fields: Any) -> InvariantBuilder:
        self._fields.update(fields)
        return self

    # Types -----------------------------------------------------------------

    def ratio(self, numerator: str, denominator: str) -> InvariantBuilder:
        """Ratio of two action types' shares, e.g. ``ratio("write", "read")``."""
        return self._set(type="ratio", metric=f"{numerator}_to_{denominator}")

    def distribution(self, metric: str) -> InvariantBuilder:
        """Distribution shape: ``target_max``, ``action_max`` or ``target_count``."""
        return self._set(type="distribution", metric=metric)

    def drift(self, metric: str) -> InvariantBuilder:
        """Drift of one distribution: action, target, temporal, outcome, semantic, overall."""
        return self._set(type="drift", metric=metric)

    def semantic(self, term: str) -> InvariantBuilder:
        """Semantic fidelity (1 - drift) of an anchor term."""
        return self._set(type="semantic", metric=term)

    def every_term(self) -> InvariantBuilder:
        """The lowest semantic fidelity of any term."""
        return self._set(type="semantic", metric=EVERY_TERM)

    def temporal(self, start: int, end: int, zone: str | None = None) -> InvariantBuilder:
        """Fraction of actions outside allowed hours ``start``-``end`` (UTC or ``zone``)."""
        metric = f"{start}-{end}" + (f"@{zone}" if zone else "")
        return self._set(type="temporal", metric=metric)

    def rate(self) -> InvariantBuilder:
        """Action frequency in actions per second."""
        return self._set(type="rate", metric="action_frequency")

    def rate_growth(self) -> InvariantBuilder:
        """Actions in the last ``window_seconds`` over those in the ``window_seconds`` before."""
        return self._set(type="rate", metric=RATE_GROWTH)

    def count(self, metric: str) -> InvariantBuilder:
        """Cardinality: ``distinct_targets`` or ``distinct_actions``."""
        return self._set(type="count", metric=metric)

    # Operators -------------------------------------------------------------

    def lt(self, threshold: float) -> InvariantBuilder:
        """Value must be less than ``threshold``."""
        return self._set(operator="lt", threshold=float(threshold), threshold_upper=None)

    def gt(self, threshold: float) -> InvariantBuilder:
        """Value must be greater than ``threshold``."""
        return self._set(operator="gt", threshold=float(threshold), threshold_upper=None)

    def lte(self, threshold: float) -> InvariantBuilder:
        """Value must be at most ``threshold``."""
        return self._set(operator="lte", threshold=float(threshold), threshold_upper=None)

    def gte(self, threshold: float) -> InvariantBuilder:
        """Value must be at least ``threshold``."""
        return self._set(operator="gte", threshold=float(threshold), threshold_upper=None)

    def eq(self, threshold: float) -> InvariantBuilder:
        """Value must equal ``threshold`` within 0.001."""
        return self._set(operator="eq", threshold=float(threshold), threshold_upper=None)

    def between(self, lower: float, upper: float) -> InvariantBuilder:
        """Value must lie in ``[lower, upper]``."""
        return self._set(operator="between", threshold=float(lower), threshold_upper=float(upper))

    # Windows and text ------------------------------------------------------

    def window(self, actions: int) -> InvariantBuilder:
        """Measure over the last ``actions`` observations."""
        return self._set(window=actions, window_seconds=None)

    def window_seconds(self, seconds: float) -> InvariantBuilder:
        """Measure over the last ``seconds`` seconds."""
        return self._set(window_seconds=float(seconds), window=None)

    def min_actions(self, actions: int) -> InvariantBuilder:
        """Warm-up: measure only once the window holds at least ``actions`` actions."""
        return self._set(min_actions=actions)

    def per_session(self) -> InvariantBuilder:
        """Measure over the actions of the current observation's session."""
        return self._set(per_session=True)

    def description(self, text: str) -> InvariantBuilder:
        """A human-readable description; generated from the rule when not set."""
        return self._set(description=text)

    def build(self) -> InvariantSpec:
        """The spec; raise ValueError naming every problem when it is incomplete or invalid."""
        missing = [name for name in ("type", "operator") if name not in self._fields]
        if missing:
            raise ValueError(
                "InvariantBuilder needs a type method (ratio, drift, ...) and an operator "
                f"method (lt, between, ...); missing: {', '.join(missing)}"
            )
        spec = InvariantSpec(
            invariant_id=self._id or "pending",
            type=self._fields["type"],
            description=self._fields.get("description", ""),
            metric=self._fields["metric"],
            operator=self._fields["operator"],
            threshold=self._fields["threshold"],
            threshold_upper=self._fields.get("threshold_upper"),
            window=self._fields.get("window"),
            window_seconds=self._fields.get("window_seconds"),
            min_actions=self._fields.get("min_actions"),
            per_session=self._fields.get("per_session", False),
        )
        problems = spec.validate()
        if problems:
            raise ValueError("invalid invariant: " + "; ".join(problems))
        if self._id is None:
            spec = replace(spec, invariant_id=derived_invariant_id(spec))
        if not spec.description:
            spec = replace(spec, description=default_description(spec))
        return spec
