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
from datetime import datetime
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

    def outside(self, timestamp: float) -> bool:
        """True outside 8-18 local time."""
        key = int(timestamp // 3600)
        hour = self._by_hour.get(key)
        if hour is None:
            hour = self._by_hour[key] = datetime.fromtimestamp(key * 3600, _NEW_YORK).hour
        return not 8 <= hour < 18


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


def replay_records(lines: Iterable[bytes], out: Any) -> int:
    """Read a trace and write a receipt-chained decision line per observation, evaluating nothing.

    The floor of ``nomo run``'s work outside evaluation, written by hand:
    ``json.loads`` of each line, a record of the decision's shape (fields,
    nesting, numbers) built from it, one ``orjson.dumps``, SHA-256 chained to
    the previous receipt, and the line appended to a buffer written to
    ``out`` 64 KiB at a time. No validation, no routing, no drift or
    invariant: what any decision log of this form costs in Python.
    """
    previous = bytes.fromhex(_BUNDLE)
    pending: list[bytes] = []
    size = count = 0
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
        body = orjson.dumps(record)
        receipt = hashlib.sha256(previous + body).hexdigest()
        previous = bytes.fromhex(receipt)
        encoded = body[:-1] + b',"receipt":"' + receipt.encode("ascii") + b'"}\n'
        pending.append(encoded)
        size += len(encoded)
        if size >= 65_536:
            out.write(b"".join(pending))
            pending.clear()
            size = 0
        count += 1
    out.write(b"".join(pending))
    return count
