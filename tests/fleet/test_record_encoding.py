"""The fast encoders write exactly what ``json.dumps`` writes, and fail exactly as it does.

``canonical_text``/``compact_text`` call json's C encoder built once, and
``decision_entry`` makes a decision's line from its compact body plus the
receipt; each is compared here with the formulas they replace, spelled out
with ``json.dumps``, on generated values: NaN and infinities, -0.0, huge
integers, subclasses of str, int and float, non-string keys, lone surrogates,
escapes, nesting, and values JSON cannot hold.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.ir.canonical import (
    canonical_json,
    canonical_text,
    compact_finite,
    compact_text,
)
from nomotic_dsl.runtime.fleet.decision import (
    DECISION_FIELDS,
    decision_entry,
    encode_record,
    legacy_receipt_of,
    receipt_of,
)


class Text(str):
    """A str subclass: json writes its characters."""


class Whole(int):
    """An int subclass: json writes int.__repr__."""


class Real(float):
    """A float subclass: json writes float.__repr__."""


TRICKY = ["", '"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\ud800", "é", "😀", "a\nb\tc", "/"]
texts = st.one_of(st.sampled_from(TRICKY), st.text(st.characters(codec=None), max_size=8))
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-7, 0.1, 1.0, 1e16, 1.7976931348623157e308]),
)
# Floats orjson and json write differently (magnitude below 1e-4) or alike, at the edges.
FINITE_EDGES = [5e-324, 1e-7, 1e-5, -1e-5, 9.99e-5, 1e-4, -0.0, 1e15, 1e16, 1.5e16, 2.0**64]
finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(FINITE_EDGES)
)


def _json_values(numbers: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**64, max_value=2**200),
        numbers,
        texts,
        texts.map(Text),
        st.integers(-5, 5).map(Whole),
        st.floats(-1, 1).map(Real),
    )
    keys = st.one_of(texts, st.integers(-3, 3), st.sampled_from([None, True, 1.5]))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(texts, inner, max_size=4),
            st.dictionaries(keys, inner, max_size=3),
            st.just({1, 2}),
        ),
        max_leaves=12,
    )


values = _json_values(floats)
finite_values = _json_values(finite_floats)


def _outcome(make: Any, value: Any) -> tuple[str, Any]:
    try:
        return ("ok", make(value))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def _reference_canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _reference_compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@settings(max_examples=600, deadline=None)
@given(values)
def test_canonical_and_compact_text_equal_json_dumps(value: Any) -> None:
    assert _outcome(canonical_text, value) == _outcome(_reference_canonical, value)
    assert _outcome(compact_text, value) == _outcome(_reference_compact, value)
    assert _outcome(canonical_json, value) == _outcome(
        lambda v: _reference_canonical(v).encode("utf-8"), value
    )


@settings(max_examples=1500, deadline=None)
@given(finite_values)
def test_compact_finite_writes_the_bytes_of_compact_text(value: Any) -> None:
    # Through orjson where it writes json's bytes, else through compact_text: same bytes, same
    # errors, for every value without NaN or infinities.
    assert _outcome(compact_finite, value) == _outcome(
        lambda v: _reference_compact(v).encode("utf-8"), value
    )


@settings(max_examples=3000, deadline=None)
@given(st.lists(finite_floats, max_size=8))
def test_compact_finite_writes_every_finite_float_as_json_does(numbers: list[float]) -> None:
    assert compact_finite(numbers) == json.dumps(numbers, separators=(",", ":")).encode()


def test_a_circular_value_fails_as_json_dumps_fails() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    for make, reference in (
        (canonical_text, _reference_canonical),
        (compact_text, _reference_compact),
    ):
        assert _outcome(make, loop) == _outcome(reference, loop)
        assert _outcome(make, [0.5, {"a": "b"}]) == ("ok", reference([0.5, {"a": "b"}]))


# Decision fields: realistic shapes most of the time, anything now and then.
def _or_anything(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, strategy, strategy, values)


scores = st.dictionaries(
    st.sampled_from(["action", "target", "outcome", "temporal", "semantic", "overall"]), floats
)
changes = st.lists(
    st.fixed_dictionaries(
        {
            "invariant": texts,
            "from": st.sampled_from([None, "satisfied", "violated"]),
            "to": st.sampled_from(["satisfied", "violated", "not_measured"]),
            "detail": texts,
        }
    ),
    max_size=3,
)
fields = st.fixed_dictionaries(
    {
        "line": _or_anything(st.integers(1, 10**6)),
        "agent_id": _or_anything(st.one_of(st.none(), texts)),
        "session_id": _or_anything(st.one_of(st.none(), texts)),
        "timestamp": _or_anything(st.one_of(st.none(), floats)),
        "seq": _or_anything(st.integers(1, 10**6)),
        "bundle": st.sampled_from(["0" * 64, "ab" * 32]),
        "contract": st.one_of(
            st.none(), st.fixed_dictionaries({"id": texts, "version": st.integers(1, 9)}), values
        ).filter(lambda c: c is None or isinstance(c, dict)),
        "violated": st.lists(texts, max_size=3),
        "changed": changes,
        "counts": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    name: st.integers(0, 9)
                    for name in ("satisfied", "approaching", "violated", "not_measured")
                }
            ),
        ),
        "drift": scores,
        "drift_source": st.sampled_from([None, "computed", "given"]),
        "drift_exceedances": st.lists(
            st.fixed_dictionaries({"distribution": texts, "score": floats, "threshold": floats}),
            max_size=2,
        ),
        "scope": st.one_of(
            st.none(), st.dictionaries(st.sampled_from(["action", "target"]), texts)
        ),
        "error": st.one_of(st.none(), texts),
    }
)
previous = st.one_of(st.sampled_from(["0" * 64, "f" * 64]), st.just("not hex"))


def _reference_entry(fields: dict[str, Any], previous: str) -> tuple[dict[str, Any], bytes]:
    """What the decision record was before its line was made with it: json.dumps' bytes."""
    record = {name: fields[name] for name in DECISION_FIELDS[:-1]}
    record |= {
        "contract": None if fields["contract"] is None else dict(fields["contract"]),
        "violated": list(fields["violated"]),
        "changed": [dict(entry) for entry in fields["changed"]],
        "counts": None if fields["counts"] is None else dict(fields["counts"]),
        "drift": dict(fields["drift"]),
        "drift_exceedances": [dict(entry) for entry in fields["drift_exceedances"]],
        "scope": None if fields["scope"] is None else dict(fields["scope"]),
    }
    # Receipt format 2: SHA-256 of the previous receipt and the line without its receipt.
    record["receipt"] = hashlib.sha256(
        bytes.fromhex(previous) + _reference_compact(record).encode("utf-8")
    ).hexdigest()
    return record, _reference_compact(record).encode("utf-8")


