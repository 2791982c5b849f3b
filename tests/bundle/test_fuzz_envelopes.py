"""Fuzzing bundle envelopes (issue 16): no input raises anything but BundleError.

Three generators, bounded in examples: arbitrary JSON (deep, huge integers,
lone surrogates, odd keys) as manifest.json or signatures.json; a valid
manifest with one field replaced by such a value; and byte mutations of a
real signed bundle (flips, truncations, insertions, spliced copies). Each
input goes through verification, inspection and loading; the only exception
allowed is BundleError, and never the catch-all's ("could not be parsed"),
which would mean a malformed input escaped every specific check.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from nomotic_dsl.compiler.seal import assemble_bundle
from nomotic_dsl.runtime.bundle import BundleError, load_bundle
from nomotic_dsl.runtime.bundle.archive import read_archive, write_archive
from nomotic_dsl.runtime.bundle.errors import UNEXPECTED_MARKER
from nomotic_dsl.runtime.bundle.inspect import describe_bundle
from nomotic_dsl.runtime.bundle.verify import verify_bundle_bytes

from .conftest import make_contents

KEY = SigningKey(bytes(range(32)))
TRUSTED = [KEY.verify_key]
VALID = assemble_bundle(make_contents(), KEY, revision=3)
VALID_MEMBERS = read_archive(VALID)
VALID_MANIFEST: dict[str, Any] = json.loads(VALID_MEMBERS["manifest.json"])
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every code point, lone surrogates included: JSON can carry them as \uD800 escapes.
_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.builds(
        lambda text, code: text + chr(code), st.text(max_size=5), st.integers(0xD800, 0xDFFF)
    ),
)
_INTS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(2**63 - 2, 2**63 + 2),
    st.builds(lambda n: int("9" * n), st.integers(19, 4000)),
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), _INTS, st.floats(allow_nan=False), _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=20,
)


def _refused_cleanly(data: bytes) -> None:
    try:
        verify_bundle_bytes(data, TRUSTED)
    except BundleError as exc:
        assert UNEXPECTED_MARKER not in str(exc), str(exc)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.nomob"
        path.write_bytes(data)
        for attempt in (describe_bundle, load_bundle):
            try:
                attempt(path, TRUSTED)
            except BundleError as exc:
                assert UNEXPECTED_MARKER not in str(exc), str(exc)


def _dumps(value: Any, canonical: bool) -> bytes:
    if canonical:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return json.dumps(value).encode()


@FUZZ
@given(
    value=JSON,
    member=st.sampled_from(["manifest.json", "signatures.json"]),
    canonical=st.booleans(),
)
def test_arbitrary_json_envelopes_are_refused_cleanly(
    value: Any, member: str, canonical: bool
) -> None:
    _refused_cleanly(write_archive({**VALID_MEMBERS, member: _dumps(value, canonical)}))


@FUZZ
@given(field=st.sampled_from(sorted(VALID_MANIFEST)), value=JSON, drop=st.booleans())
def test_a_manifest_with_one_bad_field_is_refused_cleanly(
    field: str, value: Any, drop: bool
) -> None:
    manifest = dict(VALID_MANIFEST)
    if drop:
        del manifest[field]
    else:
        manifest[field] = value
    _refused_cleanly(write_archive({**VALID_MEMBERS, "manifest.json": _dumps(manifest, True)}))


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "truncate", "insert", "splice", "zero"]),
            st.integers(0, len(VALID) - 1),
            st.integers(1, 64),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_bundle_bytes_are_refused_cleanly(edits: list[tuple[str, int, int, int]]) -> None:
    data = bytearray(VALID)
    for kind, position, length, byte in edits:
        position %= max(1, len(data))
        if kind == "flip" and data:
            data[position] ^= byte or 1
        elif kind == "truncate":
            del data[position:]
        elif kind == "flip":
            data.append(byte)
        elif kind == "insert":
            data[position:position] = bytes([byte]) * length
        elif kind == "splice":
            data[position:position] = data[max(0, position - length) : position]
        else:
            data[position : position + length] = bytes(len(data[position : position + length]))
    if bytes(data) == VALID:
        return
    _refused_cleanly(bytes(data))


def test_the_unmutated_bundle_is_valid() -> None:
    assert verify_bundle_bytes(VALID, TRUSTED).manifest.revision == 3


_DEEP = st.builds(
    lambda depth, opener: (opener * depth).encode(),
    st.integers(60, 20_000),
    st.sampled_from(["[", "{", '{"a":', "[1,"]),
)


@FUZZ
@given(
    raw=st.one_of(st.binary(max_size=300), _DEEP),
    member=st.sampled_from(
        ["manifest.json", "signatures.json", "policies/0/contract.json", "policies/0/specs.json"]
    ),
)
def test_raw_member_bytes_are_refused_cleanly(raw: bytes, member: str) -> None:
    _refused_cleanly(write_archive({**VALID_MEMBERS, member: raw}))
