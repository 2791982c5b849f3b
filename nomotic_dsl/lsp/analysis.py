"""One open document, compiled exactly as ``nomo check`` compiles it, and its names.

Input: the document's text, where it lives on disk (None for an unsaved
buffer) and the client's position encoding. Output: ``Analysis``: the
pipeline's records (loaded files, checked program, lowered program, the
public ``CompileResult`` with its diagnostics) and a table of every
declaration and every use of a name across the document and the files it
loads, which hover, definition, references, symbols and completion read.

The pipeline is the compiler's own (``pipeline.run_stages`` up to check, then
lower and ``result_of``), so diagnostics are those of ``nomo check`` for the
same file: relative imports resolve from the file's directory, the standard
library is always there. Imported files are read from disk. A document larger
than ``MAX_DOCUMENT_CHARS`` is not compiled at all: every feature answers
empty and one diagnostic says why, so no request's work grows without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic
from nomotic_dsl.compiler.lower import Lowered
from nomotic_dsl.compiler.pipeline import LOWER, CompileResult, result_of, run_stages
from nomotic_dsl.compiler.request import ALL_IMPORTS, CompileRequest, ImportPolicy
from nomotic_dsl.compiler.semantics.imports import (
    STD_PREFIX,
    LoadedFile,
    _Location,
    resolve_import,
)
from nomotic_dsl.compiler.semantics.program import CheckedProgram
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.lsp.positions import UTF16, LineIndex
from nomotic_dsl.lsp.syntax_tree import walk
from nomotic_dsl.resources import stdlib_dir

# Large enough for any hand-written policy (the shipped ones are about 1,000
# characters); small enough that compiling one stays well under a second.
MAX_DOCUMENT_CHARS = 200_000

CONSTANT, PACK, INVARIANT, ARCHETYPE, CONTRACT, FILE = (
    "constant",
    "pack",
    "invariant",
    "archetype",
    "contract",
    "file",
)
_DECLARED: dict[type[ast.Node], str] = {
    ast.ConstDecl: CONSTANT,
    ast.PackDecl: PACK,
    ast.InvariantDecl: INVARIANT,
    ast.ArchetypeDecl: ARCHETYPE,
    ast.ContractDecl: CONTRACT,
}


@dataclass(frozen=True, slots=True)
class Site:
    """A declaration of a name, or a use of one, in one file.

    ``span`` is what an editor highlights (the name; a whole ``import``
    statement for imports); ``node`` is the declaration or the using node.
    Imports and files are kind ``file``, named by the file's display name.
    """

    kind: str
    name: str
    file: str
    span: Span
    node: ast.Node
    declaration: bool


@dataclass(slots=True)
class Analysis:
    """A compiled document and the names in it and in everything it loads."""

    text: str
    name: str
    path: Path | None
    index: LineIndex
    checked: CheckedProgram | None = None
    lowered: Lowered | None = None
    result: CompileResult | None = None
    too_large: bool = False
    files: dict[str, LoadedFile] = field(default_factory=dict)
    # The first declaration of each (kind, name): the one the checker resolves uses to.
    declarations: dict[tuple[str, str], Site] = field(default_factory=dict)
    sites: list[Site] = field(default_factory=list)

    @property
    def module(self) -> ast.Module | None:
        """The document's own AST (None when it does not parse)."""
        loaded = self.files.get(self.name)
        return None if loaded is None else loaded.module

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic of the compilation, in ``nomo check``'s order."""
        return [] if self.result is None else list(self.result.diagnostics)

    def source(self, name: str) -> SourceFile | None:
        """A loaded file's source by display name."""
        loaded = self.files.get(name)
        return None if loaded is None else loaded.source

    def path_of(self, name: str) -> Path | None:
        """Where a loaded file lives on disk (None for an unsaved document)."""
        if name == self.name:
            return self.path
        if name.startswith(STD_PREFIX):
            return stdlib_dir() / name[len(STD_PREFIX) :]
        base = self.path.parent if self.path is not None else Path.cwd()
        return (base / name).resolve()

    def import_target(self, statement: ast.Import, importer: str) -> str | None:
        """The display name of the file an import in ``importer`` loads (as the loader names it)."""
        target = resolve_import(statement.path, _Location(importer, self.path_of(importer)))
        return None if target is None else target.name

    # ---- looking names up ---------------------------------------------------------

    def site_at(self, offset: int, file: str | None = None) -> Site | None:
        """The declaration or use under an offset of a file (the document by default)."""
        file = self.name if file is None else file
        found = [
            site
            for site in self.sites
            if site.file == file and site.span.start <= offset <= site.span.end
        ]
        # The narrowest wins: a constant inside an import-free rule, a name inside its declaration.
        return min(found, key=lambda s: s.span.end - s.span.start, default=None)

    def definition(self, site: Site) -> Site | None:
        """The declaration a use resolves to (a declaration resolves to itself)."""
        if site.declaration:
            return site
        return self.declarations.get((site.kind, site.name))

    def references(self, site: Site, include_declaration: bool = True) -> list[Site]:
        """Every use of the same name, across the loaded files, and its declaration."""
        target = self.definition(site) or site
        found = [
            other
            for other in self.sites
            if other.kind == target.kind
            and other.name == target.name
            and (not other.declaration or (include_declaration and other == target))
        ]
        if include_declaration and target.declaration and target not in found:
            found.insert(0, target)
        return found

    def declared(self, kind: str) -> list[Site]:
        """The declarations of one kind that uses resolve to, in dependency order."""
        return [site for (k, _), site in self.declarations.items() if k == kind]


def analyse(
    text: str,
    path: Path | None,
    *,
    name: str | None = None,
    encoding: str = UTF16,
    imports: ImportPolicy = ALL_IMPORTS,
) -> Analysis:
    """Compile a document and index its names; never raises for bad input."""
    display = name or (path.name if path is not None else "<untitled>.nomo")
    analysis = Analysis(text=text, name=display, path=path, index=LineIndex(text, encoding))
    if len(text) > MAX_DOCUMENT_CHARS:
        analysis.too_large = True
        return analysis
    request = CompileRequest(SourceFile(display, text), path, imports, 0.0)
    checked: CheckedProgram = run_stages(request, last="check")
    lowered: Lowered = LOWER.run(checked)
    analysis.checked, analysis.lowered, analysis.result = checked, lowered, result_of(lowered)
    analysis.files = {loaded.source.name: loaded for loaded in checked.loaded.files}
    _index_names(analysis)
    return analysis


def _index_names(analysis: Analysis) -> None:
    for loaded in analysis.files.values():
        if loaded.module is None:
            continue
        file = loaded.source.name
        for statement in loaded.module.statements:
            _declare(analysis, statement, file, top_level=True)
        for node in walk(loaded.module):
            _use(analysis, node, file)
    # `use NAME` names a pack when one is declared, else an invariant (as the checker does).
    analysis.sites = [_use_target(analysis, site) for site in analysis.sites]


def _use_target(analysis: Analysis, site: Site) -> Site:
    if site.kind != PACK or site.declaration or (PACK, site.name) in analysis.declarations:
        return site
    if (INVARIANT, site.name) not in analysis.declarations:
        return site
    return Site(INVARIANT, site.name, site.file, site.span, site.node, False)


def _declare(analysis: Analysis, statement: ast.Node, file: str, top_level: bool) -> None:
    kind = _DECLARED.get(type(statement))
    if kind is None:
        return
    name = _declared_name(statement)
    if name is None:
        return
    site = Site(kind, name.text, file, name.span, statement, True)
    analysis.sites.append(site)
    # Only file-level declarations are names the checker resolves uses to.
    if top_level:
        analysis.declarations.setdefault((kind, name.text), site)
    if isinstance(statement, ast.PackDecl | ast.ContractDecl):
        for item in statement.items:
            if isinstance(item, ast.InvariantDecl):
                _declare(analysis, item, file, top_level=False)


def _declared_name(node: ast.Node) -> ast.Name | None:
    if isinstance(node, ast.ContractDecl):
        return node.agent_id
    name = getattr(node, "name", None)
    return name if isinstance(name, ast.Name) else None


def _use(analysis: Analysis, node: ast.Node, file: str) -> None:
    if isinstance(node, ast.ConstRef):
        analysis.sites.append(Site(CONSTANT, node.name, file, node.span, node, False))
    elif isinstance(node, ast.UseStmt):
        analysis.sites.append(Site(PACK, node.name.text, file, node.name.span, node, False))
    elif isinstance(node, ast.ContractArchetype):
        analysis.sites.append(Site(ARCHETYPE, node.name.text, file, node.name.span, node, False))
    elif isinstance(node, ast.Import):
        target = analysis.import_target(node, file)
        if target is not None:
            analysis.sites.append(Site(FILE, target, file, node.span, node, False))
    if isinstance(node, ast.Module) and file in analysis.files:
        whole = Span(0, 0)
        site = Site(FILE, file, file, whole, node, True)
        analysis.declarations.setdefault((FILE, file), site)
