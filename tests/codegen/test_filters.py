"""Escaping: policy text reaches generated code only as data, never as code.

``pyrepr`` writes only checked literals and ``pyident`` only safe names; specs
whose ids, descriptions and metric names carry quotes, backslashes, newlines,
triple quotes, unicode, keywords and Python payloads generate modules that
compile, give the interpreter's results, and never run the payload.
"""

from __future__ import annotations

import ast
import keyword
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.compiler.codegen import (
    UnsafeValueError,
    generate_module,
    load_generated,
    pyident,
    pyrepr,
)
from nomotic_dsl.runtime.interpreter import CompiledInvariants

NASTY = (
    "'",
    '"',
    '"""',
    "'''",
    "\\",
    "\\'",
    "a\nb",
    "a\r\nb",
    "\u2028",
    "\x00",
    "def",
    "None",
    "class",
    "__import__",
    "é→✓ 名前",
    "\U0001f600",
    "{{ x }}",
    "{% raw %}",
    "# comment",
)


def payload(marker: Path) -> str:
    return f"'); __import__('pathlib').Path({str(marker)!r}).write_text('ran') #"


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**80,
        0.0,
        -0.0,
        1e-300,
        5e-324,
        1.5e300,
        "",
        *NASTY,
        (),
        (1,),
        (1, "a", None),
        {"k": (0.5, None)},
        {"a\n": {"b'": [][:0] or ()}},
    ],
)
def test_pyrepr_round_trips_safe_values(value: Any) -> None:
    text = pyrepr(value)
    assert ast.literal_eval(text) == value
    assert "\n" not in text and "\r" not in text


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, [1], {1, 2}, b"x", object(), Path("x"), (1, [2])]
)
def test_pyrepr_refuses_unsafe_values(value: Any) -> None:
    with pytest.raises(UnsafeValueError):
        pyrepr(value)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.tuples(inner, inner) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
)
def test_pyrepr_is_a_literal_of_the_same_value(value: Any) -> None:
    assert ast.literal_eval(pyrepr(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(0, 10**6))
def test_pyident_is_always_a_safe_private_identifier(name: str, index: int) -> None:
    ident = pyident(name, index)
    assert ident.isidentifier() and ident.isascii() and not keyword.iskeyword(ident)
    assert ident.startswith(f"_inv_{index}")
    assert pyident(name, index + 1) != ident


@pytest.mark.parametrize("name", [*NASTY, "import os", "__import__('os')", "x" * 500, "for"])
def test_pyident_mangles_any_name(name: str) -> None:
    ident = pyident(name, 3)
    assert ident.isidentifier() and len(ident) < 60


def test_pyident_refuses_bad_indices_and_prefixes() -> None:
    with pytest.raises(UnsafeValueError):
        pyident("a", -1)
    with pytest.raises(UnsafeValueError):
        pyident("a", 1, prefix="x; import os")


def nasty_specs(text: str) -> list[dict[str, Any]]:
    """Every place policy text can go: ids, descriptions, ratio names and semantic terms."""
    return [
        {
            "invariant_id": f"{text}-ratio",
            "type": "ratio",
            "description": text,
            "metric": f"{text}_to_read",
            "operator": "lt",
            "threshold": 0.5,
            "window": 10,
        },
        {
            "invariant_id": f"{text}-fidelity",
            "type": "semantic",
            "description": text,
            "metric": text,
            "operator": "gte",
            "threshold": 0.5,
        },
        {
            "invariant_id": f"id {text}",
            "type": "temporal",
            "description": text,
            "metric": "8-18@America/New_York",
            "operator": "lt",
            "threshold": 0.5,
        },
    ]


def nasty_state(text: str) -> dict[str, Any]:
    return {
        "actions": [
            {
                "timestamp": 1000.0 + i,
                "action_type": text if i % 3 else "read",
                "target": text,
                "semantic": {text: i / 10},
            }
            for i in range(8)
        ],
        "semantic_drift": {"other": 0.5},
    }


@pytest.mark.parametrize(
    "text", [*NASTY[:5], "a\nb", "\u2028", "\x00", "é→✓ 名前", "None", "{{ x }}"]
)
def test_nasty_names_stay_data(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for value in (text, payload(marker), text + payload(marker) + '"""'):
        specs = nasty_specs(value)
        generated = generate_module(specs, module_name=value, source_digest="abc")
        module = load_generated(generated.source, "<bundle>/policy_evaluator.py")
        reference = CompiledInvariants.compile(specs)
        assert list(module.SPECS) == [spec.to_dict() for spec in reference.specs]
        assert value == module.MODULE_NAME
        state = nasty_state(value)
        got, want = module.evaluate(state), reference.evaluate(state)
        assert all(a.same_as(b) for a, b in zip(got, want, strict=True))
        assert not marker.exists()


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda s: s.strip() and "_to_" not in s))
def test_any_text_generates_a_module_that_keeps_it_as_data(text: str) -> None:
    specs = nasty_specs(text)
    generated = generate_module(specs, module_name=text, source_digest="abc")
    module = load_generated(generated.source, "<bundle>/policy_evaluator.py")
    assert tuple(spec["invariant_id"] for spec in specs) == module.INVARIANT_IDS
    assert text == module.MODULE_NAME
    tree = ast.parse(generated.source)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & {"eval", "exec", "__import__", "compile", "open", "getattr"}


def test_header_text_must_be_plain() -> None:
    with pytest.raises(ValueError, match="source digest"):
        generate_module([], module_name="m", source_digest="abc\nimport os")
    with pytest.raises(ValueError, match="module_name"):
        generate_module([], module_name="", source_digest="abc")


def test_invalid_specs_are_refused_with_every_problem() -> None:
    specs = [
        {"invariant_id": "a", "type": "ratio", "metric": "bad", "operator": "lt", "threshold": 1.0},
        {
            "invariant_id": "b",
            "type": "rate",
            "metric": "action_frequency",
            "operator": "lt",
            "threshold": math.nan,
        },
    ]
    with pytest.raises(ValueError, match=r"(?s)'a'.*'b'"):
        generate_module(specs, module_name="m", source_digest="abc")
