"""Anti-rollback state: the highest bundle revision accepted per agent and per bundle name.

Input: a state file path and a verified manifest. Output: a refusal
(``BundleError``) for a revision that goes back, and an updated state file
after a bundle is accepted. Stage: bundle loading.

The state file is canonical JSON (format ``nomo-rollback/2``)::

    {"agents": {"<agent id>": {"manifest_sha256": "...", "name": "<bundle name>",
                               "revision": 7}},
     "format": "nomo-rollback/2",
     "names": {"<bundle name>": {"agent_id": "<agent id or null>",
                                 "manifest_sha256": "...", "revision": 7}}}

A bundle is checked against both records that apply to it: the one for its
name, and the one for its agent (bundles without a contract have no agent and
are checked by name only). A lower revision than either record holds is
refused, so a validly signed old revision cannot come back under another
bundle name (``--name support-bot-canary``) for the same agent. The same
revision is accepted again only for the very same manifest (same digest), so
a bundle re-signed or rebuilt with other content under an old number is
refused too.

A state file that does not exist is refused: failing open would let anyone
who can delete the file reset every counter. A new deployment creates it on
purpose, with ``RollbackState.initialise(path)``, ``RollbackState(path,
create=True)`` or ``nomo run --init-state``. A state file that cannot be read
is an error as well, never an empty state.

Updates take an exclusive lock on ``<state>.lock``, read the file again under
the lock, and replace it atomically (a temporary file in the same directory,
fsync, rename, fsync of the directory), so two loaders never lose each
other's update and a crash leaves the old state or the new one, never half.

Files of the previous format, ``nomo-rollback/1`` (records by bundle name
only), are still read: their records become name records, with the agent
unknown, and the next accepted bundle rewrites the file as
``nomo-rollback/2``. The agent record for an agent starts with the first
bundle of that agent accepted after the upgrade.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.keys import write_private_file
from nomotic_dsl.runtime.bundle.manifest import MAX_REVISION, Manifest, json_text_depth

STATE_FORMAT = "nomo-rollback/2"
OLD_STATE_FORMAT = "nomo-rollback/1"
# A state file is small (two records per deployed bundle); anything larger is refused.
MAX_STATE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AcceptedRevision:
    """The revision last accepted under one key (a name or an agent), and that manifest's digest.

    ``other`` is the other key of that bundle: its agent id for a name record
    (None when it had no agent, or is unknown from an old file), its name for
    an agent record.
    """

    revision: int
    manifest_sha256: str
    other: str | None = None


@dataclass(slots=True)
class Accepted:
    """Everything a state file records."""

    names: dict[str, AcceptedRevision] = field(default_factory=dict)
    agents: dict[str, AcceptedRevision] = field(default_factory=dict)


class RollbackState:
    """The accepted revisions kept in one state file chosen by the caller.

    ``create=True`` treats a missing file as empty (and the first accepted
    bundle creates it); without it, a missing file is refused.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        self.create = create

    @classmethod
    def initialise(cls, path: str | os.PathLike[str]) -> RollbackState:
        """Write an empty state file at ``path``; refuse when one is already there."""
        state = cls(path)
        with state._locked():
            if state.path.exists():
                raise BundleError(f"anti-rollback state {state.path} already exists")
            _write_state(state.path, Accepted())
        return state

    def read(self) -> Accepted:
        """Every record in the file; BundleError when it is missing (unless ``create``) or bad."""
        try:
            with open(self.path, "rb") as handle:
                raw_bytes = handle.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            if self.create:
                return Accepted()
            raise BundleError(
                f"anti-rollback state {self.path} does not exist; a missing state is refused "
                "(initialise it once for a new deployment: --init-state, or "
                "RollbackState.initialise)"
            ) from None
        except OSError as exc:
            raise BundleError(
                f"anti-rollback state {self.path} cannot be read: {exc.strerror or exc}"
            ) from None
        return _parse_state(raw_bytes, self.path)

    def accepted(self) -> dict[str, AcceptedRevision]:
        """The name records (bundle name -> accepted revision)."""
        return dict(self.read().names)

    def check(self, manifest: Manifest) -> None:
        """Refuse ``manifest`` if it would roll back what this state has accepted."""
        refuse_rollback_of(self.read(), manifest)

    def accept(self, manifest: Manifest) -> None:
        """Check again under the lock, then record ``manifest`` as accepted."""
        with self._locked():
            accepted = self.read()
            refuse_rollback_of(accepted, manifest)
            digest = manifest.sha256()
            accepted.names[manifest.name] = AcceptedRevision(
                manifest.revision, digest, manifest.agent_id
            )
            for agent in manifest.agents:
                accepted.agents[agent] = AcceptedRevision(manifest.revision, digest, manifest.name)
            _write_state(self.path, accepted)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a+b")  # noqa: SIM115 - held open for the whole update
        except OSError as exc:
            raise BundleError(
                f"cannot lock anti-rollback state {self.path}: {exc.strerror or exc}"
            ) from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def refuse_rollback_of(accepted: Accepted, manifest: Manifest) -> None:
    """Raise when ``manifest`` goes back from the record for its name or for its agent."""
    refuse_rollback(accepted.names.get(manifest.name), manifest)
    for agent in manifest.agents:
        refuse_rollback(accepted.agents.get(agent), manifest, agent=agent)


