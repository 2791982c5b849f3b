"""The front-end fuzz harness (fuzz/front.py) runs, briefly, in the suite.

With atheris installed (Linux x86_64; the ``test`` extra pulls it in), a
short coverage-guided campaign runs in a subprocess, bounded in runs and in
seconds, with a fixed seed. Without it, Hypothesis drives the same
``check_one_input`` with arbitrary bytes and mutated example policies, so the
harness's contract (no exception, only diagnostics) is still checked.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.front import MAX_INPUT_BYTES, SEED_DIRS, check_one_input

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted(p.read_bytes()[:MAX_INPUT_BYTES] for d in SEED_DIRS for p in d.rglob("*.nomo"))
HAS_ATHERIS = importlib.util.find_spec("atheris") is not None


@pytest.mark.slow
@pytest.mark.skipif(not HAS_ATHERIS, reason="atheris not installed; Hypothesis test below runs")
def test_a_short_atheris_campaign_finds_no_crash(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(SEEDS):
        (corpus / f"seed-{index}").write_bytes(seed)
    done = subprocess.run(
        [sys.executable, "-m", "fuzz.front", "-runs=4000", "-seed=1", "-max_total_time=60",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    crashes = sorted(p for p in tmp_path.iterdir() if p.name.startswith(("crash", "timeout")))
    # Issue 16 item 3 (an import name too long for the file system, or holding a NUL,
    # raised instead of giving a diagnostic) is fixed by NMO211: every crash is a finding.
    assert not crashes, ([path.name for path in crashes], done.stderr[-3000:])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done" in done.stderr, done.stderr[-2000:]


def test_the_import_names_the_campaign_used_to_find_give_a_diagnostic() -> None:
    for path in ("a" * 300 + ".nomo", "a\x00b.nomo", "/".join(["x" * 255] * 5) + ".nomo"):
        check_one_input(f'import "{path}"\n'.encode())


def _mutated(seed: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(seed)
    for position, byte in edits:
        if data:
            data[position % len(data)] = byte
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.builds(
            _mutated,
            st.sampled_from(SEEDS),
            st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6),
        ),
    )
)
def test_the_harness_contract_holds_under_hypothesis(data: bytes) -> None:
    check_one_input(data)
