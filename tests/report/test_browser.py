"""The report page rendered by a real browser: headless Chromium from Debian's packages.

Marked slow (it starts a browser) but run in CI: ``.ci/run`` installs Chromium when it is
missing; the tests install it themselves as root, and skip, loudly, only without apt-get.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.policytest.helpers import ROOT, nomo
from tests.report.browser import run_chromium

FLEET = ROOT / "examples" / "fleet"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "fleet.html"
    result = nomo(
        "report", str(FLEET / "policy.nomo"), "--trace", str(FLEET / "trace.jsonl"), "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
def test_chromium_builds_the_page_with_every_chart(page: Path, tmp_path: Path) -> None:
    result = run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert dom.count("<svg") == 8  # five invariants and three drift charts
    assert dom.count("<polyline") >= 8
    assert "Agent etl-pipeline" in dom and "Incidents" in dom


@pytest.mark.slow
def test_screenshot_of_the_report(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = run_chromium(
        page, tmp_path / "profile", "--window-size=1100,1500", f"--screenshot={shot}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1100, 1500)
    # A page of text and charts compresses far worse than a blank one (a few KB).
    assert len(data) > 60_000, len(data)
