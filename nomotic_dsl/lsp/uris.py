"""Document URIs <-> file-system paths (``file:`` URIs only; others have no path)."""

from __future__ import annotations

from pathlib import Path

from pygls import uris


def uri_of(path: Path) -> str:
    """The ``file:`` URI of a path."""
    return uris.from_fs_path(str(path)) or path.resolve().as_uri()


def path_of(uri: str) -> Path | None:
    """The absolute path a ``file:`` URI names; None for ``untitled:`` and other schemes."""
    if not uri.startswith("file:"):
        return None
    path = uris.to_fs_path(uri)
    return None if path is None else Path(path).resolve()
