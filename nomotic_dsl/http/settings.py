"""Configuration of the HTTP API: from environment variables and ``nomo serve`` options.

Input: the process environment and command-line values. Output: one frozen
``ApiSettings``. Stage: shell (the HTTP API), before the app is built.

The write token and the store location (a ``postgresql://`` URL may hold a
password) are held in fields excluded from ``repr`` so that printing or
logging the settings never shows them (``store_label`` is the location without
its password); the signing key is loaded once, when the
settings are built, so a bad key file stops the server at start-up instead of
failing the first write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from nacl.signing import SigningKey

from nomotic_dsl.runtime.bundle.errors import KeyFileError
from nomotic_dsl.runtime.bundle.keys import key_id, load_signing_key
from nomotic_dsl.runtime.contracts.backend import (
    ENV_DB,
    PoolSettings,
    StoreLocation,
    redact,
    store_location,
)

DEFAULT_DB_PATH = Path("nomo.db")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Seconds a client has to send its request line and headers, and then its body.
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 20.0
# Compiles of request source (POST /v1/check, POST /v1/contracts with "source")
# at once; one more is answered 503. Compiling is CPU work, so more than the
# machine's cores only makes every request slower.
DEFAULT_MAX_CONCURRENT_CHECKS = max(1, os.cpu_count() or 1)

ENV_TOKEN = "NOMO_API_TOKEN"
ENV_READ_TOKEN_REQUIRED = "NOMO_API_READ_TOKEN_REQUIRED"
ENV_SIGNING_KEY = "NOMO_API_SIGNING_KEY"
ENV_MAX_BODY_BYTES = "NOMO_API_MAX_BODY_BYTES"
ENV_DB_PATH = "NOMO_API_DB"
ENV_HEADER_TIMEOUT = "NOMO_API_HEADER_TIMEOUT"
ENV_BODY_TIMEOUT = "NOMO_API_BODY_TIMEOUT"
ENV_MAX_CONCURRENT_CHECKS = "NOMO_API_MAX_CONCURRENT_CHECKS"

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class SettingsError(ValueError):
    """The configuration cannot run a server; the message never quotes a secret."""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Everything ``create_app`` needs to know about its deployment.

    ``write_token`` None means no token is configured: every write is then
    refused with 401, and the service is read-only.
    """

    db_path: StoreLocation = field(default=DEFAULT_DB_PATH, repr=False)
    pool: PoolSettings = field(default_factory=PoolSettings)
    write_token: str | None = field(default=None, repr=False)
    read_token_required: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    signing_key: SigningKey | None = field(default=None, repr=False)
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_concurrent_checks: int = DEFAULT_MAX_CONCURRENT_CHECKS

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SettingsError("; ".join(problems))

    def problems(self) -> list[str]:
        """Every reason these settings cannot serve requests."""
        problems: list[str] = []
        if self.write_token is not None and not self.write_token.strip():
            problems.append(f"{ENV_TOKEN} is set but empty")
        if self.read_token_required and self.write_token is None:
            problems.append(f"reads require a token, but {ENV_TOKEN} is not set")
        if self.max_body_bytes < 1:
            problems.append("the maximum request body size must be at least 1 byte")
        for name, seconds in (
            ("header timeout", self.header_timeout),
            ("body timeout", self.body_timeout),
        ):
            if not 0 < seconds <= 3600:
                problems.append(f"the {name} must be more than 0 and at most 3600 seconds")
        if self.max_concurrent_checks < 1:
            problems.append("the number of concurrent checks must be at least 1")
        return problems

    @property
    def store_label(self) -> str:
        """The store to print: the file, or the URL without its password."""
        return redact(self.db_path)

    @property
    def signer(self) -> str:
        """The ``signed_by`` identity of contracts this server seals ("" when it has no key)."""
        if self.signing_key is None:
            return ""
        return f"nomo-api:{key_id(self.signing_key.verify_key)}"

    def with_db(self, db_path: StoreLocation) -> ApiSettings:
        """The same settings with another store (a file or a URL)."""
        return replace(self, db_path=db_path)


def settings_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    db_path: StoreLocation | None = None,
    read_token_required: bool | None = None,
) -> ApiSettings:
    """Settings from ``environ`` (default ``os.environ``); explicit arguments win over it.

    The store is ``db_path``, else NOMO_API_DB (the server's own), else NOMO_DB
    (shared with ``nomo contract``), else ``nomo.db``.
    """
    env = os.environ if environ is None else environ
    token = env.get(ENV_TOKEN)
    named = env.get(ENV_DB_PATH) or env.get(ENV_DB)
    try:
        pool = PoolSettings.from_env(env)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return ApiSettings(
        db_path=db_path or (store_location(named) if named else DEFAULT_DB_PATH),
        pool=pool,
        write_token=token,
        read_token_required=bool(read_token_required) or _env_flag(env, ENV_READ_TOKEN_REQUIRED),
        max_body_bytes=_env_int(env, ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
        signing_key=_env_signing_key(env),
        header_timeout=_env_seconds(env, ENV_HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT),
        body_timeout=_env_seconds(env, ENV_BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT),
        max_concurrent_checks=_env_int(
            env, ENV_MAX_CONCURRENT_CHECKS, DEFAULT_MAX_CONCURRENT_CHECKS, "compiles"
        ),
    )


def _env_flag(env: Mapping[str, str], name: str) -> bool:
    word = env.get(name, "").strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise SettingsError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, not {word!r}")


def _env_int(env: Mapping[str, str], name: str, default: int, unit: str = "bytes") -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of {unit}, not {text!r}") from None


def _env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {text!r}") from None
    if value != value:  # NaN
        raise SettingsError(f"{name} must be a number of seconds, not {text!r}")
    return value


def _env_signing_key(env: Mapping[str, str]) -> SigningKey | None:
    path = env.get(ENV_SIGNING_KEY, "").strip()
    if not path:
        return None
    try:
        return load_signing_key(path)
    except KeyFileError as exc:
        raise SettingsError(f"{ENV_SIGNING_KEY}: {exc}") from None
