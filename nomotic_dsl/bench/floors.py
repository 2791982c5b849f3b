"""Hand-written floors: the same checks as the benchmark's policies, in plain Python.

Each floor is what a programmer would write for one policy by hand, knowing
it in advance: no validation, no detail sentences, bools only. They set the
bar the generated code is measured against (``run.py`` prints each ratio);
they are not the reference meaning (that is the interpreter). A test checks
that each floor's bools agree with the generated results on the benchmark's
own input, so a floor that skipped work would be found.

The temporal rule's zone (New York) changes offset only on whole hours, so
the floors cache the local hour per UTC hour: a fair hand-written shortcut
for this zone, and one the generated code cannot assume for every zone.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from nomotic_dsl.bench.workloads import ZONE
from nomotic_dsl.runtime.interpreter import Observation

_NEW_YORK = ZoneInfo(ZONE)


def four_checks(state: Mapping[str, Any]) -> tuple[bool, bool, bool, bool]:
    """Write/read ratio < 0.3, largest target share < 0.6, action drift < 0.2, <= 5 targets."""
    actions = state["action_distribution"]
    targets = state["target_distribution"]
    read, write = actions.get("read", 0.0), actions.get("write", 0.0)
    ratio = write / read if read else (0.0 if write == 0 else math.inf)
    shares = targets.values()
    drift = state["drift"].get("action")
    return (
        ratio < 0.3,
        max(shares) / sum(shares) < 0.6,
        drift is None or drift < 0.2,
        len(targets) <= 5,
    )


class _LocalHours:
    """Local hour in New York, cached per UTC hour (the zone's offsets are whole hours)."""

    __slots__ = ("_by_hour",)

    def __init__(self) -> None:
        self._by_hour: dict[int, int] = {}

    def outside(self, timestamp: float, start: int = 8, end: int = 18) -> bool:
        """True outside ``start``-``end`` local time (8-18 unless told)."""
        key = int(timestamp // 3600)
        hour = self._by_hour.get(key)
        if hour is None:
            hour = self._by_hour[key] = datetime.fromtimestamp(key * 3600, _NEW_YORK).hour
        return not start <= hour < end


class IncrementalEight:
    """The eight rules of ``workloads.eight_rules(window)``, one observation at a time."""

    __slots__ = (
        "_actions",
        "_entries",
        "_hours",
        "_outside",
        "_recent",
        "_sem_count",
        "_sem_sum",
        "_targets",
        "_window",
        "all_targets",
        "drift",
    )

    def __init__(self, window: int) -> None:
        self._window = window
        self._entries: deque[tuple[Observation, bool]] = deque()
        self._actions: Counter[str] = Counter()
        self._targets: Counter[str] = Counter()
        self._sem_sum = 0.0
        self._sem_count = 0
        self._outside = 0
        self._recent: deque[float] = deque()
        self._hours = _LocalHours()
        self.all_targets: set[str] = set()
        self.drift: Mapping[str, float] = {}

    def observe(self, observation: Observation) -> tuple[bool, ...]:
        """Take one observation; the eight verdicts after it."""
        outside = self._hours.outside(observation.timestamp)
        self._entries.append((observation, outside))
        self._actions[observation.action_type] += 1
        self._targets[observation.target] += 1
        accuracy = observation.semantic.get("accuracy")
        if accuracy is not None:
            self._sem_sum += accuracy
            self._sem_count += 1
        self._outside += outside
        if len(self._entries) > self._window:
            old, was_outside = self._entries.popleft()
            self._actions[old.action_type] -= 1
            if not self._actions[old.action_type]:
                del self._actions[old.action_type]
            self._targets[old.target] -= 1
            if not self._targets[old.target]:
                del self._targets[old.target]
            old_accuracy = old.semantic.get("accuracy")
            if old_accuracy is not None:
                self._sem_sum -= old_accuracy
                self._sem_count -= 1
            self._outside -= was_outside
        recent = self._recent
        recent.append(observation.timestamp)
        while recent[0] <= observation.timestamp - 60.0:
            recent.popleft()
        self.all_targets.add(observation.target)
        n = len(self._entries)
        read, write = self._actions.get("read", 0), self._actions.get("write", 0)
        ratio = write / read if read else (0.0 if write == 0 else math.inf)
        drift = self.drift.get("action")
        return (
            ratio < 0.5,
            max(self._targets.values()) / n < 0.6,
            drift is None or drift < 0.3,
            self._sem_count == 0 or self._sem_sum / self._sem_count >= 0.4,
            self._outside / n < 0.9,
            len(recent) / 60.0 < 5.0,
            len(self._actions) <= 10,
            len(self.all_targets) <= 300,
        )


def one_pass_eight(
    actions: Sequence[Mapping[str, Any]], drift: Mapping[str, float]
) -> tuple[bool, ...]:
    """The eight rules over every action (a window as long as the list), in one loop."""
    counts: Counter[str] = Counter()
    targets: Counter[str] = Counter()
    sem_sum, sem_count, outside = 0.0, 0, 0
    recent: deque[float] = deque()
    hours = _LocalHours()
    for action in actions:
        timestamp = action["timestamp"]
        counts[action["action_type"]] += 1
        targets[action["target"]] += 1
        semantic = action.get("semantic")
        if semantic and "accuracy" in semantic:
            sem_sum += semantic["accuracy"]
            sem_count += 1
        outside += hours.outside(timestamp)
        recent.append(timestamp)
        while recent[0] <= timestamp - 60.0:
            recent.popleft()
    n = len(actions)
    read, write = counts.get("read", 0), counts.get("write", 0)
    ratio = write / read if read else (0.0 if write == 0 else math.inf)
    action_drift = drift.get("action")
    return (
        ratio < 0.5,
        max(targets.values()) / n < 0.6,
        action_drift is None or action_drift < 0.3,
        sem_count == 0 or sem_sum / sem_count >= 0.4,
        outside / n < 0.9,
        len(recent) / 60.0 < 5.0,
        len(counts) <= 10,
        len(targets) <= 300,
    )


def parse_only(lines: Iterable[bytes]) -> int:
    """``json.loads`` of every line, nothing else: the floor of reading a trace."""
    count = 0
    for line in lines:
        json.loads(line)
        count += 1
    return count


# What every decision of the benchmark's trace carries apart from the verdicts, for
# ``replay_records``: the bundle digest, the contract, and a drift score per distribution.
_BUNDLE = "ab" * 32
_CONTRACT = {"id": "166d9cc5-b919-500c-b2c2-094057f4de69", "version": 3}
_DRIFT = {
    "action": 0.0488,
    "target": 0.0607,
    "outcome": 0.0518,
    "temporal": 1.0,
    "semantic": 0.1076,
    "overall": 0.201,
}


class _ChainedLog:
    """Decision lines by hand: one ``orjson.dumps`` each, SHA-256 chained, written 64 KiB at a time."""

    __slots__ = ("_out", "_pending", "_previous", "_size", "count")

    def __init__(self, bundle: str, out: Any) -> None:
        self._out = out
        self._previous = bytes.fromhex(bundle)
        self._pending: list[bytes] = []
        self._size = 0
        self.count = 0

    def append(self, record: dict[str, Any]) -> None:
        """Chain ``record`` (fields in order, no receipt) and queue its line."""
        body = orjson.dumps(record)
        receipt = hashlib.sha256(self._previous + body).hexdigest()
        self._previous = bytes.fromhex(receipt)
        encoded = body[:-1] + b',"receipt":"' + receipt.encode("ascii") + b'"}\n'
        self._pending.append(encoded)
        self._size += len(encoded)
        if self._size >= 65_536:
            self._out.write(b"".join(self._pending))
            self._pending.clear()
            self._size = 0
        self.count += 1

    def close(self) -> int:
        """Write what is queued; the number of lines written."""
        self._out.write(b"".join(self._pending))
        self._pending.clear()
        return self.count


def replay_records(lines: Iterable[bytes], out: Any) -> int:
    """Read a trace and write a receipt-chained decision line per observation, evaluating nothing.

    The floor of ``nomo run``'s work outside evaluation, written by hand:
    ``json.loads`` of each line, a record of the decision's shape (fields,
    nesting, numbers) built from it, one ``orjson.dumps``, SHA-256 chained to
    the previous receipt, and the line appended to a buffer written to
    ``out`` 64 KiB at a time. No validation, no routing, no drift or
    invariant: what any decision log of this form costs in Python.
    """
    log = _ChainedLog(_BUNDLE, out)
    for number, line in enumerate(lines, start=1):
        item = json.loads(line)
        record = {
            "line": number,
            "agent_id": "support-bot",
            "session_id": item.get("session_id"),
            "timestamp": item["timestamp"],
            "seq": number,
            "bundle": _BUNDLE,
            "contract": dict(_CONTRACT),
            "violated": [],
            "changed": [],
            "counts": {"satisfied": 4, "approaching": 0, "violated": 0, "not_measured": 4},
            "drift": dict(_DRIFT),
            "drift_source": "computed",
            "drift_exceedances": [],
            "scope": None,
            "error": None,
        }
        log.append(record)
    return log.close()


@dataclass(frozen=True)
class SupportConstants:
    """What a hand-written replay of the customer-support contract knows in advance.

    Read once from the compiled policy (outside any timing), as a programmer
    would paste them into the code: the expected shares drift compares with,
    the thresholds, the scope, and the identities the log names.
    """

    bundle: str
    contract: Mapping[str, Any]
    agent_id: str | None
    expected: Mapping[str, Mapping[str, float]]  # action, target, outcome, temporal (hour names)
    weights: Mapping[str, float]
    window: int  # drift window, actions
    min_observations: int  # no drift score before this many actions
    term: str  # the anchor term whose fidelity counts
    actions: frozenset[str]  # scope
    targets: frozenset[str]


class _Counts:
    """Counts of one distribution in the drift window, and their divergence from expected shares.

    Each name's two Jensen-Shannon terms are kept; a move recomputes the terms
    of the names it touched (all of them when the total changed), and the score
    is their exact sum (``math.fsum``), as ``js_of_shares`` gives.
    """

    __slots__ = ("_moved", "_score", "_terms", "_total", "counts", "expected")

    def __init__(self, expected: Mapping[str, float]) -> None:
        self.expected = expected
        self.counts: Counter[str] = Counter()
        self._terms: dict[str, tuple[float, float]] = {}
        self._total = 0
        self._moved: list[str] = []
        self._score = 0.0

    def move(self, added: str | None, removed: str | None) -> None:
        if added == removed:
            return
        if added is not None:
            self.counts[added] += 1
            self._moved.append(added)
        if removed is not None:
            left = self.counts[removed] - 1
            if left:
                self.counts[removed] = left
            else:
                del self.counts[removed]
            self._moved.append(removed)

    def divergence(self, total: int) -> float:
        """The divergence of the counts (``total`` of them) from the expected shares."""
        terms, counts, expected = self._terms, self.counts, self.expected
        if total == self._total and not self._moved:
            return self._score
        if total != self._total:
            names: Iterable[str] = counts.keys() | expected.keys()
            terms.clear()
            self._total = total
        else:
            names = self._moved
        for name in names:
            count = counts.get(name, 0)
            q = expected.get(name, 0.0)
            if not count and not q:
                terms.pop(name, None)
                continue
            p = count / float(total) if count else 0.0
            m = (p + q) / 2
            terms[name] = (p * math.log2(p / m) if p else 0.0, q * math.log2(q / m) if q else 0.0)
        self._moved.clear()
        self._score = min(1.0, max(0.0, math.fsum(chain.from_iterable(terms.values())) / 2))
        return self._score


def _status(margin: float, ok: bool) -> str:
    return "violated" if not ok else ("approaching" if margin < 0.2 else "satisfied")


def run_by_hand(lines: Iterable[bytes], out: Any, known: SupportConstants) -> int:
    """``nomo run --format jsonl`` of the customer-support contract, written by hand for it.

    The floor of the whole replay: ``replay_records``' reading and writing,
    plus the contract's work done as a programmer would for this one policy
    (no validation, no routing, each change's state as its detail): drift of
    the last ``known.window`` actions (action, target, outcome and hour-of-day
    counts, each distribution's Jensen-Shannon divergence recomputed only when
    its counts moved, the mean anchored fidelity, the weighted overall), the
    eight rules with their margins (a deque per window; New York's local hour
    cached per UTC hour), the scope, each rule's change of state, the counts,
    and the decision line. Its records equal ``nomo run``'s field for field
    but for the detail sentences (the benchmark checks this) and so the
    receipts.
    """
    hours = _LocalHours()
    actions, targets, outcomes, temporal = (
        _Counts(known.expected[name]) for name in ("action", "target", "outcome", "temporal")
    )
    with_outcome = 0
    # Mean fidelities are exact (the runtime's are): each score as an integer, scaled by
    # 2**1074 (every float is a whole multiple of 2**-1074), summed, divided once.
    exact = _Scaled().of
    sum_window = count_window = sum20 = count20 = 0
    drift_entries: deque[tuple[str, str, str | None, str, float | None]] = deque()
    last20: deque[float | None] = deque()
    last100: deque[str] = deque()
    replies = reads = 0
    recent300: deque[float] = deque()
    recent3600: deque[float] = deque()
    outside = 0
    weights = [(name, weight) for name, weight in known.weights.items() if weight > 0]
    weighings: dict[tuple[str, ...], tuple[list[tuple[str, float]], float]] = {}
    violated: list[str] = []
    counts: dict[str, int] = {}
    thresholds = (("action", 0.2), ("target", 0.25), ("overall", 0.3))
    before: list[str] | None = None
    log = _ChainedLog(known.bundle, out)
    for number, line in enumerate(lines, start=1):
        item = json.loads(line)
        timestamp = item["timestamp"]
        action, target = item["action_type"], item["target"]
        outcome = item.get("outcome")
        semantic = item.get("semantic")
        fidelity = None if semantic is None else semantic.get(known.term)
        # Drift over the last known.window actions (hours of the day in UTC).
        hour = _HOURS[math.floor(timestamp) // 3600 % 24]
        entry = (action, target, outcome, hour, fidelity)
        drift_entries.append(entry)
        old = drift_entries.popleft() if len(drift_entries) > known.window else None
        actions.move(action, None if old is None else old[0])
        targets.move(target, None if old is None else old[1])
        temporal.move(hour, None if old is None else old[3])
        if fidelity is not None:
            sum_window += exact(fidelity)
            count_window += 1
        if old is not None and old[4] is not None:
            sum_window -= exact(old[4])
            count_window -= 1
        gone_outcome = None if old is None else old[2]
        outcomes.move(outcome, gone_outcome)
        with_outcome += (outcome is not None) - (gone_outcome is not None)
        drift: dict[str, float] = {}
        if number >= known.min_observations:
            held = len(drift_entries)
            drift["action"] = actions.divergence(held)
            drift["target"] = targets.divergence(held)
            if with_outcome:
                drift["outcome"] = outcomes.divergence(with_outcome)
            drift["temporal"] = temporal.divergence(held)
            if count_window:
                mean = sum_window / (count_window << _SCALE_BITS)
                drift["semantic"] = min(1.0, max(0.0, 1.0 - mean))
            names = tuple(drift)
            weighing = weighings.get(names)
            if weighing is None:  # the weights of these names, once
                used = [(name, weight) for name, weight in weights if name in drift]
                weighing = weighings[names] = (used, math.fsum(weight for _n, weight in used))
            used, weight_sum = weighing
            products = [drift[name] * weight for name, weight in used]
            drift["overall"] = min(1.0, max(0.0, math.fsum(products) / weight_sum))
        # The eight rules, in declared order.
        last20.append(fidelity)
        if fidelity is not None:
            sum20 += exact(fidelity)
            count20 += 1
        if len(last20) > 20:
            gone = last20.popleft()
            if gone is not None:
                sum20 -= exact(gone)
                count20 -= 1
        last100.append(action)
        replies += action == "reply"
        reads += action == "read"
        if len(last100) > 100:
            gone_action = last100.popleft()
            replies -= gone_action == "reply"
            reads -= gone_action == "read"
        recent300.append(timestamp)
        while recent300[0] <= timestamp - 300.0:
            recent300.popleft()
        recent3600.append(timestamp)
        while recent3600[0] <= timestamp - 3600.0:
            recent3600.popleft()
        outside += hours.outside(timestamp, 8, 20)
        hourly = len(recent3600) / 3600.0
        burst = len(recent300) / 300.0
        share = outside / number
        ratio = replies / reads if reads else (0.0 if replies == 0 else math.inf)
        states = [
            _status((0.04 - hourly) / 0.04, hourly < 0.04),
            _status((0.1 - burst) / 0.1, burst < 0.1),
            _below(drift.get("action"), 0.2),
            _below(drift.get("target"), 0.25),
            _below(drift.get("overall"), 0.3),
            _status(1.0 - share / 0.001, share <= 0.001),
            _status(1.0 - ratio, ratio < 1.0),
        ]
        if count20:
            mean = sum20 / (count20 << _SCALE_BITS)
            states.append(_status((mean - 0.85) / 0.85, mean > 0.85))
        else:
            states.append("not_measured")
        changed = []
        if states != before:  # what follows from the states, only when they moved
            changed = [
                {
                    "invariant": ident,
                    "from": None if before is None else before[index],
                    "to": state,
                    "detail": state,
                }
                for index, (ident, state) in enumerate(zip(_SUPPORT_IDS, states, strict=True))
                if before is None or before[index] != state
            ]
            violated = sorted(
                ident
                for ident, state in zip(_SUPPORT_IDS, states, strict=True)
                if state == "violated"
            )
            counts = {state: states.count(state) for state in _STATES}
            before = states
        outside_scope: dict[str, str] = {}
        if action not in known.actions:
            outside_scope["action"] = action
        if target not in known.targets:
            outside_scope["target"] = target
        record = {
            "line": number,
            "agent_id": known.agent_id,
            "session_id": item.get("session_id"),
            "timestamp": timestamp,
            "seq": number,
            "bundle": known.bundle,
            "contract": dict(known.contract),
            "violated": list(violated),
            "changed": changed,
            "counts": dict(counts),
            "drift": drift,
            "drift_source": "computed",
            "drift_exceedances": [
                {"distribution": name, "score": drift[name], "threshold": threshold}
                for name, threshold in thresholds
                if name in drift and drift[name] > threshold
            ],
            "scope": outside_scope or None,
            "error": None,
        }
        log.append(record)
    return log.close()


_HOURS = tuple(str(hour) for hour in range(24))
_SUPPORT_IDS = (  # declared order
    "hourly_rate",
    "burst_rate",
    "action_drift_low",
    "target_drift_low",
    "overall_drift_low",
    "office_hours",
    "replies_follow_reads",
    "refunds_on_topic",
)
_STATES = ("satisfied", "approaching", "violated", "not_measured")
_SCALE_BITS = 1074


class _Scaled:
    """A score (0..1) as the integer ``score * 2**1074``, exact, cached per distinct score."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[float, int] = {}

    def of(self, score: float) -> int:
        value = self._known.get(score)
        if value is None:
            numerator, denominator = score.as_integer_ratio()
            value = self._known[score] = numerator << (_SCALE_BITS - denominator.bit_length() + 1)
        return value


def _below(value: float | None, threshold: float) -> str:
    """The state of ``value < threshold`` (a drift rule), not measured without a score."""
    if value is None:
        return "not_measured"
    return _status((threshold - value) / threshold, value < threshold)
