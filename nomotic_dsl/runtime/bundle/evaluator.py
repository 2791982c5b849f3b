"""Turning verified evaluator source into a live module, the only place code is run.

Input: the text of ``policy_evaluator.py`` (from a verified bundle, or straight
from the code generator when running a ``.nomo`` file) and the specs it must
carry. Output: a fresh module object exposing ``SPECS``, ``evaluate(state)``
and ``Monitor``. Stage: bundle loading / runtime.

The module is compiled with a real filename
(``<bundle:NAME>/policies/<i>/policy_evaluator.py``)
registered in ``linecache`` so tracebacks show generated lines, and executed
in a new module namespace that is never put in ``sys.modules``: two bundles,
or two revisions of one, never share globals.
"""

from __future__ import annotations

import linecache
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from nomotic_dsl.ir import InvariantSpec
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.interpreter import InvariantResult, Observation

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


class PolicyMonitor(Protocol):
    """A streaming monitor made by a generated module's ``Monitor()``."""

    def observe(self, observation: Observation) -> list[InvariantResult]:
        """Take one observation; return every invariant's result after it."""
        ...

    def results(self) -> list[InvariantResult]:
        """Every invariant's result on the observations so far."""
        ...

    def set_drift(self, scores: Mapping[str, float] | None) -> None:
        """Set the drift scores drift invariants read."""
        ...

    def export_state(self) -> dict[str, Any]:
        """Everything the monitor holds, as JSON-clean data (a checkpoint)."""
        ...

    def import_state(self, state: Mapping[str, Any]) -> None:
        """Continue from ``export_state()`` data; StateError naming the field when invalid."""
        ...


def evaluator_filename(bundle_name: str, member: str = "policy_evaluator.py") -> str:
    """The filename generated code is compiled under, shown in tracebacks."""
    return f"<bundle:{bundle_name}>/{member}"


def compile_evaluator(source: str, filename: str) -> types.CodeType:
    """Compile generated source; a syntax error is a refusal, not a crash."""
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise BundleError(f"{filename} does not compile: {exc}") from None


def instantiate_evaluator(
    source: str, filename: str, expected_specs: Sequence[InvariantSpec]
) -> types.ModuleType:
    """Compile and run generated source in a fresh module; its SPECS must match."""
    code = compile_evaluator(source, filename)
    module = types.ModuleType(_module_name(filename))
    module.__file__ = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        raise BundleError(f"{filename} failed while loading: {type(exc).__name__}: {exc}") from None
    check_module_interface(module, filename)
    check_module_specs(module, expected_specs, filename)
    return module


def check_module_interface(module: types.ModuleType, filename: str) -> None:
    """The generated module offers SPECS, evaluate and Monitor."""
    for name in ("SPECS", "evaluate", "Monitor"):
        if not hasattr(module, name):
            raise BundleError(f"{filename} does not define {name}")
    if not callable(module.evaluate) or not callable(module.Monitor):
        raise BundleError(f"{filename}: evaluate and Monitor must be callable")


def check_module_specs(
    module: types.ModuleType, expected: Sequence[InvariantSpec], filename: str
) -> None:
    """The module's SPECS are the specs the manifest vouches for, in order."""
    try:
        actual = tuple(_as_spec(item) for item in module.SPECS)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{filename}: SPECS are malformed: {exc}") from None
    if actual != tuple(expected):
        raise BundleError(f"{filename}: SPECS differ from specs.json")


def _as_spec(item: Any) -> InvariantSpec:
    if isinstance(item, InvariantSpec):
        return item
    if isinstance(item, Mapping):
        return InvariantSpec.from_dict(item)
    raise TypeError(f"a spec must be an InvariantSpec or a dict, not {type(item).__name__}")


def _module_name(filename: str) -> str:
    return "nomo_bundle_" + _UNSAFE_NAME_CHARS.sub("_", filename)
