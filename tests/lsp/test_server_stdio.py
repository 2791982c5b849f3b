"""End to end: a real LSP client starts `python -m nomotic_dsl lsp` and talks to it over stdio.

The client declares VS Code's capabilities (pytest-lsp checks every answer
against them); the diagnostics are compared with what `nomo check --format
json` prints for the same file, run as its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types

from tests.lsp.client import CONFIG, ROOT, NomoTestClient, initialize_params

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

EXAMPLE = ROOT / "examples" / "customer_support" / "policy.nomo"
BROKEN = 'import "./shared"\nratio write/read < LIMIT over 0 actions\ndrift acton < 0.2\n'
FIXED = 'import "./shared"\nratio write/read < LIMIT over 100 actions\ndrift action < 0.2\n'


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: NomoTestClient):
    result = await lsp_client.initialize_session(initialize_params("visual-studio-code", ROOT))
    assert result.server_info is not None and result.server_info.name == "nomo"
    yield
    await lsp_client.shutdown_session()
    # shutdown, then exit: the server process ends cleanly.
    assert lsp_client._server is not None and lsp_client._server.returncode == 0


def _open(client: NomoTestClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="nomo", version=version, text=text
            )
        )
    )
    return uri


def _change(client: NomoTestClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _check_json(path: Path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", "check", "--format", "json", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(done.stdout)["diagnostics"]


def _position(text: str, needle: str, skip: int = 0) -> types.Position:
    offset = text.index(needle)
    for _ in range(skip):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


async def test_diagnostics_match_nomo_check_then_clear_when_fixed(
    client: NomoTestClient, tmp_path: Path
) -> None:
    (tmp_path / "shared.nomo").write_text("const LIMIT = 0.3\n", encoding="utf-8")
    path = tmp_path / "policy.nomo"
    path.write_text(BROKEN, encoding="utf-8")
    uri = _open(client, path, BROKEN)
    found = await client.diagnostics_at(uri, 1)
    expected = _check_json(path)
    assert [d["code"] for d in expected] == ["NMO303", "NMO403"]
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert got.code == want["code"]
        assert got.message == want["message"]
        assert got.source == "nomo"
        assert got.severity == types.DiagnosticSeverity.Error
        assert (got.range.start.line, got.range.start.character) == (
            want["line"] - 1,
            want["column"] - 1,
        )
        assert (got.range.end.line, got.range.end.character) == (
            want["end_line"] - 1,
            want["end_column"] - 1,
        )
        assert got.related_information is not None
        assert got.related_information[0].message == f"help: {want['help']}"
    # The exact places, as docs/cli.md shows them: `0` of `over 0`, `acton`.
    assert found[0].range == types.Range(
        start=types.Position(line=1, character=30), end=types.Position(line=1, character=31)
    )
    assert found[1].range == types.Range(
        start=types.Position(line=2, character=6), end=types.Position(line=2, character=11)
    )

    _change(client, uri, 2, FIXED)
    assert await client.diagnostics_at(uri, 2) == []

    # Saving an imported file re-checks the open files that import it.
    shared = tmp_path / "shared.nomo"
    shared.write_text("const LIMIT = 0.3\ndrift acton < 0.2\n", encoding="utf-8")
    seen = len(client.published)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=shared.as_uri())
        )
    )
    [imported] = await client.diagnostics_at(uri, 2, after=seen)
    assert imported.code == "NMO403"
    assert imported.message == "in shared.nomo:2:7: error[NMO403] unknown drift key `acton`"
    assert imported.range.start == types.Position(line=0, character=0)

    # Saving the document re-checks it; closing clears its diagnostics.
    shared.write_text("const LIMIT = 0.3\n", encoding="utf-8")
    seen = len(client.published)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await client.diagnostics_at(uri, 2, after=seen) == []
    seen = len(client.published)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await client.diagnostics_at(uri, None, after=seen) == []


async def test_non_ascii_text_gets_utf16_columns(client: NomoTestClient, tmp_path: Path) -> None:
    text = 'invariant late "déjà vu 😀": ratio write/read < 3 over 0 actions\n'
    path = tmp_path / "unicode.nomo"
    uri = _open(client, path, text)
    [found] = await client.diagnostics_at(uri, 1)
    code_points = text.index("0 actions")
    # é and à are one UTF-16 unit each; 😀 is two.
    assert found.range.start == types.Position(line=0, character=code_points + 1)
    assert found.range.end == types.Position(line=0, character=code_points + 2)


async def test_a_syntax_error_is_one_diagnostic_and_blocks_formatting(
    client: NomoTestClient, tmp_path: Path
) -> None:
    text = "ratio write/read < 0.3 over 100 actions\ncontract {\n"
    uri = _open(client, tmp_path / "broken.nomo", text)
    found = await client.diagnostics_at(uri, 1)
    assert found and found[0].code == "NMO100"
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert not edits


async def test_formatting_gives_nomo_fmt_output(client: NomoTestClient, tmp_path: Path) -> None:
    text = 'ratio   write / read<0.3 over 100 actions\n\n\n\ncontract "a" {version 1\n}\n'
    path = tmp_path / "messy.nomo"
    path.write_text(text, encoding="utf-8")
    uri = _open(client, path, text)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert edits
    subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", "fmt", str(path)], check=True, capture_output=True
    )
    assert _apply(text, edits) == path.read_text(encoding="utf-8")


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        if position.line >= len(starts):
            return len(text)
        return starts[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


async def test_hover_completion_definition_references_symbols_tokens(
    client: NomoTestClient,
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    uri = _open(client, EXAMPLE, text)
    assert await client.diagnostics_at(uri, 1) == []
    document = types.TextDocumentIdentifier(uri=uri)

    # Hover on a rule: its explanation and its spec.
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=document, position=_position(text, "reply/read"))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "The reply-to-read ratio must stay below 1" in hover.contents.value
    assert '"metric": "reply_to_read"' in hover.contents.value
    # Hover on a constant's use: its value.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=document, position=_position(text, "REFUND_FIDELITY", skip=1)
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "`const REFUND_FIDELITY = 85%`" in hover.contents.value
    assert "0.85" in hover.contents.value

    # Completion after `archetype` in a contract: the standard archetypes.
    completion = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=document,
            position=_position(text, "customer-experience"),
        )
    )
    assert completion is not None
    items = completion.items if isinstance(completion, types.CompletionList) else completion
    labels = {item.label for item in items}
    assert {"customer-experience", "research-analyst", "general"} <= labels

    # Definition of a constant's use: its declaration (line 6).
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=document, position=_position(text, "REPLY_CEILING", skip=1)
        )
    )
    assert isinstance(found, list) and len(found) == 1
    assert found[0].uri == uri and found[0].range.start == _position(text, "REPLY_CEILING")
    # Definition of `use burst_limits`: the pack, in the standard library.
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=document, position=_position(text, "burst_limits", 1))
    )
    assert isinstance(found, list) and found[0].uri.endswith("/stdlib/packs/burst_limits.nomo")

    # References of a constant: the declaration and its use.
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=document,
            position=_position(text, "REPLY_CEILING"),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    assert [r.range.start for r in refs] == [
        _position(text, "REPLY_CEILING"),
        _position(text, "REPLY_CEILING", skip=1),
    ]

    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=document)
    )
    assert symbols is not None
    names = [symbol.name for symbol in symbols]
    assert names == [
        "std/packs/burst_limits",
        "std/packs/drift_guard",
        "REPLY_CEILING",
        "REFUND_FIDELITY",
        '"support-bot"',
    ]
    contract = symbols[-1]
    assert isinstance(contract, types.DocumentSymbol) and contract.children
    assert {"office_hours", "replies_follow_reads", "refunds_on_topic"} <= {
        child.name for child in contract.children
    }

    tokens = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=document)
    )
    assert tokens is not None and len(tokens.data) % 5 == 0 and tokens.data


async def test_no_request_failed(client: NomoTestClient) -> None:
    """Nothing the tests above did made a handler fail (failures are logged as errors)."""
    errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert errors == []
