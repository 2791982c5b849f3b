"""The compiler pipeline: every stage in order, and the drivers that run it.

``STAGES`` lists the stages; each is a typed, pure function from one record
to the next, and none calls the next, so a test can run any of them alone:

    parse     CompileRequest  -> LoadedProgram    (semantics/imports.py)
    check     LoadedProgram   -> CheckedProgram   (semantics/checker.py)
    lower     CheckedProgram  -> Lowered          (lower.py)
    generate  Lowered         -> GeneratedPolicy  (generate.py)
    seal      GeneratedPolicy -> SealedBundle     (seal.py)

A stage given a record with errors passes them on and produces nothing of its
own, so the loop has no special cases. The drivers (``compile_source``,
``compile_file``, ``build_bundle``) make the request, run the stages up to the
one they need, and turn the record into the public result.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from nomotic_dsl.compiler.diagnostics import (
    Diagnostic,
    DiagnosticBag,
    cap_per_file,
    count_problems,
    render_all,
)
from nomotic_dsl.compiler.gcpause import collector_paused
from nomotic_dsl.compiler.generate import (
    BundleContents,
    GeneratedPolicy,
    bundle_contents,
    generate_policy,
)
from nomotic_dsl.compiler.limits import MAX_DIAGNOSTICS_PER_FILE, MAX_SOURCE_CHARS
from nomotic_dsl.compiler.lower import Lowered, lower_program
from nomotic_dsl.compiler.request import (
    ALL_IMPORTS,
    BuildOptions,
    CompileRequest,
    ImportPolicy,
    source_date_epoch,
)
from nomotic_dsl.compiler.seal import (
    KeySource,
    SealedBundle,
    seal_policy,
    signing_keys_from,
    write_bundle_file,
)
from nomotic_dsl.compiler.semantics import check_program, display_name, load_program
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.ir import ArchetypePrior, BehavioralContract, InvariantSpec
from nomotic_dsl.ir.spec import SPEC_VERSION
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.evaluator import instantiate_evaluator
from nomotic_dsl.runtime.bundle.verify import format_time

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True, slots=True)
class Stage(Generic[In, Out]):
    """One named, pure step of the pipeline."""

    name: str
    run: Callable[[In], Out]


PARSE: Stage[CompileRequest, Any] = Stage("parse", load_program)
CHECK: Stage[Any, Any] = Stage("check", check_program)
LOWER: Stage[Any, Lowered] = Stage("lower", lower_program)
GENERATE: Stage[Lowered, GeneratedPolicy] = Stage("generate", generate_policy)
SEAL: Stage[GeneratedPolicy, SealedBundle] = Stage("seal", seal_policy)
STAGES: tuple[Stage[Any, Any], ...] = (PARSE, CHECK, LOWER, GENERATE, SEAL)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)


def run_stages(given: Any, *, first: str = "parse", last: str = "seal") -> Any:
    """Run the stages from ``first`` to ``last`` (inclusive) on ``given``."""
    start, stop = STAGE_NAMES.index(first), STAGE_NAMES.index(last)
    value = given
    for stage in STAGES[start : stop + 1]:
        value = stage.run(value)
    return value


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
    # The lower stage's record, from which generate and seal continue.
    program: Lowered | None = field(default=None, repr=False, compare=False)
    # Diagnostics past MAX_DIAGNOSTICS_PER_FILE in a file: counted, not listed (NMO198/NMO199).
    omitted_errors: int = 0
    omitted_warnings: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that are errors."""
        return [item for item in self.diagnostics if item.is_error]

    @property
    def counts(self) -> tuple[int, int]:
        """(errors, warnings) found, those the per-file cap left out included."""
        return count_problems(self.diagnostics, self.omitted_errors, self.omitted_warnings)

    def render(self) -> str:
        """Every diagnostic in full form (source line and caret)."""
        return render_all(self.diagnostics, self.sources)

    def to_json(self) -> dict[str, Any]:
        """What ``nomo compile`` prints: specs, contracts and archetypes under a spec version."""
        return {
            "spec_version": SPEC_VERSION,
            "invariants": [spec.to_dict() for spec in self.invariants],
            "contracts": [contract.to_dict() for contract in self.contracts],
            "archetypes": [prior.to_dict() for prior in self.archetypes],
        }


