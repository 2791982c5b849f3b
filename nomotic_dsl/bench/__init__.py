"""Benchmarks of the compiler and the runtime against hand-written floors (``nomo bench``)."""
