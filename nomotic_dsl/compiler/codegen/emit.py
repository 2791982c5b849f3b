"""Rendering and loading generated evaluator modules.

Stage: InvariantSpecs -> ``GeneratedModule`` (Python source text and a map
from generated lines back to invariants). ``load_generated`` turns source into
a live module, compiled under a real filename so tracebacks point into it.
"""

from __future__ import annotations

import linecache
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Template

from nomotic_dsl.compiler.codegen.context import ModuleView, build_module_view
from nomotic_dsl.compiler.codegen.environment import make_environment
from nomotic_dsl.compiler.codegen.filters import pyident
from nomotic_dsl.compiler.gcpause import collector_paused
from nomotic_dsl.ir.spec import InvariantSpec

TEMPLATE_NAME = "evaluator.py.jinja"


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """Lines ``first_line``..``last_line`` (1-based, inclusive) evaluate ``invariant_id``."""

    invariant_id: str
    first_line: int
    last_line: int


@dataclass(frozen=True, slots=True)
class GeneratedModule:
    """A generated evaluator: its source text and where each invariant lives in it."""

    module_name: str
    source_digest: str
    source: str
    source_map: tuple[SourceSpan, ...]

    def invariant_at(self, line: int) -> str | None:
        """The invariant whose code holds generated ``line``, if any."""
        for span in self.source_map:
            if span.first_line <= line <= span.last_line:
                return span.invariant_id
        return None


def generate_module(
    specs: Iterable[InvariantSpec | Mapping[str, Any]], *, module_name: str, source_digest: str
) -> GeneratedModule:
    """Generate the evaluator module for ``specs`` (ValueError naming every invalid spec).

    The output depends only on the specs, their order (results come back in
    that order) and the two names given: no time, path or set order.
    """
    # The view-model and the rendered text are many small objects, none in a cycle.
    with collector_paused():
        view = build_module_view(specs, module_name=module_name, source_digest=source_digest)
        source = _template().render(module=view)
        return GeneratedModule(module_name, source_digest, source, _source_map(view, source))


@cache
def _template() -> Template:
    return make_environment().get_template(TEMPLATE_NAME)


def _source_map(view: ModuleView, source: str) -> tuple[SourceSpan, ...]:
    """Each invariant's function, from its ``def`` line to the last line before the next statement."""
    lines = source.splitlines()
    starts = {
        f"def {pyident(inv.invariant_id, inv.index)}(": inv.invariant_id for inv in view.invariants
    }
    spans: list[SourceSpan] = []
    for number, line in enumerate(lines, start=1):
        owner = starts.get(line[: line.find("(") + 1]) if line.startswith("def ") else None
        if owner is None:
            continue
        last = number
        while last < len(lines) and (not lines[last] or lines[last][0] in " )"):
            last += 1
        while not lines[last - 1].strip():
            last -= 1
        spans.append(SourceSpan(owner, number, last))
    return tuple(spans)


def load_generated(
    source: str, filename: str, module_name: str = "nomotic_generated"
) -> types.ModuleType:
    """Compile and execute generated ``source`` as a fresh module named ``module_name``.

    ``filename`` should name where the source came from (``<bundle>/policy_evaluator.py``);
    the source is registered with ``linecache`` so tracebacks show its lines.
    The module is not added to ``sys.modules``.
    """
    code = compile(source, filename, "exec", dont_inherit=True)
    module = types.ModuleType(module_name)
    module.__file__ = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(code, module.__dict__)
    return module