def result_of(lowered: Lowered) -> CompileResult:
    """The public result of a lowered program, diagnostics in file and position order."""
    files = lowered.loaded.sources
    order = {name: index for index, name in enumerate(files)}
    ordered = sorted(
        lowered.diagnostics,
        key=lambda d: (order.get(d.file, -1), d.span.start, d.span.end, d.code, d.message),
    )
    capped = cap_per_file(ordered, MAX_DIAGNOSTICS_PER_FILE)
    diagnostics = list(capped.diagnostics)
    root = lowered.loaded.request.source.name
    sources = {name: source.text for name, source in files.items()}
    if not lowered.ok:
        return CompileResult(
            False,
            diagnostics,
            sources=sources,
            root=root,
            program=lowered,
            omitted_errors=capped.omitted_errors,
            omitted_warnings=capped.omitted_warnings,
        )
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
        program=lowered,
        omitted_errors=capped.omitted_errors,
        omitted_warnings=capped.omitted_warnings,
    )


def compile_request(request: CompileRequest) -> CompileResult:
    """Run parse, check and lower for a request."""
    with collector_paused():
        lowered: Lowered = run_stages(request, last="lower")
        return result_of(lowered)


def compile_source(
    text: str,
    filename: str = "<input>",
    *,
    imports: ImportPolicy = ALL_IMPORTS,
    created_at: float | None = None,
) -> CompileResult:
    """Compile .nomo text; relative imports resolve from the current directory.

    ``imports`` limits what the text may import (the HTTP API passes
    ``STDLIB_ONLY``); ``created_at`` stamps contracts, defaulting to
    ``SOURCE_DATE_EPOCH`` or 0.
    """
    stamp = source_date_epoch() if created_at is None else created_at
    return compile_request(CompileRequest(SourceFile(filename, text), None, imports, stamp))


def compile_file(path: str | os.PathLike[str], *, created_at: float | None = None) -> CompileResult:
    """Compile a .nomo file; an unreadable file is reported as a diagnostic."""
    given = Path(path)
    name = display_name(given)
    try:
        text = _read_policy(given)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        source = SourceFile(name, "")
        bag = DiagnosticBag(source)
        if isinstance(error, SourceTooLarge):
            bag.report("NMO110", Span(0, 0), f"cannot read {name!r}: {error}")
            return CompileResult(False, list(bag.items), sources={}, root=name)
        if isinstance(error, UnicodeDecodeError):
            byte = error.object[error.start]
            reason = f"not UTF-8 text (byte 0x{byte:02x} at offset {error.start})"
        else:
            reason = getattr(error, "strerror", None) or str(error)
        bag.report("NMO205", Span(0, 0), f"cannot read {name!r}: {reason}")
        return CompileResult(False, list(bag.items), sources={}, root=name)
    stamp = source_date_epoch() if created_at is None else created_at
    request = CompileRequest(SourceFile(name, text), given.resolve(), ALL_IMPORTS, stamp)
    return compile_request(request)


class SourceTooLarge(ValueError):
    """A policy file larger than any policy may be, refused before it is read."""


def _read_policy(path: Path) -> str:
    """A policy file's text, read only when it is a regular file of a size a policy can have."""
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    limit = MAX_SOURCE_CHARS * 4  # UTF-8 takes at most four bytes a character
    if status.st_size > limit:
        raise SourceTooLarge(
            f"the file has {status.st_size:,} bytes, more than the {limit:,} allowed"
        )
    with path.open("rb") as stream:
        return stream.read(limit + 1).decode("utf-8")


FOLDER_ROOT_NAME = "__folder__.nomo"
_FOLDER_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}\.nomo")


def folder_root_text(folder: Path) -> str:
    """The root a folder compiles as: one import per ``*.nomo`` file in it, in name order.

    Only files directly in the folder are imported (they may import others);
    a file name outside ``[A-Za-z0-9_.+-]`` is refused, as is a file named like
    the synthesised root itself. ValueError names the problem.
    """
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.suffix == ".nomo")
    except OSError as exc:
        raise ValueError(f"cannot read folder {folder}: {exc.strerror or exc}") from None
    if not names:
        raise ValueError(f"folder {folder} holds no .nomo file")
    for name in names:
        if name == FOLDER_ROOT_NAME or not _FOLDER_FILE.fullmatch(name):
            raise ValueError(
                f"{folder / name}: a folder's .nomo files must be named with letters, digits "
                f"and _ . + - (and not {FOLDER_ROOT_NAME})"
            )
    lines = [
        f"# Every .nomo file of {folder.name or '.'}, compiled as one program.",
        *(f'import "./{name}"' for name in names),
    ]
    return "\n".join(lines) + "\n"


def compile_folder(
    path: str | os.PathLike[str], *, created_at: float | None = None
) -> CompileResult:
    """Compile every ``*.nomo`` file of a folder as one program (one namespace, as imports do).

    The program's root is a synthesised file, ``__folder__.nomo`` in the
    folder, that imports each file; it is stored with the sources of a bundle
    so the bundle records which files were part of the build.
    """
    folder = Path(path)
    root = folder / FOLDER_ROOT_NAME
    name = display_name(root)
    try:
        text = folder_root_text(folder)
    except ValueError as error:
        source = SourceFile(name, "")
        bag = DiagnosticBag(source)
        bag.report("NMO205", Span(0, 0), str(error))
        return CompileResult(False, list(bag.items), sources={}, root=name)
    stamp = source_date_epoch() if created_at is None else created_at
    request = CompileRequest(SourceFile(name, text), root.resolve(), ALL_IMPORTS, stamp)
    return compile_request(request)


