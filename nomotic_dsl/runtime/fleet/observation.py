"""Trace lines: one JSON object per line, an observation and the agent it belongs to.

Input: a line of a trace (text or bytes) or a decoded JSON value. Output: a
``TraceItem`` (agent id, observation, optional drift scores), or
``TraceLineError`` naming the problem and whatever of the line could be read
(agent, session, time) so its error decision can name them. Stage: runtime,
in front of ``FleetRuntime``.

A line holds the observation's fields (``timestamp``, ``action_type``,
``target``, optional ``outcome``, ``session_id``, ``semantic``) and, for the
fleet runtime, optional ``agent_id`` and ``drift``. ``drift`` (distribution ->
0..1, names among action, target, temporal, outcome, semantic, overall) are
scores the caller measured itself: they replace the runtime's own for that
observation (``overall`` is filled in from them when absent). Unknown fields,
duplicate keys, lines over ``MAX_LINE_BYTES`` and invalid values are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson

from nomotic_dsl.ir.canonical import has_lone_surrogate
from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.runtime.interpreter.state import BehavioralState, Observation, StateError

MAX_LINE_BYTES = 1024 * 1024
MAX_AGENT_ID_CHARS = 200
FLEET_KEYS = frozenset({"agent_id", "drift"})
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


class TraceLineError(ValueError):
    """A trace line that is not a valid observation; what could be read is kept for the decision."""

    def __init__(
        self,
        message: str,
        *,
        agent_id: str | None = None,
        session_id: str | None = None,
        timestamp: float | None = None,
    ) -> None:
        super().__init__(message)
        self.agent_id = agent_id
        self.session_id = session_id
        self.timestamp = timestamp


class TraceItem(NamedTuple):
    """One observation of the trace, for ``agent_id`` (None when the line names no agent).

    A named tuple (immutable; one is made per line, faster than a frozen dataclass).
    """

    agent_id: str | None
    observation: Observation
    drift: Mapping[str, float] | None = None


def parse_line(line: str | bytes) -> TraceItem:
    """Decode one trace line; TraceLineError when it is not a valid observation."""
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    size = len(raw)
    if size > MAX_LINE_BYTES:
        raise TraceLineError(f"line is {size} bytes, more than the {MAX_LINE_BYTES} allowed")
    data = _compact_value(raw)
    if data is not None:
        return _item(data)  # orjson refuses lone surrogates: nothing more to check
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        # json.loads refuses a byte-order mark with its own message; the decoder would not.
        data = json.loads(text) if text.startswith("\ufeff") else _DECODER.decode(text)
    except UnicodeDecodeError:
        raise TraceLineError("line is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise TraceLineError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise TraceLineError(f"not valid JSON: {exc}") from None
    return parse_item(data)


def parse_item(data: Any) -> TraceItem:
    """A decoded JSON value as a trace item; TraceLineError naming the bad field.

    A string holding a lone surrogate (JSON can spell ``"\\ud800"``; no UTF-8
    text can hold it) is refused before anything else is read: such a name
    could be neither logged nor hashed. Its error names only the time.
    """
    if has_lone_surrogate(data):
        raise TraceLineError(
            "observation: a string holds a lone surrogate (a \\ud800-\\udfff escape "
            "without its pair), which is not Unicode text",
            timestamp=_time_of(data.get("timestamp")) if isinstance(data, Mapping) else None,
        )
    return _item(data)


def _item(data: Any) -> TraceItem:
    """``parse_item`` of a value known to hold no lone surrogate."""
    if not isinstance(data, Mapping):
        raise TraceLineError(f"observation: expected an object, got {_kind(data)}")
    agent_id = data.get("agent_id")
    if agent_id is not None:
        problem = agent_id_problem(agent_id)
        if problem:
            known = _readable(data)
            raise TraceLineError(f"observation.agent_id: {problem}", **{**known, "agent_id": None})
    if data.__class__ is dict:  # the same dict as the comprehension below, made in C
        fields = data.copy()
        fields.pop("agent_id", None)
        fields.pop("drift", None)
    else:
        fields = {key: value for key, value in data.items() if key not in FLEET_KEYS}
    try:
        observation = Observation.from_mapping(fields)
        drift = None if data.get("drift") is None else checked_drift(data["drift"])
    except StateError as exc:
        message = str(exc)
        if "unknown field" in message:
            message = message.replace("expected some of ", "expected some of agent_id, drift, ")
        raise TraceLineError(
            message if message.startswith("observation") else f"observation.{message}",
            **_readable(data),
        ) from None
    return TraceItem(agent_id, observation, drift)


def checked_drift(drift: Any) -> Mapping[str, float]:
    """Drift scores a caller gives: known distribution names to numbers in 0..1."""
    if not isinstance(drift, Mapping):
        raise StateError("drift: expected an object of distribution names to scores")
    # BehavioralState checks names (did-you-mean included) and values as every entry point does.
    checked = BehavioralState(drift=drift).drift or MappingProxyType({})
    return MappingProxyType({name: checked[name] for name in sorted(checked)})


def agent_id_problem(agent_id: Any) -> str | None:
    """Why ``agent_id`` cannot name an agent, or None when it can."""
    if not isinstance(agent_id, str) or not agent_id:
        return f"expected a non-empty string, got {agent_id!r}"
    if len(agent_id) > MAX_AGENT_ID_CHARS:
        return f"longer than {MAX_AGENT_ID_CHARS} characters"
    if _CONTROL_CHARACTER.search(agent_id):
        return "contains a control character"
    return None


def _readable(data: Mapping[str, Any]) -> dict[str, Any]:
    """The agent, session and time of a line, where they are valid, for its error decision."""
    agent_id = data.get("agent_id")
    session_id = data.get("session_id")
    return {
        "agent_id": agent_id if agent_id_problem(agent_id) is None else None,
        "session_id": session_id if isinstance(session_id, str) and session_id else None,
        "timestamp": _time_of(data.get("timestamp")),
    }


def _time_of(timestamp: Any) -> float | None:
    """A line's time as its error decision names it: the number, when it is one."""
    return float(timestamp) if is_number(timestamp) else None


def _compact_value(raw: bytes) -> Any:
    """The object a line holds when orjson writes it back byte for byte; None otherwise.

    The fast path of decoding, for lines written compactly (as orjson,
    JavaScript's ``JSON.stringify`` and ``json.dumps`` with compact separators
    and ``ensure_ascii=False`` write them). Bytes that orjson decodes and writes
    again unchanged hold no duplicate key (the value written back would have
    lost one member, and so bytes), no escape orjson would not write, no
    constant beyond JSON and no number orjson writes otherwise, so the value is
    the one json's decoder makes. Anything else (spacing, escapes, duplicates,
    invalid text, a byte-order mark) returns None, and the line is decoded by
    json, with its checks and messages, as it always was.
    """
    try:
        value = orjson.loads(raw)
        if value.__class__ is not dict or orjson.dumps(value) != raw.strip(b" \t\r\n"):
            return None
    except (orjson.JSONDecodeError, TypeError):  # TypeError: deeper than orjson writes
        return None
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError(f"the key {key!r} appears more than once")
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# json.loads(text, **hooks) makes a decoder per call; one, made once, decodes the same.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )
