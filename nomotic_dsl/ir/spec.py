"""InvariantSpec: one declared behavioral expectation, as the seed defines it.

A spec is a frozen value with the seed's nine fields, in the seed's order,
followed by optional fields that have defaults (``EXTENSION_DEFAULTS``).
``validate()`` lists every problem; ``to_dict()``/``from_dict()`` give the
JSON-clean dict that contracts carry in their ``invariants`` list. An optional
field appears in the dict only when it differs from its default, so every spec
the seed can express has exactly the seed's nine keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.ir.problems import Problem

# Version of the InvariantSpec dict format: bumped when a field changes meaning.
SPEC_VERSION = 1

INVARIANT_TYPES: tuple[str, ...] = (
    "ratio",
    "distribution",
    "drift",
    "semantic",
    "temporal",
    "rate",
    "count",
)
OPERATORS: tuple[str, ...] = ("lt", "gt", "lte", "gte", "eq", "between")
DRIFT_DISTRIBUTIONS: tuple[str, ...] = (
    "action",
    "target",
    "temporal",
    "outcome",
    "semantic",
    "overall",
)
DISTRIBUTION_METRICS: tuple[str, ...] = ("target_max", "action_max", "target_count")
# action_frequency_growth: actions in the last window_seconds over those in the window before.
RATE_GROWTH = "action_frequency_growth"
RATE_METRICS: tuple[str, ...] = ("action_frequency", RATE_GROWTH)
COUNT_METRICS: tuple[str, ...] = ("distinct_targets", "distinct_actions")
# The semantic metric meaning every term: the value is the lowest fidelity of any term.
EVERY_TERM = "*"

EQ_TOLERANCE = 0.001
APPROACHING_MARGIN = 0.20

_RATIO_SEPARATOR = "_to_"
_TEMPORAL_RE = re.compile(r"^(\d{1,2})-(\d{1,2})(?:@(.+))?$")


@dataclass(frozen=True, slots=True)
class TemporalWindow:
    """Allowed hours parsed from a temporal metric such as ``8-18@Europe/Paris``."""

    start: int
    end: int
    zone: str | None

    def allows(self, hour: int) -> bool:
        """True when an action at local ``hour`` is inside the allowed hours."""
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end

    def label(self) -> str:
        """The hours as a reader sees them: ``8-18 (UTC)``."""
        return f"{self.start}-{self.end} ({self.zone or 'UTC'})"


def parse_temporal_metric(metric: str) -> TemporalWindow:
    """Parse ``start-end[@Zone]``; raise ValueError saying what is wrong."""
    match = _TEMPORAL_RE.match(metric)
    if match is None:
        raise ValueError(
            f"temporal metric {metric!r} must be allowed hours 'start-end', "
            "optionally followed by '@' and an IANA time zone, e.g. '8-18@Europe/Paris'"
        )
    start, end, zone = int(match.group(1)), int(match.group(2)), match.group(3)
    if not (0 <= start <= 24 and 0 <= end <= 24):
        raise ValueError(f"temporal hours in {metric!r} must lie within 0..24")
    if start == end:
        raise ValueError(f"temporal hours {metric!r} allow no hour at all (start equals end)")
    if zone is not None:
        load_zone(zone)
    return TemporalWindow(start, end, zone)


def load_zone(name: str) -> ZoneInfo:
    """Load an IANA time zone, raising ValueError for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def split_ratio_metric(metric: str) -> tuple[str, str]:
    """Split ``X_to_Y`` into its action names; raise ValueError if malformed."""
    parts = metric.split(_RATIO_SEPARATOR)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError(
            f"ratio metric {metric!r} must be 'X_to_Y' with two action names, "
            "neither containing '_to_'"
        )
    return parts[0], parts[1]


def is_proportion(type_: str, metric: str) -> bool:
    """True when the metric's value is a share in 0..1, so bounds outside 0..1 make no sense."""
    if type_ in ("drift", "semantic", "temporal"):
        return True
    return type_ == "distribution" and metric in ("target_max", "action_max")