def folder_bundle_name(folder: Path) -> str:
    """A folder's default bundle name: its own name, in the characters a bundle name allows."""
    cleaned = re.sub(r"[^A-Za-z0-9._:@-]", "-", folder.resolve().name).strip("-._")
    return cleaned[:128] or "policy"


def compile_path(path: str | os.PathLike[str], *, created_at: float | None = None) -> CompileResult:
    """``compile_folder`` for a directory, ``compile_file`` for anything else."""
    if Path(path).is_dir():
        return compile_folder(path, created_at=created_at)
    return compile_file(path, created_at=created_at)


def _with_build(lowered: Lowered, options: BuildOptions) -> Lowered:
    """The same program with the build options the generate and seal stages read."""
    loaded = replace(lowered.loaded, request=replace(lowered.loaded.request, build=options))
    return replace(lowered, loaded=loaded)


def build_bundle(
    source: CompileResult | str | os.PathLike[str],
    signing_keys: KeySource | Sequence[KeySource],
    out: str | os.PathLike[str] | None = None,
    *,
    revision: int = 1,
    not_before: int | None = None,
    expires: int | None = None,
    agent: str | None = None,
    name: str | None = None,
    allow_empty: bool = False,
    now: float | None = None,
) -> bytes:
    """Compile (when given a path), generate, seal; write atomically to ``out`` when given.

    Gates that never pass on nothing: a policy with no invariant and no
    contract is refused unless ``allow_empty`` (its bundle would pass every
    trace), and so is a validity window that is empty or already over at
    ``now`` (the clock, unless given). A window that starts later is fine.
    """
    if isinstance(source, str | os.PathLike):
        if name is None and Path(source).is_dir():
            name = folder_bundle_name(Path(source))
        result = compile_path(source)
    else:
        result = source
    if not result.ok or result.program is None:
        raise BundleError("the policy has errors; run `nomo check` to see them")
    if not result.invariants and not result.contracts and not allow_empty:
        raise BundleError(
            "the policy declares no invariant and no contract, so its bundle would check "
            "nothing and pass every trace; add rules, or build it anyway with --allow-empty"
        )
    validity_problem(not_before, expires, time.time() if now is None else now)
    options = BuildOptions(
        agent=agent,
        name=name,
        signing_keys=tuple(signing_keys_from(signing_keys)),
        revision=revision,
        not_before=not_before,
        expires=expires,
    )
    sealed: SealedBundle = run_stages(_with_build(result.program, options), first="generate")
    assert sealed.data is not None  # the program had no errors
    if out is not None:
        write_bundle_file(out, sealed.data)
    return sealed.data


def validity_problem(not_before: int | None, expires: int | None, now: float) -> None:
    """Raise BundleError when the validity window is empty or over at ``now``."""
    if expires is not None and not_before is not None and expires <= not_before:
        raise BundleError(
            f"the validity window is empty: it expires at {format_time(expires)}, "
            f"not after it starts at {format_time(not_before)}"
        )
    if expires is not None and expires <= now:
        raise BundleError(
            f"the bundle would be expired when built: --expires {format_time(expires)} "
            f"is not after now ({format_time(now)})"
        )


def generated_source(result: CompileResult, agent: str | None = None) -> str:
    """The evaluator module the generate stage writes for a compiled policy."""
    if not result.ok or result.program is None:
        raise BundleError("the policy has errors; run `nomo check` to see them")
    generated: GeneratedPolicy = generate_policy(
        _with_build(result.program, BuildOptions(agent=agent))
    )
    assert generated.contents is not None
    return generated.contents.evaluator_source


def policy_evaluator(result: CompileResult, agent: str | None = None) -> ModuleType:
    """The generated evaluator of a compiled policy, loaded without a bundle."""
    contents = bundle_contents(
        result.contracts, result.invariants, result.sources, result.root, agent=agent
    )
    return instantiate_evaluator(
        contents.evaluator_source, f"<policy:{contents.name}>/policy_evaluator.py", contents.specs
    )


def policy_evaluators(result: CompileResult) -> BundleContents:
    """Every policy of a compiled program (one per contract), as a bundle would hold them."""
    if not result.ok or result.program is None:
        raise BundleError("the policy has errors; run `nomo check` to see them")
    return bundle_contents(result.contracts, result.invariants, result.sources, result.root)
