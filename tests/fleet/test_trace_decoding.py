"""Trace lines decode the same through the orjson fast path as through json's decoder.

``parse_line`` takes orjson's value when orjson writes it back byte for
byte, and otherwise decodes the line with json (duplicate keys refused,
constants refused, its messages). Here every line is decoded both ways,
the second with the fast path turned off, over lines written compactly,
with spaces, with escapes, with duplicate keys, NaN, large and odd numbers,
byte-order marks, lone surrogates and invalid UTF-8: the outcome (the item,
or the error's message and what it names) must be the same.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.runtime.fleet import observation
from nomotic_dsl.runtime.fleet.observation import TraceLineError, parse_line

names = st.sampled_from(["read", "reply", "tickets", "é", "a\nb", '"', "\\", "/", "\u2028", "😀"])
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-7, 1.5, 1712577605.0, 1e300]),
    st.integers(-(2**70), 2**70),
)
observations = st.fixed_dictionaries(
    {"timestamp": numbers, "action_type": names, "target": names},
    optional={
        "agent_id": st.one_of(names, numbers),
        "session_id": names,
        "outcome": names,
        "semantic": st.dictionaries(names, numbers, max_size=2),
        "drift": st.dictionaries(st.sampled_from(["action", "target", "bogus"]), numbers),
        "extra": st.just(1),
    },
)


def _writings(value: dict[str, Any]) -> list[bytes]:
    """The same object as different writers put it on a line."""
    out = [
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
        json.dumps(value, separators=(",", ":")).encode(),
        json.dumps(value).encode(),
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\r\n",
    ]
    with contextlib.suppress(TypeError):  # an integer beyond 64 bits
        out.append(orjson.dumps(value) + b"\n")
    return out


MUTATIONS = [
    lambda raw: raw,
    lambda raw: raw.replace(b"{", b'{"timestamp":1.0,', 1),  # a duplicate key (or two)
    lambda raw: b"\xef\xbb\xbf" + raw,  # a byte-order mark
    lambda raw: raw.replace(b"1.5", b"NaN"),
    lambda raw: raw.replace(b"1.5", b"1.5E0"),
    lambda raw: raw.replace(b"1.5", b"1e400"),
    lambda raw: raw.replace(b"reply", b"rep\\u006cy"),
    lambda raw: raw.replace(b"reply", b"\\ud800"),
    lambda raw: raw.replace(b"reply", b"\xff"),
    lambda raw: raw.rstrip(b"}\n") + b"} x",
    lambda raw: b"[" + raw + b"]",
    # Nested deeper than orjson writes (it reads 1,024 levels, writes 254).
    lambda raw: raw.replace(b"{", b'{"deep":' + b"[" * 300 + b"]" * 300 + b",", 1),
]


def _outcome(line: bytes | str) -> tuple[Any, ...]:
    try:
        item = parse_line(line)
    except TraceLineError as exc:
        return ("error", str(exc), exc.agent_id, exc.session_id, exc.timestamp)
    return ("ok", item)


def _both(line: bytes | str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    fast = _outcome(line)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(observation, "_compact_value", lambda raw: None)
        slow = _outcome(line)
    return fast, slow


@settings(max_examples=500, deadline=None)
@given(observations, st.sampled_from(range(len(MUTATIONS))), st.integers(0, 4))
def test_both_decoders_give_the_same_item_or_the_same_error(
    value: dict[str, Any], mutation: int, writing: int
) -> None:
    writings = _writings(value)
    raw = MUTATIONS[mutation](writings[writing % len(writings)])
    fast, slow = _both(raw)
    assert fast == slow
    text = raw.decode("utf-8", "replace")
    fast, slow = _both(text)
    assert fast == slow


def test_the_fast_path_takes_compact_lines_and_leaves_the_rest() -> None:
    compact = b'{"timestamp":1.0,"action_type":"read","target":"tickets"}\n'
    assert observation._compact_value(compact) == json.loads(compact)
    for other in (
        b'{"timestamp": 1.0, "action_type": "read", "target": "tickets"}',  # spaces
        b'{"timestamp":1.0,"timestamp":2.0,"action_type":"read","target":"tickets"}',
        b'{"timestamp":1.0,"action_type":"r\\u0065ad","target":"tickets"}',  # an escape
        b'{"timestamp":1E0,"action_type":"read","target":"tickets"}',
        b'{"timestamp":NaN,"action_type":"read","target":"tickets"}',
        b"[1,2]",
        b'{"a":' + b"[" * 300 + b"]" * 300 + b"}",
    ):
        assert observation._compact_value(other) is None, other
    with pytest.raises(TraceLineError, match="appears more than once"):
        parse_line(b'{"timestamp":1.0,"timestamp":2.0,"action_type":"read","target":"t"}')
