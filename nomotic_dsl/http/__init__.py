"""The HTTP API: contracts, source checks and evaluation over FastAPI.

Input: HTTP requests. Output: JSON responses, and contracts stored in an
SQLite file. Stage: a thin shell over the library (routes parse, call the
service, render); ``nomo serve`` runs it.

``create_app`` is imported lazily so that ``nomo`` commands which only read
the settings (``nomo serve --help``) do not load the web stack.
"""

from __future__ import annotations

from typing import Any

from nomotic_dsl.http.settings import ApiSettings, SettingsError, settings_from_env

__all__ = ["ApiSettings", "SettingsError", "create_app", "settings_from_env"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from nomotic_dsl.http.app import create_app

        return create_app
    raise AttributeError(f"module 'nomotic_dsl.http' has no attribute {name!r}")
