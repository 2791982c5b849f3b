"""The one Jinja2 environment that renders generated modules, in production and in tests.

Output: an ``Environment`` loading ``nomotic_dsl/codegen/templates`` with
undefined names as errors, no HTML escaping (the output is Python, and every
value passes ``pyrepr`` instead) and whitespace control that lets templates
produce canonical code without running a formatter.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from nomotic_dsl.compiler.codegen.filters import code_lines, pyident, pyrepr


def make_environment() -> Environment:
    """The code generator's environment, with the ``pyrepr``, ``pyident`` and ``code_lines`` filters."""
    environment = Environment(
        loader=PackageLoader("nomotic_dsl.compiler.codegen", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["pyrepr"] = pyrepr
    environment.filters["pyident"] = pyident
    environment.filters["code_lines"] = code_lines
    return environment
