"""Receipt formats: format 2 chains each record's line; logs of format 1 still verify.

Format 2 (written since receipts covered the line): ``SHA-256(previous ||
the line without its receipt)``. Format 1 (``golden/format1_fleet.jsonl``,
written by the runtime before, over the first 40 lines of the fleet
example's trace): ``SHA-256(previous || canonical JSON of the record)``.
A log, and each part of a resumed log after an end record, is checked in the
format its first record has, to its end.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.fleet.decision import (
    DECISION_FIELDS,
    encode_record,
    heads_digest,
    legacy_receipt_of,
    receipt_of,
)
from nomotic_dsl.runtime.fleet.log import BundleIdentity, LogError, verify_log
from tests.fleet.helpers import fleet_runtime

FORMAT_1 = Path(__file__).parent / "golden" / "format1_fleet.jsonl"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _identity(lines: list[bytes]) -> BundleIdentity:
    digest = json.loads(lines[0])["bundle"]
    return BundleIdentity(runtime=digest, by_agent={}, any_agent=digest)


def _rechained(lines: list[bytes], receipts: object) -> list[bytes]:
    """The same decisions, every receipt (and the end record) recomputed with ``receipts``."""
    heads: dict[str | None, str] = {}
    out = []
    for raw in lines:
        record = json.loads(raw)
        if "end" in record:
            out.append(raw)
            continue
        previous = heads.get(record["agent_id"], record["bundle"])
        record["receipt"] = receipts(previous, record)  # type: ignore[operator]
        heads[record["agent_id"]] = record["receipt"]
        out.append(encode_record(record))
    return out


def test_a_decision_receipt_covers_exactly_its_line_without_the_receipt() -> None:
    runtime = fleet_runtime()
    previous = runtime.digest
    record = runtime.process_line(
        json.dumps({"agent_id": "alpha", "timestamp": 10.0, "action_type": "read"})
    )
    line = runtime.last_encoded
    suffix = f',"receipt":"{record["receipt"]}"}}'.encode()
    assert line.endswith(suffix)
    body = line[: -len(suffix)] + b"}"
    assert record["receipt"] == hashlib.sha256(bytes.fromhex(previous) + body).hexdigest()
    assert receipt_of(previous, record) == record["receipt"]
    end = runtime.end_record()
    end_line = encode_record(end)
    end_body = end_line[: end_line.index(b',"receipt"')] + b"}"
    assert end["receipt"] == hashlib.sha256(bytes.fromhex(end["heads"]) + end_body).hexdigest()


def test_the_legacy_receipt_is_the_canonical_one() -> None:
    record = json.loads(_lines(FORMAT_1)[0])
    body = {key: record[key] for key in DECISION_FIELDS if key != "receipt"}
    expected = hashlib.sha256(bytes.fromhex(record["bundle"]) + canonical_json(body)).hexdigest()
    assert legacy_receipt_of(record["bundle"], record) == expected == record["receipt"]


def test_a_format_1_log_still_verifies() -> None:
    lines = _lines(FORMAT_1)
    summary = verify_log(lines, _identity(lines))
    assert (summary.decisions, summary.chains, summary.end_records) == (40, 3, 1)


def test_a_format_1_log_with_one_record_altered_is_refused() -> None:
    lines = _lines(FORMAT_1)
    record = json.loads(lines[5])
    record["session_id"] = "forged"
    lines[5] = encode_record(record)
    with pytest.raises(LogError, match="receipt does not match") as caught:
        verify_log(lines, _identity(lines))
    assert caught.value.line == 6


def test_formats_are_not_mixed_within_a_part() -> None:
    old = _lines(FORMAT_1)
    new = _rechained(old, receipt_of)
    # The same decisions with format-2 receipts from line 11 on: a part that began in
    # format 1 is checked in format 1 to its end, so line 11 is refused.
    mixed = old[:10] + new[10:]
    with pytest.raises(LogError, match="receipt does not match") as caught:
        verify_log(mixed, _identity(old))
    assert caught.value.line == 11
    assert verify_log(old, _identity(old)).decisions == 40


def test_each_part_of_a_resumed_log_has_its_own_format() -> None:
    # A run of the runtime before format 2, resumed (its checkpoint) by one since: the
    # first part is in format 1 up to its end record, the rest in format 2.
    runtime = fleet_runtime()
    first = [
        runtime.process_line(f'{{"agent_id":"alpha","timestamp":{t},"action_type":"read"}}')
        for t in (1.0, 2.0, 3.0)
    ]
    end = runtime.end_record()
    old_part = _rechained([encode_record(r) for r in first], legacy_receipt_of)
    heads: dict[str | None, str] = {}
    for raw in old_part:
        record = json.loads(raw)
        heads[record["agent_id"]] = record["receipt"]
    assert heads  # the old part's chain heads differ from the new runtime's
    # Rebuild the first end record in format 1 over the format-1 heads.
    digest = heads_digest([("alpha", 3, heads["alpha"])])
    old_end = {**end, "heads": digest}
    old_end["receipt"] = legacy_receipt_of(digest, old_end)
    # The resumed runtime continues the format-1 chain: its next receipt chains from it.
    resumed = fleet_runtime()
    state = runtime.export_state()
    for chain in state["chains"]:
        if chain["agent_id"] == "alpha":
            chain["receipt"] = heads["alpha"]
    resumed.import_state(json.loads(json.dumps(state)))
    later = resumed.process_line('{"agent_id":"alpha","timestamp":4.0,"action_type":"read"}')
    lines = [
        *old_part,
        encode_record(old_end),
        resumed.last_encoded,
        encode_record(resumed.end_record()),
    ]
    assert later["receipt"] == receipt_of(heads["alpha"], later)
    summary = verify_log(
        lines, BundleIdentity(runtime=runtime.digest, by_agent={}, any_agent=runtime.digest)
    )
    assert (summary.decisions, summary.end_records) == (4, 2)
