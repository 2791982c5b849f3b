"""The compiler: .nomo text -> AST -> checked program -> spec IR -> generated module -> bundle.

Stages are modules (``syntax``, ``semantics``, ``lower``, ``codegen`` with
``generate``, ``seal``), listed in order by ``pipeline.STAGES``. The compiler
may import the IR and the runtime's bundle format; the runtime never imports
anything from here.
"""
