"""The machine's PostgreSQL for the store tests: one fresh schema per test, dropped afterwards.

The server is ``NOMO_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
the PostgreSQL that these machines and CI start, with trust authentication).
A test that needs it and cannot reach it fails, naming the URL: it never
skips because the database is down. Only a missing psycopg (the
``[postgres]`` extra not installed) skips, with the reason, and not in CI,
which installs the extra.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

ENV_URL = "NOMO_TEST_POSTGRES"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    """The PostgreSQL the tests use (its default schema is never written)."""
    return os.environ.get(ENV_URL) or DEFAULT_URL


def require_psycopg() -> None:
    """Skip the test (or the module, at its top) when psycopg is not installed; fail in CI."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        message = "psycopg is not installed (pip install -e '.[test,postgres]')"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI installs it, so the PostgreSQL tests must run")
        pytest.skip(message, allow_module_level=True)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with every table in ``schema`` (libpq's ``options=-csearch_path=...``)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def admin_connection() -> Any:
    """An autocommit connection to the test server; the test fails when it is unreachable."""
    require_psycopg()
    import psycopg

    try:
        return psycopg.connect(server_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {server_url()} is not reachable ({' '.join(str(exc).split())}); "
            f"the PostgreSQL store tests need it (set {ENV_URL} to another server)"
        )


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new, empty schema's URL; the schema is dropped, with all it holds, afterwards."""
    schema = f"nomo_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with admin_connection() as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(server_url(), schema)
    finally:
        with admin_connection() as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def schema_exists(url: str) -> bool:
    """Whether the schema a ``with_search_path`` URL names is still there."""
    schema = url.rsplit("%3D", 1)[1]
    with admin_connection() as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
    return bool(row and row[0])
