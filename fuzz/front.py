"""Coverage-guided fuzzing of the compiler front end: parse and check arbitrary bytes.

Run from the repository root (needs ``pip install -e '.[fuzz]'``, i.e. atheris)::

    python -m fuzz.front                       # until stopped, or a crash
    python -m fuzz.front -max_total_time=300   # five minutes
    python -m fuzz.front -runs=20000 -seed=1   # what the test suite runs, shorter

Any libFuzzer option may be given. Without corpus directories the run uses
``fuzz/corpus/front/`` (not committed), seeded on first use with the ``.nomo``
files under ``examples/`` and ``stdlib/``, and grows it with the inputs that
reach new code; crashing inputs are written under ``fuzz/artifacts/``
(override with ``-artifact_prefix=``). Each input is capped at
``MAX_INPUT_BYTES``.

One input is handled as the HTTP API handles ``POST /v1/check``: the bytes
are decoded as UTF-8 (invalid sequences replaced, so the parser still sees
the rest), compiled with imports limited to the standard library, and the
diagnostics rendered as text and as JSON. The contract under test: no
exception, only diagnostics, each with a known code and a span inside the
text. ``check_one_input`` is plain Python, so the suite also drives it with
Hypothesis where atheris is not installed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "fuzz" / "artifacts"
CORPUS = ROOT / "fuzz" / "corpus" / "front"
MAX_INPUT_BYTES = 2048
SEED_DIRS = (ROOT / "examples", ROOT / "stdlib")


def check_one_input(data: bytes) -> None:
    """Compile ``data`` as request source; raise AssertionError if the contract breaks."""
    from nomotic_dsl.compiler.diagnostics import CODES
    from nomotic_dsl.compiler.diagnostics.render import render, to_json
    from nomotic_dsl.http.untrusted import compile_request_source

    text = data[:MAX_INPUT_BYTES].decode("utf-8", "replace")
    outcome = compile_request_source(text, "<fuzz>")
    sources = outcome.result.sources
    for diagnostic in outcome.diagnostics:
        assert diagnostic.code in CODES, diagnostic
    render(outcome.diagnostics, "full", sources)
    render(outcome.diagnostics, "concise", sources)
    to_json(outcome.diagnostics)
    if outcome.ok:
        assert not any(item.is_error for item in outcome.diagnostics)


def seed_corpus(directory: Path) -> Path:
    """Copy every seed ``.nomo`` file (at most MAX_INPUT_BYTES each) into ``directory``."""
    for index, path in enumerate(
        sorted(p for seed in SEED_DIRS if seed.is_dir() for p in seed.rglob("*.nomo"))
    ):
        (directory / f"seed-{index:04d}.nomo").write_bytes(path.read_bytes()[:MAX_INPUT_BYTES])
    return directory


def main(argv: Sequence[str] | None = None) -> None:
    """Run libFuzzer over ``check_one_input`` (argv as libFuzzer takes it)."""
    try:
        import atheris
    except ImportError:
        sys.exit(
            "atheris is not installed: pip install -e '.[fuzz]' (Linux x86_64 wheels for "
            "CPython 3.11-3.13); the test suite falls back to Hypothesis"
        )
    args = list(sys.argv if argv is None else [sys.argv[0], *argv])
    options = [arg for arg in args[1:] if arg.startswith("-")]
    corpora = [arg for arg in args[1:] if not arg.startswith("-")]
    if not any(arg.startswith("-max_len=") for arg in options):
        options.append(f"-max_len={MAX_INPUT_BYTES}")
    if not any(arg.startswith("-artifact_prefix=") for arg in options):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        options.append(f"-artifact_prefix={ARTIFACTS}/")
    with atheris.instrument_imports(include=["nomotic_dsl", "lark"]):
        import nomotic_dsl.compiler.pipeline
        import nomotic_dsl.http.untrusted  # noqa: F401
    if not corpora:
        CORPUS.mkdir(parents=True, exist_ok=True)
        if not any(CORPUS.iterdir()):
            seed_corpus(CORPUS)
        corpora = [str(CORPUS)]
    atheris.Setup([args[0], *options, *corpora], check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