@settings(max_examples=600, deadline=None)
@given(fields, previous)
def test_decision_entry_writes_the_bytes_json_dumps_wrote(
    fields: dict[str, Any], previous: str
) -> None:
    made = _outcome(lambda f: decision_entry(**f, previous=previous), fields)
    expected = _outcome(lambda f: _reference_entry(f, previous), fields)
    assert made == expected
    if made[0] != "ok":
        return
    record, line = made[1]
    assert tuple(record) == DECISION_FIELDS
    assert encode_record(record) == line
    assert receipt_of(previous, record) == record["receipt"]


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (of exactly type float) replaced by 0.5."""
    if type(value) is float and not math.isfinite(value):
        return 0.5
    if isinstance(value, dict):
        return type(value)((key, _finite(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return type(value)(_finite(item) for item in value)
    return value


@settings(max_examples=600, deadline=None)
@given(fields.map(_finite), previous)
def test_a_finite_decision_is_the_same_through_either_encoder(
    fields: dict[str, Any], previous: str
) -> None:
    # The runtime's decisions (finite=True, orjson) are the bytes of the json path.
    fast = _outcome(lambda f: decision_entry(**f, previous=previous, finite=True), fields)
    assert fast == _outcome(lambda f: decision_entry(**f, previous=previous), fields)
    assert fast == _outcome(lambda f: _reference_entry(f, previous), fields)


def test_nan_in_a_decision_fails_as_before() -> None:
    base = {
        "line": 1,
        "agent_id": "a",
        "session_id": None,
        "timestamp": 1.0,
        "seq": 1,
        "bundle": "0" * 64,
        "contract": None,
        "drift": {"action": math.nan},
    }
    made = _outcome(lambda f: decision_entry(**f, previous="0" * 64), base)
    assert made[0] == "ValueError" and "not JSON compliant" in made[1]


@settings(max_examples=400, deadline=None)
@given(st.lists(values, min_size=16, max_size=16), previous)
def test_any_decision_shaped_record_encodes_and_chains_as_json_dumps(
    items: list[Any], previous: str
) -> None:
    record = dict(zip(DECISION_FIELDS, items, strict=True))
    assert _outcome(encode_record, record) == _outcome(
        lambda r: _reference_compact(r).encode("utf-8"), record
    )
    body = {key: value for key, value in record.items() if key != "receipt"}
    assert _outcome(lambda r: receipt_of(previous, r), record) == _outcome(
        lambda b: hashlib.sha256(
            bytes.fromhex(previous) + _reference_compact(b).encode("utf-8")
        ).hexdigest(),
        body,
    )
    assert _outcome(lambda r: legacy_receipt_of(previous, r), record) == _outcome(
        lambda b: hashlib.sha256(
            bytes.fromhex(previous) + _reference_canonical(b).encode("utf-8")
        ).hexdigest(),
        body,
    )


def test_equal_values_of_other_types_are_never_written_alike() -> None:
    # 1, 1.0, True, -0.0 and 0.0 compare equal in places; each keeps its own text.
    for value in (1, 1.0, True, -0.0, 0.0, Whole(1), Real(1.0), "1", None, 10**30):
        fields = {
            "line": 1,
            "agent_id": "a",
            "session_id": None,
            "timestamp": value if isinstance(value, float) else 1.0,
            "seq": 1,
            "bundle": "0" * 64,
            "contract": {"id": "c", "version": value},
            "counts": {"satisfied": value, "violated": 0},
            "drift": {"action": value, "target": 0.5},
            "changed": [{"invariant": "i", "from": None, "to": value, "detail": "d"}],
        }
        made = _outcome(lambda f: decision_entry(**f, previous="0" * 64), fields)
        full = {
            "violated": [],
            "drift_source": None,
            "drift_exceedances": [],
            "scope": None,
            "error": None,
            **fields,
        }
        assert made == _outcome(lambda f: _reference_entry(f, "0" * 64), full)
