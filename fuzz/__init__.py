"""Fuzzing harnesses (run from the repository root): ``python -m fuzz.front``."""
