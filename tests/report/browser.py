"""Headless Chromium from Debian's packages, for tests that render a report page."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


def chromium() -> str:
    """The Chromium binary; installed with apt-get when missing, skipped loudly without apt."""
    found = shutil.which("chromium")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip(
            "LOUD SKIP: Chromium is not installed and apt-get (as root) is not available to "
            "install it; the report page was NOT rendered in a browser"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, timeout=900)
    installed = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"],
        check=False,
        env=env,
        timeout=1800,
        capture_output=True,
        text=True,
    )
    found = shutil.which("chromium")
    if not found:
        pytest.fail(f"apt-get could not install chromium: {installed.stderr[-2000:]}")
    return found


def run_chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium on ``page`` (a file URL) with the given extra arguments."""
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
