"""A real LSP client driving `python -m nomotic_dsl lsp` as a subprocess, over stdio.

pytest-lsp's client (pygls underneath) checks every answer against the
capabilities the client declared; this module adds what the tests need on
top: diagnostics kept with their document version, and waiting for them.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "nomotic_dsl", "lsp"]
TIMEOUT = 30.0


class NomoTestClient(LanguageClient):
    """pytest-lsp's client, keeping every published diagnostics notification."""

    published: list[types.PublishDiagnosticsParams]

    async def diagnostics_at(
        self, uri: str, version: int | None, after: int = 0
    ) -> list[types.Diagnostic]:
        """The diagnostics published for ``uri`` at ``version`` (waiting for them).

        ``after`` skips the notifications received before that count.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while loop.time() < deadline:
            for params in reversed(self.published[after:]):
                if params.uri == uri and params.version == version:
                    return list(params.diagnostics)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no diagnostics for {uri} version {version} within {TIMEOUT}s")


def _record(client: NomoTestClient, params: types.PublishDiagnosticsParams) -> None:
    client.published.append(params)
    client.diagnostics[params.uri] = params.diagnostics


def make_client() -> NomoTestClient:
    client = NomoTestClient(converter_factory=default_converter)
    client.published = []
    features: dict[str, Any] = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record
    register_lsp_features(client, features)
    return client


CONFIG = ClientServerConfig(server_command=SERVER, client_factory=make_client)


def initialize_params(editor: str, root: Path) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=client_capabilities(editor),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
    )