def refuse_rollback(
    previous: AcceptedRevision | None, manifest: Manifest, *, agent: str | None = None
) -> None:
    """Raise when ``manifest`` goes back from ``previous`` (None: nothing accepted yet).

    ``agent`` set: ``previous`` is the agent's record, and the message says so.
    """
    if previous is None or manifest.revision > previous.revision:
        return
    if agent is None:
        what = f"{manifest.name!r}"
    else:
        what = f"agent {agent!r} (bundle {manifest.name!r}; accepted as {previous.other!r})"
    if manifest.revision < previous.revision:
        raise BundleError(
            f"revision {manifest.revision} of {what} is older than revision "
            f"{previous.revision} already accepted (rollback refused)"
        )
    if manifest.sha256() != previous.manifest_sha256:
        raise BundleError(
            f"revision {manifest.revision} of {what} was already accepted with "
            "different content; a changed bundle needs a higher revision"
        )


def _parse_state(raw_bytes: bytes, path: Path) -> Accepted:
    if len(raw_bytes) > MAX_STATE_BYTES:
        raise BundleError(f"anti-rollback state {path} is larger than {MAX_STATE_BYTES} bytes")
    try:
        text = raw_bytes.decode("utf-8")
        if json_text_depth(text) > 8:
            raise ValueError("nested too deeply")
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"anti-rollback state {path} cannot be read: {exc}") from None
    if isinstance(raw, dict) and raw.get("format") == OLD_STATE_FORMAT:
        return Accepted(names=_records(raw, "accepted", path, None))
    if not (isinstance(raw, dict) and raw.get("format") == STATE_FORMAT):
        raise BundleError(
            f"anti-rollback state {path} is not a {STATE_FORMAT} (or {OLD_STATE_FORMAT}) file"
        )
    return Accepted(
        names=_records(raw, "names", path, "agent_id"),
        agents=_records(raw, "agents", path, "name"),
    )


def _records(
    raw: dict[str, Any], section: str, path: Path, other_key: str | None
) -> dict[str, AcceptedRevision]:
    entries = raw.get(section)
    if not isinstance(entries, dict):
        raise BundleError(f"anti-rollback state {path}: {section!r} must be an object")
    records: dict[str, AcceptedRevision] = {}
    for key, entry in entries.items():
        if not (
            isinstance(entry, dict)
            and type(entry.get("revision")) is int
            and 0 <= entry["revision"] <= MAX_REVISION
            and isinstance(entry.get("manifest_sha256"), str)
        ):
            raise BundleError(f"anti-rollback state {path}: entry {key!r} is malformed")
        other = entry.get(other_key) if other_key else None
        if other is not None and not isinstance(other, str):
            raise BundleError(f"anti-rollback state {path}: entry {key!r} is malformed")
        records[key] = AcceptedRevision(entry["revision"], entry["manifest_sha256"], other)
    return records


def _write_state(path: Path, accepted: Accepted) -> None:
    names = {
        name: {
            "agent_id": entry.other,
            "manifest_sha256": entry.manifest_sha256,
            "revision": entry.revision,
        }
        for name, entry in accepted.names.items()
    }
    agents = {
        agent: {
            "manifest_sha256": entry.manifest_sha256,
            "name": entry.other,
            "revision": entry.revision,
        }
        for agent, entry in accepted.agents.items()
    }
    content = canonical_json({"agents": agents, "format": STATE_FORMAT, "names": names}) + b"\n"
    try:
        write_private_file(path, content, 0o644)
        _fsync_directory(path.parent)
    except OSError as exc:
        raise BundleError(
            f"cannot write anti-rollback state {path}: {exc.strerror or exc}"
        ) from None


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable: fsync the directory that holds the state file."""
    try:
        fd = os.open(directory if str(directory) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)
