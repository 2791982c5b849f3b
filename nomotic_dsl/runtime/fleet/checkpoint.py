"""Checkpoint files: the whole fleet runtime state and the trace position, written atomically.

Input: a ``FleetRuntime`` and how far into its trace it is (a checkpoint
document), or a checkpoint file. Output: the file, written through a
temporary file, ``fsync`` and an atomic rename; or the document read back,
bounded in size and checked before anything is restored. Stage: runtime,
behind ``nomo run --checkpoint`` / ``--resume``.

The format is JSON (never pickle): ``{"format": "nomotic_dsl.fleet_checkpoint",
"version": 1, "bundle": digest, "position": {"line", "observations",
"trace_digest"}, "runtime": FleetRuntime.export_state()}``. ``position.line``
is the last trace line consumed, ``position.trace_digest`` the trace reader's
position digest after it (SHA-256 chained over every line up to it, see
``trace``), so a resumed run can prove it skips exactly what was already
decided, or continue the chain when it is given only the rest of the trace.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nomotic_dsl.ir.canonical import has_lone_surrogate
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime, StateMismatch

CHECKPOINT_FORMAT = "nomotic_dsl.fleet_checkpoint"
CHECKPOINT_VERSION = 1
MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024
_POSITION_KEYS = frozenset({"line", "observations", "trace_digest"})


class CheckpointError(ValueError):
    """A checkpoint file that cannot be written, read or trusted; ``str()`` says why."""


def checkpoint_document(
    runtime: FleetRuntime, *, line: int, observations: int, trace_digest: str
) -> dict[str, Any]:
    """The checkpoint of ``runtime`` after trace line ``line`` (``observations`` decided)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "bundle": runtime.digest,
        "position": {"line": line, "observations": observations, "trace_digest": trace_digest},
        "runtime": runtime.export_state(),
    }


def write_checkpoint(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically: a reader sees the old file or the new one."""
    target = Path(path)
    data = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(data)
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(directory)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {target}: {exc.strerror or exc}") from None


def read_checkpoint(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> dict[str, Any]:
    """Read a checkpoint file; CheckpointError when it is too large, not JSON or malformed."""
    source = Path(path)
    try:
        size = source.stat().st_size
        if size > max_bytes:
            raise CheckpointError(
                f"checkpoint {source} is {size} bytes, more than the {max_bytes} allowed"
            )
        with source.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {source}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise CheckpointError(f"checkpoint {source} is more than the {max_bytes} bytes allowed")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"checkpoint {source} is not valid JSON: {exc}") from None
    if has_lone_surrogate(document):  # no decision or checkpoint written later could hold it
        raise CheckpointError(
            f"checkpoint {source} holds a string with a lone surrogate (not Unicode text)"
        )
    check_document(document, str(source))
    return dict(document)


def check_document(document: Any, where: str = "checkpoint") -> None:
    """The envelope of a checkpoint: format, version, bundle digest and position."""
    keys = {"format", "version", "bundle", "position", "runtime"}
    if not isinstance(document, Mapping) or set(document) != keys:
        raise CheckpointError(f"{where}: expected exactly {', '.join(sorted(keys))}")
    if document["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{where}: not a {CHECKPOINT_FORMAT} file")
    if document["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{where}: checkpoint version {document['version']!r} is not supported "
            f"(this runtime reads version {CHECKPOINT_VERSION})"
        )
    position = document["position"]
    if not isinstance(position, Mapping) or set(position) != _POSITION_KEYS:
        raise CheckpointError(f"{where}.position: expected line, observations and trace_digest")
    for name in ("line", "observations"):
        value = position[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CheckpointError(f"{where}.position.{name}: expected a whole number")
    digest = position["trace_digest"]
    if not (
        isinstance(digest, str) and len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    ):
        raise CheckpointError(
            f"{where}.position.trace_digest: expected 64 lowercase hex characters"
        )


def restore(runtime: FleetRuntime, document: Mapping[str, Any]) -> None:
    """Restore ``runtime`` from a checked document.

    StateMismatch when it was made with other bundles or options (the caller
    refuses to resume); CheckpointError when its runtime state is malformed.
    """
    if document["bundle"] != runtime.digest:
        raise StateMismatch(
            f"the checkpoint was made with bundle {document['bundle']}, not {runtime.digest}"
        )
    state = document["runtime"]
    decided = state.get("decisions") if isinstance(state, Mapping) else None
    if decided != document["position"]["observations"]:
        raise CheckpointError(
            f"checkpoint position counts {document['position']['observations']} observations "
            f"but its runtime state holds {decided!r} decisions"
        )
    try:
        runtime.import_state(state)
    except StateMismatch:
        raise
    except ValueError as exc:
        raise CheckpointError(f"checkpoint runtime state is not valid: {exc}") from None


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")
