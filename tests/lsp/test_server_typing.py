"""Over stdio, type a whole policy one character at a time and ask for things all along.

The client declares Neovim's capabilities, so the server negotiates UTF-8
positions; the text starts with a comment in accented letters and an emoji,
so every incremental change and every request position is in bytes, not
characters. After each keystroke the client asks for completion at the
cursor, and regularly for hover, definition, references, symbols, semantic
tokens and formatting; no request may fail (a failure would be logged as an
error) and the finished file must end with no diagnostics.
"""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types

from tests.lsp.client import CONFIG, ROOT, NomoTestClient, initialize_params

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

EXAMPLE = ROOT / "examples" / "customer_support" / "policy.nomo"
TEXT = "# déjà vu 😀: typed by hand\n" + EXAMPLE.read_text(encoding="utf-8")


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: NomoTestClient):
    result = await lsp_client.initialize_session(initialize_params("neovim", ROOT))
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    yield
    await lsp_client.shutdown_session()


def _end(text: str) -> types.Position:
    line = text.count("\n")
    last = text[text.rfind("\n") + 1 :]
    return types.Position(line=line, character=len(last.encode("utf-8")))


async def test_typing_a_policy_key_by_key(client: NomoTestClient) -> None:
    uri = (EXAMPLE.parent / "typed.nomo").as_uri()
    document = types.TextDocumentIdentifier(uri=uri)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="nomo", version=0, text="")
        )
    )
    typed = ""
    for version, char in enumerate(TEXT, start=1):
        at = _end(typed)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text=char
                    )
                ],
            )
        )
        typed += char
        cursor = _end(typed)
        completion = await client.text_document_completion_async(
            types.CompletionParams(text_document=document, position=cursor)
        )
        assert completion is not None
        if version % 20:
            continue
        middle = types.Position(line=cursor.line // 2, character=0)
        await client.text_document_hover_async(
            types.HoverParams(text_document=document, position=middle)
        )
        await client.text_document_definition_async(
            types.DefinitionParams(text_document=document, position=middle)
        )
        await client.text_document_references_async(
            types.ReferenceParams(
                text_document=document,
                position=middle,
                context=types.ReferenceContext(include_declaration=True),
            )
        )
        await client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=document)
        )
        await client.text_document_semantic_tokens_full_async(
            types.SemanticTokensParams(text_document=document)
        )
        await client.text_document_formatting_async(
            types.DocumentFormattingParams(
                text_document=document,
                options=types.FormattingOptions(tab_size=4, insert_spaces=True),
            )
        )
    assert await client.diagnostics_at(uri, len(TEXT)) == []
    # What the server holds is what was typed: hovering the last rule explains it.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=document,
            position=types.Position(line=TEXT.count("\n") - 2, character=40),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "fidelity" in hover.contents.value
    errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert errors == []
