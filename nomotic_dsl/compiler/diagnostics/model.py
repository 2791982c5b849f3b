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


@dataclass(frozen=True, slots=True)
class Capped:
    """Diagnostics cut to a number per file, and how many errors and warnings were cut."""

    diagnostics: tuple[Diagnostic, ...]
    omitted_errors: int = 0
    omitted_warnings: int = 0


CAP_CODES = frozenset({"NMO198", "NMO199"})


def cap_per_file(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...], limit: int) -> Capped:
    """At most ``limit`` diagnostics per file, in the given order; the rest are counted.

    Each file with more gets one more diagnostic where its first omitted one
    was: NMO199 (an error) when errors are among the omitted, else NMO198.
    """
    seen: dict[str, int] = {}
    kept: list[Diagnostic] = []
    omitted: dict[str, list[Diagnostic]] = {}
    for item in diagnostics:
        count = seen.get(item.file, 0)
        seen[item.file] = count + 1
        if count < limit:
            kept.append(item)
        else:
            omitted.setdefault(item.file, []).append(item)
    errors = warnings = 0
    for file, items in omitted.items():
        file_errors = sum(1 for item in items if item.is_error)
        errors += file_errors
        warnings += len(items) - file_errors
        first = items[0]
        code = "NMO199" if file_errors else "NMO198"
        kinds = f"{file_errors} errors, {len(items) - file_errors} warnings"
        kept.append(
            Diagnostic(
                code=code,
                severity=code_info(code).severity,
                message=f"{len(items)} more problems in {file} are not shown ({kinds}); "
                f"each file shows at most {limit}",
                file=file,
                line=first.line,
                column=first.column,
                end_line=first.line,
                end_column=first.column,
                help="fix the problems shown and check again",
                span=Span(first.span.start, first.span.start),
            )
        )
    return Capped(tuple(kept), errors, warnings)


def count_problems(
    diagnostics: list[Diagnostic] | tuple[Diagnostic, ...],
    omitted_errors: int = 0,
    omitted_warnings: int = 0,
) -> tuple[int, int]:
    """(errors, warnings), counting those a cap left out and not its summary lines."""
    errors = warnings = 0
    for item in diagnostics:
        if item.code in CAP_CODES:
            continue
        if item.is_error:
            errors += 1
        else:
            warnings += 1
    return errors + omitted_errors, warnings + omitted_warnings
