"""The strict archive reader, the manifest and signature formats, and replay/inspect."""

from __future__ import annotations

import io
import json
import re
import stat
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.runtime.bundle import BundleError
from nomotic_dsl.runtime.bundle.archive import entry_info, read_archive, write_archive
from nomotic_dsl.runtime.bundle.inspect import describe_bundle, render_description
from nomotic_dsl.runtime.bundle.loader import load_bundle
from nomotic_dsl.runtime.bundle.manifest import parse_manifest
from nomotic_dsl.runtime.bundle.signing import parse_signatures
from nomotic_dsl.runtime.fleet import FleetRuntime

from .conftest import make_contents

MEMBERS = {
    "manifest.json": b"{}",
    "policies/0/specs.json": b"[]\n",
    "sources/a/b.nomo": b"rate < 1\n",
}


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, content in entries:
            archive.writestr(info, content)
    return buffer.getvalue()


def test_the_archive_round_trips_and_is_deterministic() -> None:
    data = write_archive(MEMBERS)
    assert read_archive(data) == MEMBERS
    assert write_archive(dict(reversed(MEMBERS.items()))) == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert [info.date_time for info in archive.infolist()] == [(1980, 1, 1, 0, 0, 0)] * 3
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def _symlink_info() -> zipfile.ZipInfo:
    info = entry_info("policies/0/specs.json")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _dated_info() -> zipfile.ZipInfo:
    info = entry_info("policies/0/specs.json")
    info.date_time = (2024, 5, 1, 12, 0, 0)
    return info


def _deflated_info() -> zipfile.ZipInfo:
    info = entry_info("policies/0/specs.json")
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        (
            [
                (entry_info("policies/0/specs.json"), b"1"),
                (entry_info("policies/0/specs.json"), b"2"),
            ],
            "more than once",
        ),
        ([(entry_info("/etc/passwd"), b"x")], "absolute path"),
        ([(entry_info("sources/../manifest.json"), b"x")], "leaves or repeats a directory"),
        ([(entry_info("sources/.hidden.nomo"), b"x")], "not part of the bundle layout"),
        ([(entry_info("sources/a.py"), b"x")], "not part of the bundle layout"),
        ([(entry_info("specs.json"), b"[]")], "not part of the bundle layout"),
        ([(entry_info("policies/01/specs.json"), b"[]")], "not part of the bundle layout"),
        ([(entry_info("policies/0/other.py"), b"x")], "not part of the bundle layout"),
        ([("sources/", b"")], "is a directory"),
        ([(_symlink_info(), b"/etc/passwd")], "not a regular file"),
        ([(_deflated_info(), b"[]")], "is compressed"),
        ([(_dated_info(), b"[]")], "not in canonical form"),
    ],
    ids=[
        "duplicate",
        "absolute",
        "dotdot",
        "hidden",
        "python-source",
        "format-1-layout",
        "padded-policy-index",
        "foreign-policy-file",
        "directory",
        "symlink",
        "compressed",
        "other-timestamp",
    ],
)
def test_the_reader_refuses_unsafe_or_foreign_archives(
    entries: list[tuple[zipfile.ZipInfo | str, bytes]], reason: str
) -> None:
    with pytest.warns(UserWarning) if reason == "more than once" else nullcontext():
        data = _zip(entries)
    with pytest.raises(BundleError, match=reason):
        read_archive(data)


def test_oversize_members_are_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nomotic_dsl.runtime.bundle.archive.MAX_MEMBER_BYTES", 4)
    with pytest.raises(BundleError, match="more than 4"):
        read_archive(write_archive({"policies/0/specs.json": b"[1, 2]"}))


def test_garbage_and_trailing_bytes_are_refused() -> None:
    with pytest.raises(BundleError, match="not a valid bundle archive"):
        read_archive(b"not a zip at all")
    with pytest.raises(BundleError, match="canonical form"):
        read_archive(write_archive(MEMBERS) + b"\0")


