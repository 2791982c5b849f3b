"""The bundle container: a deterministic zip archive and its strict reader.

Input: member names and contents (writing) or archive bytes (reading).
Output: archive bytes, or the members as an ordered name -> bytes mapping.
Stage: sealed bundle.

Writing: entries sorted by name, stored (no compression, so no zlib version
can change the bytes), a fixed timestamp (1980-01-01, the earliest zip allows),
regular-file mode 0644, Unix as the creating system, no comments or extras.

Reading parses the zip records itself (it never hands untrusted bytes to a
general zip reader) and refuses, before trusting any content: oversize
archives or members, more than ``MAX_MEMBERS`` entries, duplicate names,
absolute paths, ``..``, backslashes, directories, links and other non-regular
entries, compressed or encrypted entries, names outside the bundle layout, and
members that do not lie end to end (overlapping entries, the "overlap zip
bomb", or gaps). Because members must tile the archive, their contents add up
to less than the archive's own size: reading allocates a fixed multiple of at
most ``MAX_BUNDLE_BYTES`` whatever the headers claim. Then, after reading
every member (which checks each CRC),
it writes the archive again and requires the very same bytes: an archive in
any other encoding (reordered entries, changed timestamps or modes, padding,
a comment, data before or after) is refused. This is why flipping any single
byte of a bundle is refused even where a zip reader would not notice.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

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
# Zip record layouts (APPNOTE 4.3.7, 4.3.12, 4.3.16), little-endian.
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_LOCAL_SIGNATURE = 0x04034B50
_CENTRAL_SIGNATURE = 0x02014B50
_EOCD_SIGNATURE = 0x06054B50
_UTF8_FLAG = 0x800
_DATA_DESCRIPTOR_FLAG = 0x8
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
    """Read and strictly check archive bytes; members come back in name order.

    Memory stays bounded by the archive's own size whatever its headers claim:
    members must lie end to end (no overlap, no gap), so their contents add up
    to less than ``len(data)``, and nothing is read past the end of ``data``.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes, more than the {MAX_BUNDLE_BYTES} allowed")
    members = _read_members(data)
    if write_archive(members) != data:
        raise BundleError("bundle archive is not in canonical form (bytes differ from a rebuild)")
    return members


@dataclass(frozen=True, slots=True)
class _Entry:
    """One central-directory entry, as far as the reader needs it."""

    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    external_attr: int
    offset: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") or bool(self.external_attr & 0x10)


def _invalid(reason: str) -> BundleError:
    return BundleError(f"not a valid bundle archive: {reason}")


def _read_members(data: bytes) -> dict[str, bytes]:
    entries, directory_offset = _read_directory(data)
    seen: set[str] = set()
    for entry in entries:
        _check_entry(entry, seen)
        seen.add(entry.name)
    _check_layout(entries, directory_offset)
    members = {entry.name: _member_data(data, entry) for entry in entries}
    return dict(sorted(members.items()))


def _read_directory(data: bytes) -> tuple[list[_Entry], int]:
    """The central directory entries, after bounds checks on every field."""
    if len(data) < _EOCD.size:
        raise _invalid("too short to hold a zip end-of-central-directory record")
    signature, disk, directory_disk, here, total, size, offset, comment = _EOCD.unpack_from(
        data, len(data) - _EOCD.size
    )
    if signature != _EOCD_SIGNATURE:
        if _EOCD_SIGNATURE.to_bytes(4, "little") in data:
            raise BundleError(
                "bundle archive is not in canonical form (data or a comment after the "
                "end-of-central-directory record)"
            )
        raise _invalid("no zip end-of-central-directory record")
    if disk or directory_disk or here != total or comment:
        raise _invalid("a multi-disk archive or an archive comment")
    if total > MAX_MEMBERS:
        raise BundleError(f"archive has {total} members, more than {MAX_MEMBERS}")
    if offset + size != len(data) - _EOCD.size:
        raise _invalid(
            f"the central directory ({size} bytes at offset {offset}) does not end where "
            "the end-of-central-directory record starts"
        )
    entries: list[_Entry] = []
    position = offset
    for index in range(total):
        if position + _CENTRAL.size > offset + size:
            raise _invalid(f"central directory entry {index} runs past the directory")
        fields = _CENTRAL.unpack_from(data, position)
        (signature, _made_by, _needed, flags, method, _time, _date, crc) = fields[:8]
        (compressed, size_field, name_length, extra_length, comment_length) = fields[8:13]
        (_disk, _internal, external, local_offset) = fields[13:]
        if signature != _CENTRAL_SIGNATURE:
            raise _invalid(f"central directory entry {index} has a bad signature")
        end = position + _CENTRAL.size + name_length + extra_length + comment_length
        if end > offset + size:
            raise _invalid(f"central directory entry {index} runs past the directory")
        raw_name = data[position + _CENTRAL.size : position + _CENTRAL.size + name_length]
        if extra_length or comment_length:
            raise BundleError(
                f"bundle archive is not in canonical form (entry {index} has extra fields or "
                "a comment)"
            )
        entries.append(
            _Entry(
                name=_decode_name(raw_name, flags, index),
                raw_name=raw_name,
                flags=flags,
                method=method,
                crc=crc,
                compressed_size=compressed,
                size=size_field,
                external_attr=external,
                offset=local_offset,
            )
        )
        position = end
    if position != offset + size:
        raise _invalid("the central directory holds more bytes than its entries")
    return entries, offset


