"""Code generation: InvariantSpecs -> a Python evaluator module built from Jinja2 templates.

``generate_module`` renders the module, ``load_generated`` compiles and runs it
under a real filename. Generated modules import only the standard library and
``nomotic_dsl.runtime``.
"""

from nomotic_dsl.compiler.codegen.context import SPEC_VERSION
from nomotic_dsl.compiler.codegen.emit import (
    GeneratedModule,
    SourceSpan,
    generate_module,
    load_generated,
)
from nomotic_dsl.compiler.codegen.environment import make_environment
from nomotic_dsl.compiler.codegen.filters import UnsafeValueError, pyident, pyrepr

__all__ = [
    "SPEC_VERSION",
    "GeneratedModule",
    "SourceSpan",
    "UnsafeValueError",
    "generate_module",
    "load_generated",
    "make_environment",
    "pyident",
    "pyrepr",
]