def test_a_manifest_in_another_json_layout_is_refused(
    tmp_path: Path, old_key: SigningKey, write_bundle: Callable[..., Path]
) -> None:
    members = read_archive(write_bundle().read_bytes())
    manifest = parse_manifest(members["manifest.json"])
    assert manifest.to_bytes() == members["manifest.json"]
    spaced = json.dumps(json.loads(members["manifest.json"]), sort_keys=True).encode()
    with pytest.raises(BundleError, match="not in canonical form"):
        parse_manifest(spaced)
    extra = dict(json.loads(members["manifest.json"]), signed_at=1)
    with pytest.raises(BundleError, match="unknown: signed_at"):
        parse_manifest(json.dumps(extra).encode())
    with pytest.raises(BundleError, match="128 lowercase hex"):
        parse_signatures(b'[{"key_id":"0011223344556677","signature":"ab"}]')


def test_inspect_describes_without_running_anything(
    write_bundle: Callable[..., Path], old_key: SigningKey, new_key: SigningKey, marker: Path
) -> None:
    path = write_bundle(
        make_contents(marker), signing_keys=[old_key, new_key], revision=7, expires=2_000_000_000
    )
    description = describe_bundle(path, [old_key.verify_key])
    assert not marker.exists()
    assert description["revision"] == 7 and description["name"] == "demo-agent"
    assert description["validity"]["expires_time"] == "2033-05-18T03:33:20Z"
    assert sorted(s["status"] for s in description["signatures"]) == [
        "not checked (key not trusted here)",
        "verified",
    ]
    assert [m["name"] for m in description["members"]] == [
        "policies/0/contract.json",
        "policies/0/policy_evaluator.py",
        "policies/0/specs.json",
        "sources/policy0.nomo",
    ]
    assert description["agents"] == [] and len(description["policies"]) == 1
    assert [spec["invariant_id"] for spec in description["invariants"]] == [
        "few-targets",
        "write-read",
    ]
    text = render_description(description)
    assert "bundle demo-agent revision 7" in text and "few-targets" in text


def _trace(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _line(timestamp: int, action: str, target: str) -> str:
    return json.dumps({"timestamp": timestamp, "action_type": action, "target": target})


def test_a_loaded_bundle_runs_in_the_fleet_runtime_reporting_each_onset_once(
    write_bundle: Callable[..., Path], old_key: SigningKey, tmp_path: Path
) -> None:
    runtime = FleetRuntime.from_bundles([load_bundle(write_bundle(), [old_key.verify_key])])
    lines = [
        _line(100, "read", "a"),
        _line(101, "read", "b"),
        "",
        _line(102, "read", "c"),
        _line(103, "read", "d"),
        _line(104, "read", "a"),
        _line(105, "read", "a"),
        _line(106, "read", "a"),
    ]
    decisions = [
        runtime.process_line(text, number)
        for number, text in enumerate(lines, start=1)
        if text.strip()
    ]
    assert [d["line"] for d in decisions] == [1, 2, 4, 5, 6, 7, 8]
    onsets = [
        (d["line"], c["invariant"])
        for d in decisions
        for c in d["changed"]
        if c["to"] == "violated"
    ]
    assert onsets == [(4, "few-targets")]
    assert [d["violated"] for d in decisions].count(["few-targets"]) == 3
    assert decisions[-1]["counts"] == {
        "satisfied": 2,
        "approaching": 0,
        "violated": 0,
        "not_measured": 0,
    }


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["{not json"], r"not valid JSON"),
        (
            [_line(5, "read", "a"), '{"timestamp": 6, "action_type": "read"}'],
            r"missing 'target'",
        ),
        ([_line(5, "read", "a"), _line(4, "read", "a")], r"earlier"),
    ],
)
def test_a_bad_trace_line_gets_an_error_decision_and_the_stream_goes_on(
    write_bundle: Callable[..., Path],
    old_key: SigningKey,
    lines: list[str],
    reason: str,
) -> None:
    runtime = FleetRuntime.from_bundles([load_bundle(write_bundle(), [old_key.verify_key])])
    decisions = [runtime.process_line(text) for text in [*lines, _line(9, "read", "a")]]
    bad = decisions[len(lines) - 1]
    assert bad["error"] is not None and re.search(reason, bad["error"])
    assert bad["counts"] is None and bad["violated"] == [] and bad["changed"] == []
    assert decisions[-1]["error"] is None and decisions[-1]["counts"] is not None
