"""The language server: a shell over the compiler for editors (``nomo lsp``).

Every module here is a pure function of the compiler's public records
(``analysis.py`` runs the pipeline); ``server.py`` alone speaks the protocol,
through pygls. The compiler never imports this package.
"""