def _decode_name(raw: bytes, flags: int, index: int) -> str:
    try:
        return raw.decode("utf-8" if flags & _UTF8_FLAG else "cp437")
    except UnicodeDecodeError:
        raise _invalid(f"the name of entry {index} is not UTF-8") from None


def _check_entry(entry: _Entry, seen: set[str]) -> None:
    name = entry.name
    if name in seen:
        raise BundleError(f"archive member {name!r} appears more than once")
    if entry.is_dir:
        raise BundleError(f"archive member {name!r} is a directory")
    check_member_name(name)
    file_type = stat.S_IFMT(entry.external_attr >> 16)
    if file_type != stat.S_IFREG:
        raise BundleError(f"archive member {name!r} is not a regular file (link or device)")
    if entry.method != zipfile.ZIP_STORED:
        raise BundleError(f"archive member {name!r} is compressed; bundles store members as is")
    if entry.flags & 0x1:
        raise BundleError(f"archive member {name!r} is encrypted")
    if entry.flags & _DATA_DESCRIPTOR_FLAG:
        raise BundleError(
            f"bundle archive is not in canonical form (member {name!r} has a data descriptor)"
        )
    if entry.size > MAX_MEMBER_BYTES:
        raise BundleError(
            f"archive member {name!r} is {entry.size} bytes, more than {MAX_MEMBER_BYTES}"
        )
    if entry.compressed_size != entry.size:
        raise _invalid(f"member {name!r} is stored but its two sizes differ")


def _check_layout(entries: list[_Entry], directory_offset: int) -> None:
    """Members lie end to end from offset 0 up to the central directory: no overlap, no gap.

    This is what bounds memory: a zip reader follows each entry's offset, so
    entries pointing into one another's data (the overlap "zip bomb") would
    make a small archive expand without limit.
    """
    expected = 0
    for entry in sorted(entries, key=_offset_of):
        if entry.offset != expected:
            relation = (
                "overlaps the member before it" if entry.offset < expected else "leaves a gap"
            )
            raise BundleError(
                f"archive member {entry.name!r} at offset {entry.offset} {relation} "
                f"(expected offset {expected}); members must lie end to end"
            )
        expected = entry.offset + _LOCAL.size + len(entry.raw_name) + entry.size
        if expected > directory_offset:
            raise BundleError(
                f"archive member {entry.name!r} overlaps the central directory "
                f"(its data ends at {expected}, the directory starts at {directory_offset})"
            )
    if expected != directory_offset:
        raise BundleError(
            f"archive has {directory_offset - expected} unaccounted bytes before its "
            "central directory"
        )


def _member_data(data: bytes, entry: _Entry) -> bytes:
    fields = _LOCAL.unpack_from(data, entry.offset)
    signature, _needed, flags, method, _time, _date, crc, compressed, size = fields[:9]
    name_length, extra_length = fields[9:]
    if signature != _LOCAL_SIGNATURE:
        raise _invalid(f"member {entry.name!r} has no local header at offset {entry.offset}")
    start = entry.offset + _LOCAL.size
    local_name = data[start : start + name_length]
    if (
        local_name != entry.raw_name
        or extra_length
        or (flags, method, crc, compressed, size)
        != (entry.flags, entry.method, entry.crc, entry.compressed_size, entry.size)
    ):
        raise _invalid(f"member {entry.name!r}: its local header disagrees with the directory")
    content = data[start + name_length : start + name_length + entry.size]
    if zlib.crc32(content) != entry.crc:
        raise _invalid(f"member {entry.name!r} fails its CRC-32 check")
    return content


def _offset_of(entry: _Entry) -> int:
    return entry.offset


def entry_info(name: str) -> zipfile.ZipInfo:
    """The fixed zip header fields every member gets."""
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = _UNIX
    info.external_attr = REGULAR_FILE_MODE << 16
    return info
