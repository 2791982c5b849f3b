"""Anti-rollback state: the highest bundle revision accepted per bundle name.

Input: a state file path and a verified manifest. Output: a refusal
(``BundleError``) for a revision that goes back, and an updated state file
after a bundle is accepted. Stage: bundle loading.

The state file is canonical JSON::

    {"accepted": {"<name>": {"manifest_sha256": "...", "revision": 7}},
     "format": "nomo-rollback/1"}

A lower revision than the one recorded is refused. The same revision is
accepted again only for the very same manifest (same digest), so a bundle
re-signed or rebuilt with other content under an old number is refused too.
Updates take an exclusive lock on ``<state>.lock`` and replace the file
atomically, so two loaders never lose each other's update. A state file that
cannot be read is an error, never an empty state: failing open would let an
attacker reset the counter by corrupting the file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.keys import write_private_file
from nomotic_dsl.runtime.bundle.manifest import Manifest

STATE_FORMAT = "nomo-rollback/1"


@dataclass(frozen=True, slots=True)
class AcceptedRevision:
    """The revision last accepted for one bundle name, and that manifest's digest."""

    revision: int
    manifest_sha256: str


class RollbackState:
    """The accepted revisions kept in one state file chosen by the caller."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def accepted(self) -> dict[str, AcceptedRevision]:
        """Every recorded bundle name and its accepted revision."""
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"anti-rollback state {self.path} cannot be read: {exc}") from None
        return _parse_state(raw, self.path)

    def check(self, manifest: Manifest) -> None:
        """Refuse ``manifest`` if it would roll back what this state has accepted."""
        refuse_rollback(self.accepted().get(manifest.name), manifest)

    def accept(self, manifest: Manifest) -> None:
        """Check again under the lock, then record ``manifest`` as accepted."""
        with self._locked():
            accepted = self.accepted()
            refuse_rollback(accepted.get(manifest.name), manifest)
            accepted[manifest.name] = AcceptedRevision(manifest.revision, manifest.sha256())
            write_private_file(self.path, _state_bytes(accepted), 0o644)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a+b")  # noqa: SIM115 - held open for the whole update
        except OSError as exc:
            raise BundleError(f"cannot lock anti-rollback state {self.path}: {exc}") from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def refuse_rollback(previous: AcceptedRevision | None, manifest: Manifest) -> None:
    """Raise when ``manifest`` goes back from ``previous`` (None: nothing accepted yet)."""
    if previous is None or manifest.revision > previous.revision:
        return
    if manifest.revision < previous.revision:
        raise BundleError(
            f"revision {manifest.revision} of {manifest.name!r} is older than revision "
            f"{previous.revision} already accepted (rollback refused)"
        )
    if manifest.sha256() != previous.manifest_sha256:
        raise BundleError(
            f"revision {manifest.revision} of {manifest.name!r} was already accepted with "
            "different content; a changed bundle needs a higher revision"
        )


def _parse_state(raw: Any, path: Path) -> dict[str, AcceptedRevision]:
    if not (
        isinstance(raw, dict)
        and raw.get("format") == STATE_FORMAT
        and isinstance(raw.get("accepted"), dict)
    ):
        raise BundleError(f"anti-rollback state {path} is not a {STATE_FORMAT} file")
    accepted: dict[str, AcceptedRevision] = {}
    for name, entry in raw["accepted"].items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("revision"), int)
            and isinstance(entry.get("manifest_sha256"), str)
        ):
            raise BundleError(f"anti-rollback state {path}: entry {name!r} is malformed")
        accepted[name] = AcceptedRevision(entry["revision"], entry["manifest_sha256"])
    return accepted


def _state_bytes(accepted: dict[str, AcceptedRevision]) -> bytes:
    entries = {
        name: {"revision": entry.revision, "manifest_sha256": entry.manifest_sha256}
        for name, entry in accepted.items()
    }
    return canonical_json({"format": STATE_FORMAT, "accepted": entries}) + b"\n"
