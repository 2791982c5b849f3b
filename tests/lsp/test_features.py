"""Each editor feature, in process, against what the compiler and the CLI say."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from nomotic_dsl.compiler.diagnostics import CODES
from nomotic_dsl.compiler.fmt import format_source
from nomotic_dsl.compiler.pipeline import compile_file
from nomotic_dsl.ir.spec import (
    COUNT_METRICS,
    DRIFT_DISTRIBUTIONS,
    INVARIANT_TYPES,
)
from nomotic_dsl.lsp.analysis import analyse
from nomotic_dsl.lsp.completion import complete
from nomotic_dsl.lsp.diagnostics import lsp_diagnostics
from nomotic_dsl.lsp.formatting import format_edits
from nomotic_dsl.lsp.hover import hover
from nomotic_dsl.lsp.navigation import definition, document_symbols, references
from nomotic_dsl.lsp.positions import UTF8, UTF16, UTF32, LineIndex
from nomotic_dsl.lsp.tokens import TOKEN_TYPES, semantic_tokens
from nomotic_dsl.lsp.vocabulary import stdlib_archetypes, stdlib_imports
from nomotic_dsl.resources import stdlib_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*/policy.nomo"))
CASES = sorted((ROOT / "tests" / "cases").rglob("*.nomo"))
STDLIB = sorted(stdlib_dir().rglob("*.nomo"))
SUPPORT = ROOT / "examples" / "customer_support" / "policy.nomo"


def _offset(text: str, needle: str, skip: int = 0, delta: int = 0) -> int:
    offset = text.index(needle)
    for _ in range(skip):
        offset = text.index(needle, offset + 1)
    return offset + delta


def _hover_text(text: str, offset: int, path: Path) -> str:
    found = hover(analyse(text, path), offset)
    assert found is not None and isinstance(found.contents, types.MarkupContent)
    return found.contents.value


def _labels(text: str, path: Path | None = None, names: str | None = None) -> set[str]:
    path = path or Path("/nowhere/policy.nomo")
    fallback = analyse(names, path) if names is not None else None
    analysis = analyse(text, path)
    items = complete(analysis, len(text), fallback)
    for item in items:
        assert isinstance(item.text_edit, types.TextEdit)
        assert analysis.index.offset(item.text_edit.range.end) == len(text)
    return {item.label for item in items}


# ---- positions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "column"), [(UTF8, 1 + 4 + 2), (UTF16, 1 + 2 + 1), (UTF32, 1 + 1 + 1)]
)
def test_positions_count_code_units_of_the_encoding(encoding: str, column: int) -> None:
    text = "a😀é|x\r\nsecond\rthird\n"
    index = LineIndex(text, encoding)
    bar = text.index("|")
    assert index.position(bar) == types.Position(line=0, character=column)
    assert index.offset(types.Position(line=0, character=column)) == bar
    # \r\n, \r and \n all end lines; a column past the end is clamped to the line's end.
    assert index.position(text.index("second")) == types.Position(line=1, character=0)
    assert index.position(text.index("third")) == types.Position(line=2, character=0)
    assert index.offset(types.Position(line=1, character=99)) == text.index("\rthird")
    assert index.offset(types.Position(line=99, character=0)) == len(text)
    # An offset between \r and \n is shown at the end of its line, never inside the break.
    assert index.position(text.index("\n")) == index.position(text.index("\r\n"))


# ---- diagnostics ------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES + CASES + STDLIB, ids=lambda p: p.name)
def test_diagnostics_are_those_of_nomo_check(path: Path) -> None:
    expected = [d for d in compile_file(path).diagnostics if d.file == path.name]
    found = lsp_diagnostics(analyse(path.read_text(encoding="utf-8"), path), path.as_uri())
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert (got.code, got.message) == (want.code, want.message)
        severity = {"error": 1, "warning": 2}[want.severity]
        assert got.severity == severity
        assert got.range == types.Range(
            start=types.Position(line=want.line - 1, character=want.column - 1),
            end=types.Position(line=want.end_line - 1, character=want.end_column - 1),
        )


def test_several_cases_have_problems_to_compare() -> None:
    counted = sum(
        len(lsp_diagnostics(analyse(p.read_text(encoding="utf-8"), p), p.as_uri())) for p in CASES
    )
    assert counted >= 10


def _shared(tmp_path: Path) -> Path:
    (tmp_path / "shared.nomo").write_text(
        "# Shared limits for the team.\n"
        "const LIMIT = 0.3\n"
        "pack team { ratio write/read < LIMIT over 10 actions }\n"
        "drift acton < 0.2\n",
        encoding="utf-8",
    )
    policy = tmp_path / "policy.nomo"
    policy.write_text(
        'import "./shared"\ncontract "bot" {\n    use team\n    ratio write/read < LIMIT\n}\n',
        encoding="utf-8",
    )
    return policy


def test_problems_of_an_imported_file_land_on_its_import(tmp_path: Path) -> None:
    policy = _shared(tmp_path)
    text = policy.read_text(encoding="utf-8")
    [found] = lsp_diagnostics(analyse(text, policy), policy.as_uri())
    assert found.code == "NMO403"
    assert found.message == "in shared.nomo:4:7: error[NMO403] unknown drift key `acton`"
    assert found.range == types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=0, character=17)
    )
    assert found.related_information is not None
    where = found.related_information[0].location
    assert where.uri == (tmp_path / "shared.nomo").as_uri()
    assert where.range.start == types.Position(line=3, character=6)


def test_a_document_too_large_gets_one_notice_and_no_work() -> None:
    from nomotic_dsl.lsp.analysis import MAX_DOCUMENT_CHARS

    text = "drift action < 0.2\n" * (MAX_DOCUMENT_CHARS // 19 + 1)
    analysis = analyse(text, None)
    [notice] = lsp_diagnostics(analysis, "untitled:x")
    assert notice.severity == types.DiagnosticSeverity.Information
    assert "nomo check" in notice.message
    assert hover(analysis, 3) is None
    assert complete(analysis, 3) == []
    assert semantic_tokens(analysis) == []


# ---- hover --------------------------------------------------------------------------------


def test_hover_on_a_rule_explains_it_and_shows_its_spec() -> None:
    text = SUPPORT.read_text(encoding="utf-8")
    shown = _hover_text(text, _offset(text, "outside 8-20"), SUPPORT)
    assert "**invariant `office_hours`**" in shown
    assert "_Support answers 08:00-20:00 New York time_" in shown
    assert 'In contract "support-bot": No action may fall outside the allowed hours' in shown
    assert '"metric": "8-20@America/New_York"' in shown


def test_hover_on_a_diagnostic_gives_its_message_help_and_code() -> None:
    text = "ratio write/read < 0.3 over 0 actions\n"
    shown = _hover_text(text, _offset(text, "0 actions"), Path("/nowhere/x.nomo"))
    assert "**error[NMO303]**: a window of `0` actions" in shown
    assert "help: windows count whole actions: `over 100 actions`" in shown
    assert f"`NMO303` (error): {CODES['NMO303'].summary}" in shown


def test_hover_on_a_code_in_a_comment_gives_its_summary() -> None:
    text = "# NMO501 is only a warning\ndrift action < 0.2\n"
    shown = _hover_text(text, 3, Path("/nowhere/x.nomo"))
    assert shown == f"`NMO501` (warning): {CODES['NMO501'].summary}"


def test_hover_on_names(tmp_path: Path) -> None:
    policy = _shared(tmp_path)
    text = policy.read_text(encoding="utf-8")
    constant = _hover_text(text, _offset(text, "LIMIT"), policy)
    assert "`const LIMIT = 0.3`: the number 0.3" in constant
    assert "declared in `shared.nomo`, line 2" in constant
    pack = _hover_text(text, _offset(text, "team"), policy)
    assert "**pack `team`**" in pack and "ratio write/read < LIMIT over 10 actions" in pack
    imported = _hover_text(text, 3, policy)
    assert "**file `shared.nomo`**" in imported and "Shared limits for the team." in imported
    assert "- constant `LIMIT`" in imported and "- pack `team`" in imported


def test_hover_on_a_contract_lists_its_settings() -> None:
    text = SUPPORT.read_text(encoding="utf-8")
    shown = _hover_text(text, _offset(text, "support-bot"), SUPPORT)
    assert '**contract "support-bot" version 3**' in shown
    assert "- Trust starts at 0.6 and stays between 0.2 and 0.9." in shown


def test_hover_on_a_pack_rule_alone() -> None:
    path = stdlib_dir() / "packs" / "burst_limits.nomo"
    text = path.read_text(encoding="utf-8")
    shown = _hover_text(text, _offset(text, "rate <"), path)
    assert "lowers once for each contract that uses it" in shown
    path = stdlib_dir() / "packs" / "drift_guard.nomo"
    text = path.read_text(encoding="utf-8")
    shown = _hover_text(text, _offset(text, "drift action"), path)
    assert "(checked on its own, outside any contract)" in shown and '"type": "drift"' in shown


def test_hover_on_an_unknown_constant_says_so() -> None:
    text = "ratio write/read < NOPE\n"
    shown = _hover_text(text, _offset(text, "NOPE"), Path("/nowhere/x.nomo"))
    assert "unknown constant `NOPE`" in shown
    assert "`NOPE`: no constant of that name is declared in scope" in shown


# ---- completion --------------------------------------------------------------------------


def test_completion_after_count_offers_the_count_metrics() -> None:
    assert set(COUNT_METRICS) <= _labels("count ")


def test_completion_of_drift_keys() -> None:
    assert set(DRIFT_DISTRIBUTIONS) <= _labels("drift ")
    inside = _labels('contract "c" {\n    drift thresholds { action 0.2 ')
    assert inside == set(DRIFT_DISTRIBUTIONS)


def test_completion_of_trust_settings_and_subjects() -> None:
    assert _labels('contract "c" { trust { initial 0.5 ') == {"initial", "floor", "ceiling"}
    assert _labels("no single ") == {"target", "action"}
    assert _labels("at most 5 distinct ") == {"targets", "actions"}
    assert {"no single", "no activity"} <= _labels("")


def test_completion_of_units_after_over() -> None:
    labels = _labels("ratio write/read < 0.3 over 15")
    assert {"15s", "15m", "15h", "15d", "15minutes", "15 actions"} <= labels


def test_completion_of_names_in_scope(tmp_path: Path) -> None:
    policy = _shared(tmp_path)
    text = policy.read_text(encoding="utf-8")
    uses = _labels(text[: _offset(text, "team")], policy)
    assert "team" in uses
    value = _labels(text[: _offset(text, "LIMIT")], policy)
    assert "LIMIT" in value
    archetype = _labels('contract "c" { archetype ')
    assert set(stdlib_archetypes()) <= archetype


def test_completion_of_constants_from_the_last_text_that_parsed() -> None:
    assert "SPAN" in _labels("const SPAN = 1h\nrate < 0.5 over ", names="const SPAN = 1h\n")


def test_completion_of_imports() -> None:
    analysis = analyse('import "std/pa', Path("/nowhere/x.nomo"))
    items = complete(analysis, len(analysis.text))
    labels = {item.label for item in items}
    assert {f'"{path}"' for path in stdlib_imports()} == labels
    assert '"std/packs/burst_limits"' in labels
    edit = items[0].text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range.start == types.Position(line=0, character=7)  # from the opening quote


def test_completion_of_local_files(tmp_path: Path) -> None:
    policy = _shared(tmp_path)
    assert '"./shared"' in _labels('import "', policy)


def test_completion_at_a_statement_offers_rule_forms_types_and_declarations() -> None:
    labels = _labels("ratio write/read < 0.3\n")
    assert set(INVARIANT_TYPES) <= labels
    assert {"const", "import", "contract", "pack", "archetype", "invariant"} <= labels
    assert "no single SUBJECT above N%" in labels and 'contract "AGENT" { ... }' in labels
    inside = _labels('contract "c" {\n    ')
    assert {"scope { ... }", "trust { ... }", "use", "version"} <= inside
    assert 'contract "AGENT" { ... }' not in inside


def test_completion_in_a_comment_offers_nothing() -> None:
    assert _labels("# count ") == set()


def test_completion_recovers_after_an_earlier_error() -> None:
    # The text before the cursor does not parse: the line is read again in its blocks.
    assert set(COUNT_METRICS) <= _labels("ratio ) ( oops\ncount ")
    labels = _labels('contract "c" {\n    version ?\n    drift thresholds { ')
    assert labels == set(DRIFT_DISTRIBUTIONS)


# ---- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES + STDLIB, ids=lambda p: p.name)
def test_canonical_files_need_no_edit(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_edits(text, path.name, LineIndex(text)) == []


@pytest.mark.parametrize(
    "text",
    [
        'ratio   write / read<0.3\n\n\n\ncontract "a" {version 1\n}\n',
        '# keep me\ncontract "a" {   trust {initial 0.5}  }',
        'const A = 1\r\ncontract "a" {\r\n   version A\r\n}\r\n',
        'invariant x "déjà 😀":  drift action<0.2\nrate < 1 over 1h',
    ],
)
def test_formatting_edit_gives_nomo_fmt_output(text: str) -> None:
    index = LineIndex(text, UTF16)
    edits = format_edits(text, "x.nomo", index)
    assert edits and len(edits) == 1
    [edit] = edits
    span = index.span_of(edit.range)
    assert text[: span.start] + edit.new_text + text[span.end :] == format_source(text)


def test_no_formatting_edit_for_a_syntax_error() -> None:
    text = "ratio write/read <\ncontract {"
    assert format_edits(text, "x.nomo", LineIndex(text)) is None


# ---- definition, references, symbols --------------------------------------------------------


def test_definition_and_references_across_files(tmp_path: Path) -> None:
    policy = _shared(tmp_path)
    text = policy.read_text(encoding="utf-8")
    analysis = analyse(text, policy)
    uri = policy.as_uri()
    shared = (tmp_path / "shared.nomo").as_uri()
    [found] = definition(analysis, _offset(text, "LIMIT"), uri)
    assert found.uri == shared and found.range.start == types.Position(line=1, character=6)
    [found] = definition(analysis, _offset(text, "team"), uri)
    assert found.uri == shared and found.range.start == types.Position(line=2, character=5)
    [found] = definition(analysis, 2, uri)  # the import: the file it loads
    assert found.uri == shared and found.range.start == types.Position(line=0, character=0)
    refs = references(analysis, _offset(text, "LIMIT"), uri, include_declaration=True)
    assert [(r.uri, r.range.start.line) for r in refs] == [(shared, 1), (shared, 2), (uri, 3)]
    refs = references(analysis, _offset(text, "LIMIT"), uri, include_declaration=False)
    assert [(r.uri, r.range.start.line) for r in refs] == [(shared, 2), (uri, 3)]


def test_definition_of_a_standard_archetype_named_without_import() -> None:
    text = SUPPORT.read_text(encoding="utf-8")
    analysis = analyse(text, SUPPORT)
    [found] = definition(analysis, _offset(text, "customer-experience"), SUPPORT.as_uri())
    assert found.uri == (stdlib_dir() / "archetypes" / "customer-experience.nomo").as_uri()


def test_document_symbols_of_a_pack_file() -> None:
    path = stdlib_dir() / "packs" / "burst_limits.nomo"
    [pack] = document_symbols(analyse(path.read_text(encoding="utf-8"), path))
    assert pack.name == "burst_limits" and pack.kind == types.SymbolKind.Package
    assert [child.name for child in pack.children or []] == ["hourly_rate", "burst_rate"]


# ---- semantic tokens ------------------------------------------------------------------------


def _decoded(text: str, path: Path) -> dict[str, str]:
    data = semantic_tokens(analyse(text, path))
    index = LineIndex(text)
    found: dict[str, str] = {}
    line = character = 0
    for at in range(0, len(data), 5):
        delta_line, delta_start, length, kind, _ = data[at : at + 5]
        line += delta_line
        character = delta_start if delta_line else character + delta_start
        start = index.offset(types.Position(line=line, character=character))
        end = index.offset(types.Position(line=line, character=character + length))
        found.setdefault(text[start:end], TOKEN_TYPES[kind])
    return found


def test_semantic_tokens_colour_each_category() -> None:
    text = SUPPORT.read_text(encoding="utf-8")
    found = _decoded(text, SUPPORT)
    assert found["contract"] == "keyword" and found["invariant"] == "keyword"
    assert found["ratio"] == "type" and found["drift"] == "keyword"
    assert found["0.6"] == "number" and found["85%"] == "number"
    assert found['"support-bot"'] == "string"
    assert found["REPLY_CEILING"] == "variable" and found["burst_limits"] == "namespace"
    assert found["customer-experience"] == "class" and found["office_hours"] == "function"
    assert found["reply"] == "enumMember" and found["initial"] == "property"
    assert found["<"] == "operator"
    assert next(iter(found)).startswith("# Support bot")
    assert found[next(iter(found))] == "comment"
    burst = stdlib_dir() / "packs" / "burst_limits.nomo"
    found = _decoded(burst.read_text(encoding="utf-8"), burst)
    assert found["1h"] == "number" and found["rate"] == "type"
