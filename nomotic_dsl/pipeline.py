"""The compiler pipeline: .nomo source -> checked program -> specs, contracts, priors.

Input: source text (``compile_source``) or a file (``compile_file``). Output:
``CompileResult``. Stage: the driver. ``STAGES`` lists the pure stages in
order; each takes the previous stage's output, and none calls the next, so a
test can run any of them alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomotic_dsl.archetypes import ArchetypePrior
from nomotic_dsl.contracts import BehavioralContract
from nomotic_dsl.diagnostics import Diagnostic, DiagnosticBag, render_all
from nomotic_dsl.invariants import InvariantSpec
from nomotic_dsl.lower import Lowered, lower_program
from nomotic_dsl.semantics import check_program, display_name, load_program
from nomotic_dsl.source import SourceFile, Span


@dataclass(frozen=True, slots=True)
class SourceInput:
    """What compilation starts from: the root text, its display name, its path if any."""

    source: SourceFile
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One named, pure step of the pipeline."""

    name: str
    run: Callable[[Any], Any]


STAGES: tuple[Stage, ...] = (
    Stage("load", lambda given: load_program(given.source, given.path)),
    Stage("check", check_program),
    Stage("lower", lower_program),
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an invariant's rule was written: file name, 1-based line and column, span."""

    file: str
    line: int
    column: int
    span: Span


@dataclass(frozen=True, slots=True)
class CompileResult:
    """Everything a compilation produced; lists are empty when ``ok`` is False."""

    ok: bool
    diagnostics: list[Diagnostic]
    invariants: list[InvariantSpec] = field(default_factory=list)
    contracts: list[BehavioralContract] = field(default_factory=list)
    archetypes: list[ArchetypePrior] = field(default_factory=list)
    # Every source text read, keyed by its stable relative name (never an absolute path).
    sources: dict[str, str] = field(default_factory=dict)
    root: str = "<input>"
    origins: dict[str, Origin] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that are errors."""
        return [item for item in self.diagnostics if item.is_error]

    def render(self) -> str:
        """Every diagnostic in full form (source line and caret)."""
        return render_all(self.diagnostics, self.sources)

    def to_json(self) -> dict[str, Any]:
        """What ``nomo compile`` prints: spec dicts and contract dicts."""
        return {
            "invariants": [spec.to_dict() for spec in self.invariants],
            "contracts": [contract.to_dict() for contract in self.contracts],
        }


def run_stages(given: SourceInput) -> tuple[Lowered, dict[str, SourceFile]]:
    """Run every stage in order; also return the source files that were read."""
    value: Any = given
    files: dict[str, SourceFile] = {}
    for stage in STAGES:
        value = stage.run(value)
        if stage.name == "load":
            files = {loaded.source.name: loaded.source for loaded in value.files}
    return value, files


def _result(lowered: Lowered, files: dict[str, SourceFile], root: str) -> CompileResult:
    order = {name: index for index, name in enumerate(files)}
    diagnostics = sorted(
        lowered.diagnostics,
        key=lambda d: (order.get(d.file, -1), d.span.start, d.span.end, d.code, d.message),
    )
    ok = not any(item.is_error for item in diagnostics)
    sources = {name: source.text for name, source in files.items()}
    if not ok:
        return CompileResult(False, diagnostics, sources=sources, root=root)
    origins = {}
    for item in lowered.invariants:
        position = item.rule.source.position(item.rule.facts.span.start)
        origins[item.spec.invariant_id] = Origin(
            item.rule.source.name, position.line, position.column, item.rule.facts.span
        )
    return CompileResult(
        ok=True,
        diagnostics=diagnostics,
        invariants=[item.spec for item in lowered.invariants],
        contracts=list(lowered.contracts),
        archetypes=list(lowered.archetypes),
        sources=sources,
        root=root,
        origins=origins,
    )


def compile_source(text: str, filename: str = "<input>") -> CompileResult:
    """Compile .nomo text; relative imports resolve from the current directory."""
    source = SourceFile(filename, text)
    lowered, files = run_stages(SourceInput(source))
    return _result(lowered, files, filename)


def compile_file(path: str | Path) -> CompileResult:
    """Compile a .nomo file; an unreadable file is reported as a diagnostic."""
    given = Path(path)
    name = display_name(given)
    try:
        text = given.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        source = SourceFile(name, "")
        bag = DiagnosticBag(source)
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        bag.report("NMO205", Span(0, 0), f"cannot read {name!r}: {reason}")
        return CompileResult(False, list(bag.items), sources={}, root=name)
    lowered, files = run_stages(SourceInput(SourceFile(name, text), given.resolve()))
    return _result(lowered, files, name)
