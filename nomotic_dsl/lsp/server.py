"""``nomo lsp``: the language server, over stdio, on pygls.

Input: LSP messages from an editor. Output: diagnostics (published on open,
on change after a short pause in typing, and on save), hover, completion,
formatting, definition, references, document symbols and semantic tokens.
Every feature is a pure function of one ``Analysis`` (``analysis.py``), kept
per document and recomputed only when the text changes, so the compiler runs
once per edit however many requests follow. A handler that fails logs the
error to the client (``window/logMessage``) and answers empty: the server
never answers a request with an error or stops because of a document.
"""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from nomotic_dsl._version import __version__
from nomotic_dsl.lsp.analysis import Analysis, analyse
from nomotic_dsl.lsp.completion import complete
from nomotic_dsl.lsp.diagnostics import lsp_diagnostics
from nomotic_dsl.lsp.formatting import format_edits
from nomotic_dsl.lsp.hover import hover
from nomotic_dsl.lsp.navigation import definition, document_symbols, references
from nomotic_dsl.lsp.tokens import LEGEND, semantic_tokens
from nomotic_dsl.lsp.uris import path_of

# Seconds of quiet after a change before the document is compiled for diagnostics.
DEBOUNCE_SECONDS = 0.15
SERVER_NAME = "nomo"

T = TypeVar("T")


class NomoLanguageServer(LanguageServer):
    """The server and its per-document state."""

    def __init__(self) -> None:
        super().__init__(
            SERVER_NAME, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.analyses: dict[str, Analysis] = {}
        self.last_parsed: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}

    # ---- state ---------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """The position encoding negotiated with the client (``utf-16`` by default)."""
        chosen = self.workspace.position_encoding
        value = getattr(chosen, "value", chosen)
        return str(value) if value else "utf-16"

    def analysis(self, uri: str) -> Analysis:
        """The analysis of a document's current text, compiled when the text changed."""
        document = self.workspace.get_text_document(uri)
        try:
            text = document.source
        except (
            OSError,
            UnicodeDecodeError,
        ):  # asked about a file that is neither open nor readable
            text = ""
        cached = self.analyses.get(uri)
        if cached is not None and cached.text == text and cached.index.encoding == self.encoding:
            return cached
        fresh = analyse(text, path_of(uri), encoding=self.encoding)
        self.analyses[uri] = fresh
        if fresh.module is not None:
            self.last_parsed[uri] = fresh
        return fresh

    def publish(self, uri: str) -> None:
        """Compile the document if needed and publish its diagnostics."""
        self.pending.pop(uri, None)
        document = self.workspace.get_text_document(uri)
        diagnostics = lsp_diagnostics(self.analysis(uri), uri)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics, version=document.version
            )
        )

    def schedule(self, uri: str) -> None:
        """Publish diagnostics once typing pauses."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.publish(uri)
            return
        self.pending[uri] = loop.call_later(DEBOUNCE_SECONDS, self._publish_quietly, uri)

    def _publish_quietly(self, uri: str) -> None:
        if uri in self.workspace.text_documents:
            self.guard("diagnostics", lambda: self.publish(uri), None)

    def forget(self, uri: str) -> None:
        """Drop what is kept about a closed document and clear its diagnostics."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.analyses.pop(uri, None)
        self.last_parsed.pop(uri, None)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def dependents_of(self, uri: str) -> list[str]:
        """Open documents that load the file at ``uri`` (imported, directly or not)."""
        saved = path_of(uri)
        if saved is None:
            return []
        found = []
        for other, analysis in self.analyses.items():
            if other == uri:
                continue
            if any(analysis.path_of(name) == saved for name in analysis.files):
                found.append(other)
        return found

    def guard(self, what: str, work: Callable[[], T], default: T) -> T:
        """Run a feature; on a failure, log it to the client and answer ``default``."""
        try:
            return work()
        except Exception:  # a defect must cost one answer, never the session
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Error,
                    message=f"nomo lsp: {what} failed:\n{traceback.format_exc()}",
                )
            )
            return default


def build_server() -> NomoLanguageServer:
    """A server with every feature registered."""
    server = NomoLanguageServer()

    def feature(name: str, options: Any = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        return server.feature(name, options)

    @feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NomoLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.guard("diagnostics", lambda: ls.publish(uri), None)

    @feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NomoLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: NomoLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        dependents = ls.dependents_of(uri)
        ls.analyses.clear()  # imported files may have changed on disk
        for target in [uri, *dependents]:
            if target in ls.workspace.text_documents:
                ls.guard("diagnostics", functools.partial(ls.publish, target), None)

    @feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NomoLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: NomoLanguageServer, params: types.HoverParams) -> types.Hover | None:
        def work() -> types.Hover | None:
            analysis = ls.analysis(params.text_document.uri)
            return hover(analysis, analysis.index.offset(params.position))

        return ls.guard("hover", work, None)

    @feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=['"', "/"]),
    )
    def on_completion(
        ls: NomoLanguageServer, params: types.CompletionParams
    ) -> types.CompletionList:
        def work() -> types.CompletionList:
            uri = params.text_document.uri
            analysis = ls.analysis(uri)
            offset = analysis.index.offset(params.position)
            items = complete(analysis, offset, ls.last_parsed.get(uri))
            return types.CompletionList(is_incomplete=False, items=items)

        return ls.guard("completion", work, types.CompletionList(is_incomplete=False, items=[]))

    @feature(types.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(
        ls: NomoLanguageServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        def work() -> list[types.TextEdit] | None:
            analysis = ls.analysis(params.text_document.uri)
            if analysis.too_large:
                return None
            return format_edits(analysis.text, analysis.name, analysis.index)

        return ls.guard("formatting", work, None)

    @feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(
        ls: NomoLanguageServer, params: types.DefinitionParams
    ) -> list[types.Location]:
        def work() -> list[types.Location]:
            uri = params.text_document.uri
            analysis = ls.analysis(uri)
            return definition(analysis, analysis.index.offset(params.position), uri)

        return ls.guard("definition", work, [])

    @feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(
        ls: NomoLanguageServer, params: types.ReferenceParams
    ) -> list[types.Location]:
        def work() -> list[types.Location]:
            uri = params.text_document.uri
            analysis = ls.analysis(uri)
            offset = analysis.index.offset(params.position)
            return references(analysis, offset, uri, params.context.include_declaration)

        return ls.guard("references", work, [])

    @feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(
        ls: NomoLanguageServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        return ls.guard(
            "symbols", lambda: document_symbols(ls.analysis(params.text_document.uri)), []
        )

    @feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)
    def on_tokens(
        ls: NomoLanguageServer, params: types.SemanticTokensParams
    ) -> types.SemanticTokens:
        def work() -> types.SemanticTokens:
            return types.SemanticTokens(data=semantic_tokens(ls.analysis(params.text_document.uri)))

        return ls.guard("semantic tokens", work, types.SemanticTokens(data=[]))

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    build_server().start_io()
