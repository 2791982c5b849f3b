"""Compiling .nomo source that arrives over HTTP: the standard library is the only import root.

Input: source text and a display name from a request. Output: the
``CompileResult``, or the diagnostics that stopped it. Stage: shell (the HTTP
API), in front of ``nomotic_dsl.pipeline.compile_source``.

The compiler resolves a non-``std/`` import against the file system (relative
to the working directory for text with no file). A server must not let a
request read its files, or learn whether they exist, so every such import is
reported as NMO205 on its own span and the text is not compiled at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from nomotic_dsl import ast
from nomotic_dsl.diagnostics import Diagnostic
from nomotic_dsl.diagnostics.model import make_diagnostic
from nomotic_dsl.pipeline import CompileResult, compile_source
from nomotic_dsl.semantics.loader import STD_PREFIX
from nomotic_dsl.source import SourceFile
from nomotic_dsl.syntax import parse_module

LOCAL_IMPORT_CODE = "NMO205"
_LOCAL_IMPORT_HELP = (
    "the HTTP API compiles the text it is sent and nothing else; inline the "
    "declarations, or import a standard library file (\"std/...\")"
)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """A compile of request source: the result when it ran, and every diagnostic."""

    result: CompileResult | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """True when the source compiled without errors."""
        return self.result is not None and bool(self.result.ok)


def compile_request_source(text: str, filename: str) -> SourceOutcome:
    """Compile ``text`` unless it imports anything outside the standard library."""
    refused = local_import_diagnostics(text, filename)
    if refused:
        return SourceOutcome(None, tuple(refused))
    result = compile_source(text, filename=filename)
    return SourceOutcome(result, tuple(result.diagnostics))


def local_import_diagnostics(text: str, filename: str) -> list[Diagnostic]:
    """One NMO205 per import that does not start with ``std/``."""
    source = SourceFile(filename, text)
    module = parse_module(source).module
    if module is None:
        return []
    return [
        make_diagnostic(
            source,
            LOCAL_IMPORT_CODE,
            statement.span,
            f"cannot import {statement.path!r} over HTTP: only \"std/...\" imports are served",
            _LOCAL_IMPORT_HELP,
        )
        for statement in module.statements
        if isinstance(statement, ast.Import) and not statement.path.startswith(STD_PREFIX)
    ]
