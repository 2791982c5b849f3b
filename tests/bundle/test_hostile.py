"""Hostile bundles (issue 16, findings 2 and 4): refused with BundleError, bounded, no traceback.

Each case is a file an attacker could hand a runtime: an archive whose entries
overlap (the "overlap zip bomb"), one whose headers claim more than the file
holds, a path that is not a regular file, and envelopes that are malformed in
ways that used to escape as RecursionError, ValueError or UnicodeEncodeError.
Memory is measured with tracemalloc (allocations, not time), so the bound is
checked the same on any machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.runtime.bundle import BundleError, load_bundle, verify_bundle
from nomotic_dsl.runtime.bundle.archive import MAX_MEMBER_BYTES, read_archive, write_archive
from nomotic_dsl.runtime.bundle.errors import UNEXPECTED_MARKER
from nomotic_dsl.runtime.bundle.inspect import describe_bundle
from nomotic_dsl.runtime.bundle.loader import read_bundle_file
from nomotic_dsl.runtime.bundle.manifest import parse_manifest
from nomotic_dsl.runtime.bundle.signing import parse_signatures
from nomotic_dsl.runtime.bundle.verify import verify_bundle_bytes

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_MODE = (0o100644 << 16) & 0xFFFFFFFF


def _raw_zip(entries: list[tuple[str, int, int, int]], blob: bytes) -> bytes:
    """An archive of ``blob`` followed by central entries (name, offset, size, crc) as given.

    The central directory says whatever the caller wants, which is how overlap
    bombs are made: entries that point into each other's data.
    """
    directory = b""
    for name, offset, size, crc in entries:
        raw = name.encode()
        directory += _CENTRAL.pack(
            0x02014B50,
            0x0314,
            20,
            0,
            0,
            0,
            0x21,
            crc,
            size,
            size,
            len(raw),
            0,
            0,
            0,
            0,
            _MODE,
            offset,
        )
        directory += raw
    eocd = _EOCD.pack(0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(blob), 0)
    return blob + directory + eocd


def _local(name: str, content: bytes, size: int | None = None) -> bytes:
    raw = name.encode()
    declared = len(content) if size is None else size
    crc = zlib.crc32(content)
    header = _LOCAL.pack(0x04034B50, 20, 0, 0, 0, 0x21, crc, declared, declared, len(raw), 0)
    return header + raw + content


def overlap_bomb(members: int = 200, tail: int = 64 * 1024) -> bytes:
    """Stored members whose data each runs over every later member: n^2 bytes from n.

    Member i's local header sits right after member i-1's header; every
    member claims to extend to the end of the shared tail, so a reader that
    follows the central directory reads the tail ``members`` times. The CRCs
    are right (computed from the last member back), so a zip reader that
    checks them still reads every member in full.
    """
    names = [f"sources/m{index:04d}.nomo" for index in range(members)]
    suffix = b"x" * tail
    headers: list[bytes] = []
    crcs: list[int] = []
    for name in reversed(names):
        size = len(suffix)
        crc = zlib.crc32(suffix)
        header = _LOCAL.pack(0x04034B50, 20, 0, 0, 0, 0x21, crc, size, size, len(name), 0)
        header += name.encode()
        headers.insert(0, header)
        crcs.insert(0, crc)
        suffix = header + suffix
    blob = suffix
    entries = []
    offset = 0
    for name, header, crc in zip(names, headers, crcs, strict=True):
        entries.append((name, offset, len(blob) - offset - len(header), crc))
        offset += len(header)
    return _raw_zip(entries, blob)


def _peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    with contextlib.suppress(BundleError):
        action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_an_overlap_bomb_is_refused_before_any_member_is_read() -> None:
    data = overlap_bomb()
    with pytest.raises(BundleError, match="overlaps the member before it"):
        read_archive(data)
    # Following the directory would read ~200 x 64 KiB = 12.8 MB; the refusal
    # allocates a small multiple of the 80 KB file at most.
    assert _peak_bytes(lambda: read_archive(data)) < 4 * len(data) + 256 * 1024


def test_entries_sharing_one_member_s_data_are_refused() -> None:
    blob = _local("policies/0/specs.json", b"[]")
    entries = [
        ("policies/0/specs.json", 0, 2, zlib.crc32(b"[]")),
        ("policies/0/contract.json", 0, 2, zlib.crc32(b"[]")),
    ]
    with pytest.raises(BundleError, match="overlaps the member before it"):
        read_archive(_raw_zip(entries, blob))


def test_a_member_that_claims_more_than_the_file_holds_is_refused() -> None:
    content = b"[]"
    blob = _local("policies/0/specs.json", content, size=MAX_MEMBER_BYTES)
    entries = [("policies/0/specs.json", 0, MAX_MEMBER_BYTES, zlib.crc32(content))]
    with pytest.raises(BundleError, match="overlaps the central directory"):
        read_archive(_raw_zip(entries, blob))
    assert _peak_bytes(lambda: read_archive(_raw_zip(entries, blob))) < 256 * 1024


def test_a_directory_that_claims_more_entries_than_it_holds_is_refused() -> None:
    data = bytearray(write_archive({"policies/0/specs.json": b"[]"}))
    struct.pack_into("<HH", data, len(data) - 14, 1000, 1000)
    with pytest.raises(BundleError, match="runs past the directory"):
        read_archive(bytes(data))
    struct.pack_into("<HH", data, len(data) - 14, 60000, 60000)
    with pytest.raises(BundleError, match="more than 1024"):
        read_archive(bytes(data))


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory"])
def test_paths_that_are_not_regular_files_are_refused_before_reading(
    tmp_path: Path, kind: str
) -> None:
    if kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "bundle.fifo"
        os.mkfifo(path)
    else:
        path = tmp_path / "bundle.dir"
        path.mkdir()
    with pytest.raises(BundleError, match="not a regular file"):
        read_bundle_file(path)
    with pytest.raises(BundleError, match="not a regular file"):
        describe_bundle(path)


def _envelope(manifest: bytes, signatures: bytes = b"[]") -> bytes:
    return write_archive({"manifest.json": manifest, "signatures.json": signatures})


VALID_MANIFEST = {
    "agent_id": None,
    "agents": [],
    "compiler_version": "0.1.0",
    "expires": None,
    "format": "nomo-bundle/2",
    "members": {},
    "name": "demo",
    "not_before": None,
    "revision": 1,
    "source_digest": "0" * 64,
}


def _manifest_text(**changes: str) -> bytes:
    """The manifest as JSON text with some values replaced by raw JSON text."""
    text = json.dumps(VALID_MANIFEST, sort_keys=True, separators=(",", ":"))
    for key, raw in changes.items():
        text = text.replace(f'"{key}":{json.dumps(VALID_MANIFEST[key])}', f'"{key}":{raw}')
    return text.encode()


HOSTILE_ENVELOPES = {
    "manifest-nested-100000": (_envelope(b"[" * 100_000 + b"]" * 100_000), "nests deeper"),
    "signatures-nested-100000": (
        _envelope(_manifest_text(), b"[" * 100_000 + b"]" * 100_000),
        "nests deeper",
    ),
    "manifest-object-nested": (_envelope(b'{"a":' * 50_000 + b"1" + b"}" * 50_000), "nests"),
    "revision-5000-digits": (_envelope(_manifest_text(revision="1" * 5000)), "not valid JSON"),
    "revision-4000-digits": (_envelope(_manifest_text(revision="9" * 4000)), "revision must be"),
    "revision-negative": (_envelope(_manifest_text(revision="-1")), "revision must be"),
    "revision-float": (_envelope(_manifest_text(revision="1e400")), "revision must be"),
    "agent-lone-surrogate": (
        _envelope(_manifest_text(agent_id='"\\ud800"')),
        "lone surrogate",
    ),
    "member-name-lone-surrogate": (
        _envelope(_manifest_text(members='{"\\udc00":{"sha256":"' + "0" * 64 + '","size":1}}')),
        "lone surrogate",
    ),
    "agent-bidi": (_envelope(_manifest_text(agent_id='"bot\\u202e"')), "bidirectional"),
    "name-not-ascii": (_envelope(_manifest_text(name='"d\\u00e9mo"')), "name"),
    "not-before-huge": (_envelope(_manifest_text(not_before="1" + "0" * 30)), "not_before must"),
    "manifest-not-utf8": (_envelope(b"\xff\xfe{}"), "not UTF-8"),
    "manifest-nan": (_envelope(_manifest_text(revision="NaN")), "revision must be"),
    "signatures-too-many": (
        _envelope(
            _manifest_text(),
            json.dumps(
                [{"key_id": f"{i:016x}", "signature": "0" * 128} for i in range(100)],
                separators=(",", ":"),
            ).encode(),
        ),
        "more than 64 signatures",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ENVELOPES))
def test_malformed_envelopes_raise_bundle_error_with_a_reason(case: str) -> None:
    data, reason = HOSTILE_ENVELOPES[case]
    with pytest.raises(BundleError, match=reason) as caught:
        verify_bundle_bytes(data, [SigningKey(bytes(32)).verify_key])
    assert UNEXPECTED_MARKER not in str(caught.value)


def test_envelope_parsers_refuse_deep_nesting_directly() -> None:
    with pytest.raises(BundleError, match="nests deeper"):
        parse_manifest(b"[" * 100_000)
    with pytest.raises(BundleError, match="nests deeper"):
        parse_signatures(b"{" * 100_000)


def _hostile_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for case, (data, _) in HOSTILE_ENVELOPES.items():
        path = tmp_path / f"{case}.nomob"
        path.write_bytes(data)
        files[case] = path
    bomb = tmp_path / "overlap-bomb.nomob"
    bomb.write_bytes(overlap_bomb())
    files["overlap-bomb"] = bomb
    fifo = tmp_path / "fifo.nomob"
    os.mkfifo(fifo)
    files["fifo"] = fifo
    files["dev-zero"] = Path("/dev/zero")
    return files


def test_a_runtime_catching_bundle_error_survives_every_hostile_bundle(tmp_path: Path) -> None:
    key = SigningKey(bytes(32)).verify_key
    for case, path in _hostile_files(tmp_path).items():
        for attempt in (load_bundle, verify_bundle, describe_bundle):
            with pytest.raises(BundleError) as caught:
                attempt(path, [key])
            assert UNEXPECTED_MARKER not in str(caught.value), case


@pytest.mark.slow
def test_the_cli_refuses_hostile_bundles_without_a_traceback(
    tmp_path: Path, write_bundle: Callable[..., Path], old_key: SigningKey
) -> None:
    trusted = tmp_path / "trusted.pub"
    trusted.write_text(bytes(old_key.verify_key).hex() + "\n")
    trace = tmp_path / "trace.jsonl"
    trace.write_text("")
    files = _hostile_files(tmp_path)
    for case in ("overlap-bomb", "manifest-nested-100000", "revision-5000-digits",
                 "agent-lone-surrogate", "fifo", "dev-zero"):  # fmt: skip
        path = files[case]
        for command in (
            ["verify", str(path), "--trust", str(trusted)],
            ["inspect", str(path)],
            ["run", str(path), "--trust", str(trusted), "--trace", str(trace)],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "nomotic_dsl", *command],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 1, (case, command, done.stderr)
            assert "Traceback" not in done.stderr + done.stdout, (case, done.stderr)
            assert done.stderr.startswith(f"error: {path}"), done.stderr
