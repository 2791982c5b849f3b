"""What every contract store backend shares: its records, its errors, its row format, its location.

Input: contracts and store locations (an SQLite path or a ``postgresql://``
URL). Output: the JSON text a row holds, the records a backend returns, the
errors it raises, and a location safe to print. Stage: persistence, below
``store.py`` (the store logic) and beside its backends (SQLite in
``store.py``, PostgreSQL in ``postgres.py``), which import this module and
never each other.

A location is printed only through ``redact``: a password in a URL (the
``user:password@`` part, or a ``password=`` parameter) becomes ``***``, and
``scrub`` removes it from any message a database driver returns.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

from nomotic_dsl.ir.contract import BehavioralContract

StoreLocation = str | Path
Number = TypeVar("Number", int, float)
URL_SCHEMES = ("postgresql://", "postgres://")
REDACTED = "***"
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)

ENV_DB = "NOMO_DB"
ENV_POOL_MIN = "NOMO_DB_POOL_MIN"
ENV_POOL_MAX = "NOMO_DB_POOL_MAX"
ENV_TIMEOUT = "NOMO_DB_TIMEOUT"


class VersionConflict(ValueError):
    """A contract whose version is not greater than the agent's latest stored version."""

    def __init__(self, agent_id: str, version: int, latest: int) -> None:
        self.agent_id = agent_id
        self.version = version
        self.latest = latest
        super().__init__(
            f"agent {agent_id!r}: version {version} must be greater than the latest "
            f"stored version {latest}"
        )


class StoreSchemaError(sqlite3.DatabaseError):
    """A store written by a newer version of this package (or one this version cannot read)."""


class StoreUnavailable(RuntimeError):
    """The store's database cannot be reached or used now; one line, never a password.

    The HTTP API answers it with 503 and ``nomo contract`` exits 1: the request
    was fine, the database was not there for it.
    """


@dataclass(frozen=True, slots=True)
class IdempotentWrite:
    """What a stored idempotency key records: its request's digest and the version it made."""

    key: str
    fingerprint: str
    agent_id: str
    version: int


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """How a PostgreSQL store holds its connections.

    At least ``min_size`` and at most ``max_size`` connections are open; a
    request waits at most ``timeout`` seconds for one (and a new connection
    at most that long to connect) before it fails with ``StoreUnavailable``.
    """

    min_size: int = 1
    max_size: int = 10
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.max_size or self.max_size < 1:
            raise ValueError(
                f"the connection pool needs 0 <= min ({self.min_size}) <= max "
                f"({self.max_size}) and max >= 1"
            )
        if not 0 < self.timeout <= 3600:
            raise ValueError("the store timeout must be more than 0 and at most 3600 seconds")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PoolSettings:
        """NOMO_DB_POOL_MIN, NOMO_DB_POOL_MAX and NOMO_DB_TIMEOUT, defaults for those unset."""
        default = cls()
        return cls(
            min_size=_env_number(env, ENV_POOL_MIN, default.min_size, int),
            max_size=_env_number(env, ENV_POOL_MAX, default.max_size, int),
            timeout=_env_number(env, ENV_TIMEOUT, default.timeout, float),
        )


def _env_number(env: Mapping[str, str], name: str, default: Number, kind: type[Number]) -> Number:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {text!r}") from None
    if value != value:  # NaN
        raise ValueError(f"{name} must be a number, not {text!r}")
    return value


def is_database_url(location: StoreLocation | None) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL, False for a file path."""
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def store_location(text: str) -> StoreLocation:
    """A location as a user typed it: a URL stays text, anything else is a path."""
    return text if is_database_url(text) else Path(text)


def redact(location: StoreLocation | None) -> str:
    """The location to print: a path as it is, a URL without its password."""
    if location is None:
        return "memory"
    if not is_database_url(location):
        return str(location)
    assert isinstance(location, str)
    scheme, _, rest = location.partition("://")
    cut = min((rest.index(mark) for mark in "/?#" if mark in rest), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{hosts}"
    tail = _PASSWORD_PARAMETER.sub(rf"\1{REDACTED}", tail)
    return f"{scheme}://{authority}{tail}"


def secrets_of(location: StoreLocation | None) -> list[str]:
    """The passwords a URL holds, as written and decoded, for ``scrub``."""
    if not is_database_url(location):
        return []
    assert isinstance(location, str)
    found: list[str] = []
    userinfo = location.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found.extend(match.group(2) for match in _PASSWORD_PARAMETER.finditer(location))
    return sorted({variant for secret in found if secret for variant in _spellings(secret)})


def _spellings(secret: str) -> set[str]:
    return {secret, unquote(secret), quote(unquote(secret), safe="")}


def scrub(message: str, location: StoreLocation | None) -> str:
    """``message`` on one line, with every password of ``location`` replaced by ``***``."""
    line = " ".join(message.split())
    for secret in sorted(secrets_of(location), key=len, reverse=True):
        line = line.replace(secret, REDACTED)
    return line


def encode_contract(contract: BehavioralContract) -> str:
    """The row body: the contract's canonical JSON, signature included."""
    return contract.record_text()


# Row bodies up to this length are decoded once each (the last DECODED_CACHE_SIZE kept).
DECODED_CACHE_MAX_CHARS = 16 * 1024
DECODED_CACHE_SIZE = 2048


def decode_contract(body: str) -> BehavioralContract:
    """The contract a row body holds.

    A contract is immutable and its decoding a pure function of the body's
    text, so a body read again (the active contract, read by every client)
    is decoded once: the same text always gives back an equal contract.
    Large bodies are decoded every time, so the cache stays a few MB.
    """
    if len(body) <= DECODED_CACHE_MAX_CHARS:
        return _decoded(body)
    return BehavioralContract.from_dict(json.loads(body))


@functools.lru_cache(maxsize=DECODED_CACHE_SIZE)
def _decoded(body: str) -> BehavioralContract:
    return BehavioralContract.from_dict(json.loads(body))
