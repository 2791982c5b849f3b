"""The parse stage: the root file and every file it imports, parsed once each.

Input: ``CompileRequest`` (the root ``SourceFile``, where it lives on disk or
nothing for text given directly, and the import policy). Output:
``LoadedProgram``: files in dependency order (imports before importers, the
root last), their ASTs and diagnostics. ``"std/..."`` imports resolve under
the standard library; others relative to the importing file, when the import
policy allows files at all (the HTTP API's does not). A cycle is reported on
the import that closes it and never followed.
"""

from __future__ import annotations

import posixpath
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic, make_diagnostic
from nomotic_dsl.compiler.limits import MAX_IMPORT_CHARS, MAX_NAME_CHARS
from nomotic_dsl.compiler.request import CompileRequest, ImportPolicy
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.compiler.syntax import parse_module
from nomotic_dsl.resources import stdlib_dir

STD_PREFIX = "std/"


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """One parsed file: display name, source, AST (None when unparsable)."""

    source: SourceFile
    module: ast.Module | None
    implicit: bool = False  # loaded for an archetype a contract named, not imported


@dataclass(slots=True)
class LoadedProgram:
    """Every file of a compilation in dependency order, with load diagnostics."""

    request: CompileRequest
    files: list[LoadedFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def sources(self) -> dict[str, SourceFile]:
        """Every file read, by its stable display name, in dependency order."""
        return {loaded.source.name: loaded.source for loaded in self.files}

    @property
    def root(self) -> LoadedFile:
        """The file that was compiled (last in dependency order)."""
        return self.files[-1]


@dataclass(frozen=True, slots=True)
class _Location:
    """Where a file's text comes from: a display name and a real path (None for stdin)."""

    name: str
    path: Path | None


class Loader:
    """Depth-first import loader with an explicit stack for cycle detection."""

    def __init__(self, request: CompileRequest) -> None:
        self.program = LoadedProgram(request)
        self.policy: ImportPolicy = request.imports
        self._done: set[str] = set()
        self._stack: list[str] = []

    def load_root(self, source: SourceFile, path: Path | None) -> LoadedProgram:
        """Load ``source`` and everything it imports."""
        self._visit(source, _Location(source.name, path), implicit=False)
        return self.program

    def load_std_archetype(self, name: str) -> LoadedFile | None:
        """Load ``stdlib/archetypes/<name>.nomo`` on demand; None when it does not exist."""
        if import_path_problem(name) is not None or "/" in name:
            return None  # not a file name; the checker reports the unknown archetype
        location = _std_location(f"std/archetypes/{name}")
        if location.path is None or not _is_file(location.path):
            return None
        if location.name not in self._done:
            text = _read(location.path)
            if text is None:
                return None
            self._visit(SourceFile(location.name, text), location, implicit=True)
        return next((f for f in self.program.files if f.source.name == location.name), None)

    def _visit(self, source: SourceFile, location: _Location, implicit: bool) -> None:
        self._stack.append(location.name)
        outcome = parse_module(source)
        self.program.diagnostics.extend(outcome.diagnostics)
        if outcome.module is not None:
            for statement in outcome.module.statements:
                if isinstance(statement, ast.Import):
                    self._follow(statement, source, location)
        self._stack.pop()
        self._done.add(location.name)
        self.program.files.append(LoadedFile(source, outcome.module, implicit))

    def _follow(self, statement: ast.Import, importer: SourceFile, location: _Location) -> None:
        malformed = import_path_problem(statement.path)
        if malformed is not None:
            self._report(importer, "NMO211", statement.span, malformed)
            return
        if not self.policy.files and not statement.path.startswith(STD_PREFIX):
            self._report(
                importer,
                "NMO205",
                statement.span,
                f"cannot import {statement.path!r} here: only standard-library imports "
                '("std/...") are allowed',
                self.policy.refusal_help,
            )
            return
        target = resolve_import(statement.path, location)
        if target is None or target.path is None or not _is_file(target.path):
            self._report(importer, "NMO205", statement.span, _missing(statement.path, location))
            return
        if target.name in self._stack:
            cycle = [*self._stack[self._stack.index(target.name) :], target.name]
            self._report(
                importer,
                "NMO206",
                statement.span,
                "import cycle: " + " -> ".join(cycle),
                "remove one of these imports; shared declarations can move to a third file",
            )
            return
        if target.name in self._done:
            return
        text = _read(target.path)
        if text is None:
            self._report(importer, "NMO205", statement.span, f"cannot read {statement.path!r}")
            return
        self._visit(SourceFile(target.name, text), target, implicit=False)

    def _report(
        self, source: SourceFile, code: str, span: Span, message: str, help_text: str | None = None
    ) -> None:
        self.program.diagnostics.append(make_diagnostic(source, code, span, message, help_text))


def import_path_problem(written: str) -> str | None:
    """Why an import path can name no file at all (checked before the disk is asked), or None."""
    if not written.strip():
        return 'an import needs a path: `import "std/packs/business_hours"`'
    if len(written) > MAX_IMPORT_CHARS:
        return f"this import path has {len(written):,} characters, more than the {MAX_IMPORT_CHARS:,} allowed"
    if any(unicodedata.category(char) == "Cc" for char in written):
        return "an import path cannot hold control characters (such as NUL)"
    longest = max(written.split("/"), key=len)
    if len(longest) + len(".nomo") > MAX_NAME_CHARS:
        return (
            f"a part of this import path has {len(longest):,} characters, more than a file "
            f"name may have ({MAX_NAME_CHARS - len('.nomo')} before `.nomo`)"
        )
    return None


def resolve_import(written: str, importer: _Location) -> _Location | None:
    """Where an import points: a stable display name and a real path."""
    if not written.strip():
        return None
    if written.startswith(STD_PREFIX):
        return _std_location(written)
    relative = written if written.endswith(".nomo") else written + ".nomo"
    name = posixpath.normpath(posixpath.join(posixpath.dirname(importer.name), relative))
    try:
        if importer.path is None:
            return _Location(name, Path(relative).resolve())
        return _Location(name, (importer.path.parent / relative).resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a path the OS refuses
        return _Location(name, None)


def _std_location(written: str) -> _Location:
    inner = written[len(STD_PREFIX) :]
    inner = inner if inner.endswith(".nomo") else inner + ".nomo"
    normal = posixpath.normpath(inner)
    if normal.startswith("..") or posixpath.isabs(normal):
        return _Location(STD_PREFIX + normal, None)
    return _Location(STD_PREFIX + normal, stdlib_dir() / normal)


def _missing(written: str, location: _Location) -> str:
    if written.startswith(STD_PREFIX):
        return f"the standard library has no {written!r}"
    return f"cannot find {written!r} (relative to {location.name!r})"


def _is_file(path: Path) -> bool:
    """``path.is_file()``, with every refusal of the OS (too long, no access) as False."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def display_name(path: Path) -> str:
    """The stable name of a root file: as given when relative, else its base name."""
    return path.as_posix() if not path.is_absolute() else path.name


def load_program(request: CompileRequest) -> LoadedProgram:
    """Load the root, its imports, and the stdlib files of archetypes contracts name."""
    loader = Loader(request)
    program = loader.load_root(request.source, request.path)
    for name in _undeclared_archetypes(program):
        loader.load_std_archetype(name)
    return program


def _undeclared_archetypes(program: LoadedProgram) -> list[str]:
    declared: set[str] = set()
    named: list[str] = []
    for loaded in program.files:
        for statement in loaded.module.statements if loaded.module else ():
            if isinstance(statement, ast.ArchetypeDecl):
                declared.add(statement.name.text)
            elif isinstance(statement, ast.ContractDecl):
                named.extend(
                    item.name.text
                    for item in statement.items
                    if isinstance(item, ast.ContractArchetype)
                )
    return sorted(set(named) - declared)
