"""The server answers every request on every half-typed file, and never raises.

Every prefix of every example and standard-library file is what an author has
on screen while typing it; every feature runs on each (at the end, where the
cursor is, and at earlier offsets), as do grammar-generated programs, token
soups and random text, in every position encoding. The features are called
directly, without the server's guard that would turn a defect into a logged
empty answer, so any exception fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from nomotic_dsl.lsp.analysis import Analysis, analyse
from nomotic_dsl.lsp.completion import complete
from nomotic_dsl.lsp.diagnostics import lsp_diagnostics
from nomotic_dsl.lsp.formatting import format_edits
from nomotic_dsl.lsp.hover import hover
from nomotic_dsl.lsp.navigation import definition, document_symbols, references
from nomotic_dsl.lsp.positions import UTF8, UTF16, UTF32
from nomotic_dsl.lsp.tokens import semantic_tokens
from nomotic_dsl.resources import stdlib_dir
from tests.language.test_fuzz import _FRAGMENTS, PROGRAMS

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(ROOT.glob("examples/*/policy.nomo")) + sorted(stdlib_dir().rglob("*.nomo"))


def _valid_range(analysis: Analysis, range_: types.Range) -> None:
    assert 0 <= range_.start.line < analysis.index.line_count
    assert 0 <= range_.end.line < analysis.index.line_count
    assert (range_.start.line, range_.start.character) <= (range_.end.line, range_.end.character)


def every_request(analysis: Analysis, offset: int, names: Analysis | None) -> None:
    """Run each feature at ``offset`` and check the answer's shape."""
    uri = "file:///fuzz/policy.nomo"
    for diagnostic in lsp_diagnostics(analysis, uri):
        _valid_range(analysis, diagnostic.range)
    found = hover(analysis, offset)
    if found is not None:
        assert isinstance(found.contents, types.MarkupContent) and found.contents.value
        assert found.range is not None
        _valid_range(analysis, found.range)
    for item in complete(analysis, offset, names):
        assert item.label
        assert isinstance(item.text_edit, types.TextEdit)
        _valid_range(analysis, item.text_edit.range)
    for place in definition(analysis, offset, uri) + references(analysis, offset, uri, True):
        assert place.uri
    for symbol in document_symbols(analysis):
        _valid_range(analysis, symbol.range)
    data = semantic_tokens(analysis)
    assert len(data) % 5 == 0 and all(number >= 0 for number in data)
    edits = format_edits(analysis.text, analysis.name, analysis.index)
    if edits:
        for edit in edits:
            _valid_range(analysis, edit.range)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_request_on_every_prefix(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    names: Analysis | None = None
    for end in range(len(text) + 1):
        analysis = analyse(text[:end], path)
        if analysis.module is not None:
            names = analysis
        for offset in {end, end // 2, max(0, end - 3)}:
            every_request(analysis, offset, names)


ENCODINGS = st.sampled_from([UTF8, UTF16, UTF32])


def _run(text: str, encoding: str, offsets: list[int]) -> None:
    analysis = analyse(text, Path("/fuzz/policy.nomo"), encoding=encoding)
    for offset in offsets:
        every_request(analysis, min(offset, len(text)), None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAMS, ENCODINGS, st.lists(st.integers(0, 400), min_size=1, max_size=4))
def test_grammar_generated_programs(text: str, encoding: str, offsets: list[int]) -> None:
    _run(text, encoding, offsets)


@settings(max_examples=150, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=25).map(" ".join), ENCODINGS, st.lists(st.integers(0, 200)))
def test_token_soup(text: str, encoding: str, offsets: list[int]) -> None:
    _run(text, encoding, [*offsets, len(text)])


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    ENCODINGS,
    st.lists(st.integers(0, 80)),
)
def test_random_text(text: str, encoding: str, offsets: list[int]) -> None:
    _run(text, encoding, [*offsets, len(text)])
