"""The bundle container: a deterministic zip archive and its strict reader.

Input: member names and contents (writing) or archive bytes (reading).
Output: archive bytes, or the members as an ordered name -> bytes mapping.
Stage: sealed bundle.

Writing: entries sorted by name, stored (no compression, so no zlib version
can change the bytes), a fixed timestamp (1980-01-01, the earliest zip allows),
regular-file mode 0644, Unix as the creating system, no comments or extras.

Reading refuses, before trusting any content: oversize archives or members,
duplicate names, absolute paths, ``..``, backslashes, directories, links and
other non-regular entries, compressed or encrypted entries, and names outside
the bundle layout. Then, after reading every member (which checks each CRC),
it writes the archive again and requires the very same bytes: an archive in
any other encoding (reordered entries, changed timestamps or modes, padding,
a comment, data before or after) is refused. This is why flipping any single
byte of a bundle is refused even where a zip reader would not notice.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Mapping

from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.manifest import (
    MANIFEST_NAME,
    MAX_POLICIES,
    POLICIES_DIR,
    POLICY_FILES,
    SIGNATURES_NAME,
    SOURCES_DIR,
)

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 1024
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
REGULAR_FILE_MODE = stat.S_IFREG | 0o644
_UNIX = 3
TOP_LEVEL_MEMBERS = frozenset({MANIFEST_NAME, SIGNATURES_NAME})
# A policy index: a decimal number without leading zeros.
_POLICY_INDEX = re.compile(r"0|[1-9][0-9]{0,3}")
# One path segment of a source name: no leading dot, so no "..", no hidden files.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}")


def check_member_name(name: str) -> None:
    """Refuse a member name that is unsafe or not part of the bundle layout."""
    if not name or "\x00" in name or "\\" in name:
        raise BundleError(f"archive member name {name!r} is not a plain relative path")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"archive member {name!r} has an absolute path")
    segments = name.split("/")
    if ".." in segments or "." in segments or "" in segments:
        raise BundleError(f"archive member {name!r} leaves or repeats a directory")
    if name in TOP_LEVEL_MEMBERS or is_policy_member(name):
        return
    if is_source_member(name):
        return
    raise BundleError(f"archive member {name!r} is not part of the bundle layout")


def is_policy_member(name: str) -> bool:
    """True for ``policies/<index>/<file>`` with a canonical index below the policy limit."""
    if not name.startswith(POLICIES_DIR):
        return False
    parts = name[len(POLICIES_DIR) :].split("/")
    return (
        len(parts) == 2
        and bool(_POLICY_INDEX.fullmatch(parts[0]))
        and int(parts[0]) < MAX_POLICIES
        and parts[1] in POLICY_FILES
    )


def is_source_member(name: str) -> bool:
    """True for ``sources/<relative path>.nomo`` with plain path segments."""
    if not (name.startswith(SOURCES_DIR) and name.endswith(".nomo")):
        return False
    segments = name[len(SOURCES_DIR) :].split("/")
    return len(segments) <= 16 and all(_SEGMENT.fullmatch(segment) for segment in segments)


def write_archive(members: Mapping[str, bytes]) -> bytes:
    """The deterministic zip encoding of ``members`` (name -> content)."""
    for name in members:
        check_member_name(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            archive.writestr(entry_info(name), members[name])
    return buffer.getvalue()


def read_archive(data: bytes) -> dict[str, bytes]:
    """Read and strictly check archive bytes; members come back in name order."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes, more than the {MAX_BUNDLE_BYTES} allowed")
    try:
        members = _read_members(data)
    except BundleError:
        raise
    # Any parser failure on untrusted bytes is a refusal, never a traceback.
    except Exception as exc:
        raise BundleError(f"not a valid bundle archive: {exc}") from None
    if write_archive(members) != data:
        raise BundleError("bundle archive is not in canonical form (bytes differ from a rebuild)")
    return members


def _read_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"archive has {len(infos)} members, more than {MAX_MEMBERS}")
        seen: set[str] = set()
        for info in infos:
            _check_entry(info, seen)
            seen.add(info.filename)
        return {info.filename: archive.read(info) for info in sorted(infos, key=_name_of)}


def _check_entry(info: zipfile.ZipInfo, seen: set[str]) -> None:
    name = info.filename
    if name in seen:
        raise BundleError(f"archive member {name!r} appears more than once")
    if info.is_dir():
        raise BundleError(f"archive member {name!r} is a directory")
    check_member_name(name)
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type != stat.S_IFREG:
        raise BundleError(f"archive member {name!r} is not a regular file (link or device)")
    if info.compress_type != zipfile.ZIP_STORED:
        raise BundleError(f"archive member {name!r} is compressed; bundles store members as is")
    if info.flag_bits & 0x1:
        raise BundleError(f"archive member {name!r} is encrypted")
    if info.file_size > MAX_MEMBER_BYTES:
        raise BundleError(
            f"archive member {name!r} is {info.file_size} bytes, more than {MAX_MEMBER_BYTES}"
        )


def entry_info(name: str) -> zipfile.ZipInfo:
    """The fixed zip header fields every member gets."""
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = _UNIX
    info.external_attr = REGULAR_FILE_MODE << 16
    return info


def _name_of(info: zipfile.ZipInfo) -> str:
    return info.filename
