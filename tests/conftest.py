"""Shared pytest options, the golden-file check, and a PostgreSQL schema per test.

``--update-golden`` rewrites golden files from the current output instead of
comparing with them. Without it, a golden file that is missing is a failure,
never a file silently created: a comparison that cannot fail proves nothing.

``postgres_url`` is a fresh schema on the machine's PostgreSQL (see
``postgres_db``), dropped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from postgres_db import fresh_schema

GoldenCheck = Callable[[str, Path], None]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (tests/cases/..., */golden/...) from the current output",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite goldens rather than compare with them."""
    return bool(request.config.getoption("--update-golden"))


def check_golden(actual: str, expected_path: Path, update: bool) -> None:
    """Compare ``actual`` with the golden file, or rewrite it under ``--update-golden``."""
    if update:
        expected_path.write_text(actual, encoding="utf-8")
        return
    if not expected_path.is_file():
        pytest.fail(f"golden file {expected_path} is missing; run pytest with --update-golden")
    expected = expected_path.read_text(encoding="utf-8")
    assert actual == expected, f"golden differs: {expected_path} (rerun with --update-golden)"


@pytest.fixture
def golden(update_golden: bool) -> GoldenCheck:
    """``golden(actual, path)``: the one golden comparison every golden test uses."""

    def compare(actual: str, expected_path: Path) -> None:
        check_golden(actual, expected_path, update_golden)

    return compare


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A ``postgresql://`` URL whose tables go into a new schema, dropped after the test."""
    with fresh_schema() as url:
        yield url
