"""Benchmarks for generated evaluators, streaming monitors, the compiler and bundles (``python -m bench``)."""
