"""Diagnostics: what an author is told about one problem, and the bag that collects them.

Input: a code from the registry, a source file and a span. Output: a frozen
``Diagnostic`` carrying the public fields (code, severity, message, file,
1-based line/column, end line/column, help) and the span. Stage: every pass
appends to a ``DiagnosticBag`` and carries on; no pass raises for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nomotic_dsl.compiler.diagnostics.codes import ERROR, code_info
from nomotic_dsl.compiler.source import SourceFile, Span


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a policy, located by file, line and column."""

    code: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    help: str | None = None
    span: Span = field(default=Span(0, 0), compare=False, repr=False)

    @property
    def is_error(self) -> bool:
        """True for errors, False for warnings."""
        return self.severity == ERROR

    def to_dict(self) -> dict[str, object]:
        """JSON-clean form with the public field names."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "help": self.help,
        }


def make_diagnostic(
    source: SourceFile, code: str, span: Span, message: str, help_text: str | None = None
) -> Diagnostic:
    """A diagnostic for ``span`` of ``source``, its severity taken from the registry."""
    start = source.position(span.start)
    end = source.position(max(span.end, span.start))
    return Diagnostic(
        code=code,
        severity=code_info(code).severity,
        message=message,
        file=source.name,
        line=start.line,
        column=start.column,
        end_line=end.line,
        end_column=end.column,
        help=help_text,
        span=span,
    )


class DiagnosticBag:
    """Collects diagnostics for one source file, in the order they were found."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self._items: list[Diagnostic] = []

    def report(self, code: str, span: Span, message: str, help_text: str | None = None) -> None:
        """Record a problem; severity comes from the code registry."""
        self._items.append(make_diagnostic(self.source, code, span, message, help_text))

    def extend(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        """Add diagnostics found elsewhere (an imported file, for instance)."""
        self._items.extend(diagnostics)

    @property
    def items(self) -> tuple[Diagnostic, ...]:
        """Everything recorded so far."""
        return tuple(self._items)

    @property
    def has_errors(self) -> bool:
        """True when at least one error (not warning) was recorded."""
        return any(item.is_error for item in self._items)


def sort_diagnostics(
    diagnostics: list[Diagnostic] | tuple[Diagnostic, ...],
) -> tuple[Diagnostic, ...]:
    """Stable display order: by file, then position, then code."""
    return tuple(
        sorted(diagnostics, key=lambda d: (d.file, d.span.start, d.span.end, d.code, d.message))
    )
