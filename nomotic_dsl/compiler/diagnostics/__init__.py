"""Diagnostics: the model, the code registry and the renderers."""

from nomotic_dsl.compiler.diagnostics.codes import CODES, ERROR, WARNING, CodeInfo, code_info
from nomotic_dsl.compiler.diagnostics.model import (
    CAP_CODES,
    Capped,
    Diagnostic,
    DiagnosticBag,
    cap_per_file,
    count_problems,
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
    "CAP_CODES",
    "CODES",
    "ERROR",
    "RENDERERS",
    "WARNING",
    "Capped",
    "CodeInfo",
    "Diagnostic",
    "DiagnosticBag",
    "cap_per_file",
    "code_info",
    "count_problems",
    "make_diagnostic",
    "render",
    "render_all",
    "render_concise",
    "render_full",
    "sort_diagnostics",
    "to_json",
    "underlined",
]
