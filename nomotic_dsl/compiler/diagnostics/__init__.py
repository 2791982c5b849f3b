"""Diagnostics: the model, the code registry and the renderers."""

from nomotic_dsl.compiler.diagnostics.codes import CODES, ERROR, WARNING, CodeInfo, code_info
from nomotic_dsl.compiler.diagnostics.model import (
    Diagnostic,
    DiagnosticBag,
    make_diagnostic,
    sort_diagnostics,
)
from nomotic_dsl.compiler.diagnostics.render import (
    RENDERERS,
    render,
    render_all,
    render_concise,
    render_full,
    to_json,
    underlined,
)

__all__ = [
    "CODES",
    "ERROR",
    "RENDERERS",
    "WARNING",
    "CodeInfo",
    "Diagnostic",
    "DiagnosticBag",
    "code_info",
    "make_diagnostic",
    "render",
    "render_all",
    "render_concise",
    "render_full",
    "sort_diagnostics",
    "to_json",
    "underlined",
]
