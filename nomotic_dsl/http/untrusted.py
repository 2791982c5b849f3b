"""Compiling .nomo source that arrives over HTTP: the standard library is the only import root.

Input: source text and a display name from a request. Output: the
``CompileResult``. Stage: shell (the HTTP API), in front of
``nomotic_dsl.compiler.pipeline.compile_source``.

A server must not let a request read its files, or learn whether they exist,
so the text is compiled under the ``STDLIB_ONLY`` import policy: the loader
reports every other import as NMO205 on its own span and never looks at the
file system for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nomotic_dsl.compiler.diagnostics import Diagnostic
from nomotic_dsl.compiler.pipeline import CompileResult, compile_source
from nomotic_dsl.compiler.request import ImportPolicy

LOCAL_IMPORT_CODE = "NMO205"
REQUEST_IMPORTS = ImportPolicy(
    files=False,
    refusal_help=(
        "the HTTP API compiles the text it is sent and nothing else; inline the "
        'declarations, or import a standard library file ("std/...")'
    ),
)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """A compile of request source: the result, and every diagnostic."""

    result: CompileResult
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """True when the source compiled without errors."""
        return bool(self.result.ok)


def compile_request_source(text: str, filename: str) -> SourceOutcome:
    """Compile ``text`` with imports limited to the standard library."""
    result = compile_source(text, filename=filename, imports=REQUEST_IMPORTS)
    return SourceOutcome(result, tuple(result.diagnostics))