@dataclass(frozen=True, slots=True)
class InvariantSpec:
    """A single behavioral expectation: what to measure, how to compare, over what window."""

    invariant_id: str
    type: str
    description: str
    metric: str
    operator: str
    threshold: float
    threshold_upper: float | None = None
    window: int | None = None
    window_seconds: float | None = None
    # ---- optional fields beyond the seed's nine (see EXTENSION_DEFAULTS) ----
    min_actions: int | None = None
    per_session: bool = False

    def validate(self) -> list[str]:
        """Return every problem with this spec as a message; empty when valid."""
        return [str(problem) for problem in self.problems()]

    def problems(self) -> list[Problem]:
        """Every problem with this spec, each naming the field it is about."""
        problems: list[Problem] = []
        if not isinstance(self.invariant_id, str) or not self.invariant_id.strip():
            problems.append(Problem("invariant_id", "must be a non-empty string"))
        if not isinstance(self.description, str):
            problems.append(Problem("description", "must be a string"))
        if self.type not in INVARIANT_TYPES:
            problems.append(
                Problem("type", f"{self.type!r} is not one of {', '.join(INVARIANT_TYPES)}")
            )
        else:
            problems.extend(
                Problem("metric", text) for text in _metric_problems(self.type, self.metric)
            )
        problems.extend(self._bound_problems())
        problems.extend(self._window_problems())
        return problems

    def _bound_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.operator not in OPERATORS:
            problems.append(
                Problem("operator", f"{self.operator!r} is not one of {', '.join(OPERATORS)}")
            )
        if not is_number(self.threshold):
            problems.append(Problem("threshold", f"{self.threshold!r} must be a finite number"))
        if self.operator == "between":
            if self.threshold_upper is None:
                problems.append(
                    Problem("threshold_upper", "operator 'between' needs an upper bound")
                )
            elif not is_number(self.threshold_upper):
                problems.append(
                    Problem("threshold_upper", f"{self.threshold_upper!r} must be a finite number")
                )
            elif is_number(self.threshold) and self.threshold_upper <= self.threshold:
                problems.append(
                    Problem(
                        "threshold_upper",
                        f"{self.threshold_upper!r} must be greater than threshold {self.threshold!r}",
                    )
                )
        elif self.threshold_upper is not None:
            problems.append(
                Problem("threshold_upper", f"is only used with 'between', not {self.operator!r}")
            )
        return problems

    def _window_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.window is not None and (
            isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1
        ):
            problems.append(
                Problem("window", f"{self.window!r} must be a whole number of actions, at least 1")
            )
        if self.window_seconds is not None and (
            not is_number(self.window_seconds) or self.window_seconds <= 0
        ):
            problems.append(
                Problem("window_seconds", f"{self.window_seconds!r} must be a positive number")
            )
        if self.window is not None and self.window_seconds is not None:
            problems.append(
                Problem("window_seconds", "give at most one of window and window_seconds")
            )
        problems.extend(self._warmup_problems())
        problems.extend(self._session_problems())
        if self.type == "rate" and self.metric == RATE_GROWTH and self.window_seconds is None:
            problems.append(
                Problem(
                    "window_seconds",
                    f"rate metric {RATE_GROWTH!r} compares the last window_seconds with the "
                    "window_seconds before, so it needs window_seconds (not window)",
                )
            )
        return problems

    def _session_problems(self) -> list[Problem]:
        if not isinstance(self.per_session, bool):
            return [Problem("per_session", f"{self.per_session!r} must be true or false")]
        if self.per_session and self.type == "drift":
            return [
                Problem(
                    "per_session",
                    "a drift invariant reads the runtime's drift scores, not the actions of "
                    "a session",
                )
            ]
        return []

    def _warmup_problems(self) -> list[Problem]:
        if self.min_actions is None:
            return []
        if (
            isinstance(self.min_actions, bool)
            or not isinstance(self.min_actions, int)
            or self.min_actions < 1
        ):
            return [
                Problem(
                    "min_actions",
                    f"{self.min_actions!r} must be a whole number of actions, at least 1",
                )
            ]
        window = self.window
        if (
            isinstance(window, int)
            and not isinstance(window, bool)
            and self.min_actions > window >= 1
        ):
            return [
                Problem(
                    "min_actions",
                    f"{self.min_actions} is more than the window of {self.window} actions "
                    "can hold, so the invariant would never be measured",
                )
            ]
        return []

    def to_dict(self) -> dict[str, Any]:
        """The JSON-clean dict a contract carries: the seed's nine fields in order, then
        each optional field that differs from its default."""
        out = {name: getattr(self, name) for name in SEED_FIELDS}
        for name, default in EXTENSION_DEFAULTS.items():
            value = getattr(self, name)
            if value != default or type(value) is not type(default):
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InvariantSpec:
        """Build a spec from its dict; raise ValueError for unknown or missing keys.

        Values are taken as given (numbers are made float where the field is a
        float); call ``validate()`` for the rules on their values.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"an invariant spec must be a mapping, not {type(data).__name__}")
        unknown = sorted(set(data) - set(SPEC_FIELDS))
        if unknown:
            raise ValueError(f"unknown invariant spec key(s): {', '.join(map(str, unknown))}")
        missing = [name for name in REQUIRED_FIELDS if name not in data]
        if missing:
            raise ValueError(f"invariant spec is missing {', '.join(missing)}")
        return cls(
            invariant_id=data["invariant_id"],
            type=data["type"],
            description=data.get("description", ""),
            metric=data["metric"],
            operator=data["operator"],
            threshold=_as_float(data["threshold"]),
            threshold_upper=_as_optional_float(data.get("threshold_upper")),
            window=data.get("window"),
            window_seconds=_as_optional_float(data.get("window_seconds")),
            min_actions=data.get("min_actions"),
            per_session=data.get("per_session", False),
        )


SPEC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(InvariantSpec))
# The seed's nine fields, always in a spec's dict, in this order.
SEED_FIELDS: tuple[str, ...] = SPEC_FIELDS[:9]
# Optional fields beyond the seed's, with the default that leaves them out of the dict.
EXTENSION_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(InvariantSpec) if f.name not in SEED_FIELDS
}


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """A problem of one item of a spec list: its index, its id when it has one, the problem."""

    index: int
    invariant_id: str | None
    problem: Problem

    def in_list(self, field: str) -> Problem:
        """The problem with a path from the record holding the list: ``invariants[2].window``."""
        return self.problem.within(f"{field}[{self.index}]")


# The fields a plain reading of a spec's window understands: its last
# ``window`` actions or ``window_seconds``. The others (``min_actions``,
# ``per_session``) change which observations a value is measured over.
PLAIN_WINDOW_FIELDS = frozenset(
    {
        "invariant_id",
        "type",
        "description",
        "metric",
        "operator",
        "threshold",
        "threshold_upper",
        "window",
        "window_seconds",
    }
)


def has_plain_window(spec: InvariantSpec) -> bool:
    """True when no field beyond ``PLAIN_WINDOW_FIELDS`` differs from its default."""
    return all(
        item.name in PLAIN_WINDOW_FIELDS or getattr(spec, item.name) in (None, item.default)
        for item in fields(spec)
    )


def parse_specs(items: Iterable[Any]) -> tuple[list[InvariantSpec], list[SpecProblem]]:
    """Parse specs (objects or dicts) and validate them all, duplicate ids included.

    Returns every spec that could be parsed, and every problem of every item:
    the one check behind ``CompiledInvariants.compile`` and contract creation.
    """
    specs: list[InvariantSpec] = []
    problems: list[SpecProblem] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            spec = item if isinstance(item, InvariantSpec) else InvariantSpec.from_dict(item)
        except ValueError as exc:
            problems.append(SpecProblem(index, None, Problem("", str(exc))))
            continue
        ident = spec.invariant_id if isinstance(spec.invariant_id, str) else None
        problems.extend(SpecProblem(index, ident, problem) for problem in spec.problems())
        if ident is not None and ident in seen:
            problems.append(
                SpecProblem(index, ident, Problem("invariant_id", f"duplicate id {ident!r}"))
            )
        if ident is not None:
            seen.add(ident)
        specs.append(spec)
    return specs, problems


REQUIRED_FIELDS: tuple[str, ...] = ("invariant_id", "type", "metric", "operator", "threshold")


def _metric_problems(type_: str, metric: Any) -> list[str]:
    if not isinstance(metric, str) or not metric:
        return ["metric must be a non-empty string"]
    known: dict[str, tuple[str, ...]] = {
        "distribution": DISTRIBUTION_METRICS,
        "drift": DRIFT_DISTRIBUTIONS,
        "rate": RATE_METRICS,
        "count": COUNT_METRICS,
    }
    if type_ in known:
        if metric not in known[type_]:
            return [f"{type_} metric {metric!r} is not one of {', '.join(known[type_])}"]
        return []
    try:
        if type_ == "ratio":
            split_ratio_metric(metric)
        elif type_ == "temporal":
            parse_temporal_metric(metric)
    except ValueError as exc:
        return [str(exc)]
    return []


def _as_float(value: Any) -> Any:
    """Make ints float so dicts round-trip; leave anything else for validate().

    An int past the float range stays an int, and validate() refuses it as not
    a finite number (``float()`` of it would raise OverflowError).
    """
    if isinstance(value, int) and is_number(value):  # is_number: not a bool
        return float(value)
    return value


def _as_optional_float(value: Any) -> Any:
    return None if value is None else _as_float(value)
