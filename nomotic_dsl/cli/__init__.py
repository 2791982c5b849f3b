"""The ``nomo`` command line: a thin shell over the pipeline and the runtime."""
