"""Decision records and their receipts: one per observation, chained per agent.

Input: what one observation did (or the error it raised). Output: the
decision record, a JSON-clean dict whose ``receipt`` chains it to the agent's
previous decision, and end records that close a log. Stage: runtime output;
``log`` verifies what this module writes.

Receipts: ``receipt = SHA-256(previous receipt bytes || the record's line
without its receipt)``, hex, where the line without its receipt is the
compact JSON of the record's other fields in field order: exactly the bytes
the log holds, less the ``"receipt"`` member. An agent's first decision
chains from the bundle digest (``bundle``, the manifest's SHA-256). Chains
are per agent (the decision's ``agent_id``, null included) so that an
engine that processes agents in parallel (issue 15's Flink job, keyed by
agent) produces the very same receipts; the log's global order is covered
by ``line`` (strictly increasing in a log written in trace order) and its
completeness by the end record, whose ``heads`` digest covers every chain's
last receipt and length.

Each record is serialised once: its compact body is hashed for the receipt,
and the receipt joins the body as its last field to make the line
(``decision_entry``), which is ``encode_record`` of the finished record
byte for byte. Logs written before this form (receipt format 1) chained
the record's canonical JSON (sorted keys) instead; ``legacy_receipt_of``
computes those so that ``nomo log verify`` still checks such logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from nomotic_dsl.ir.canonical import canonical_json, compact_finite, compact_text

DECISION_FIELDS: tuple[str, ...] = (
    "line",
    "agent_id",
    "session_id",
    "timestamp",
    "seq",
    "bundle",
    "contract",
    "violated",
    "changed",
    "counts",
    "drift",
    "drift_source",
    "drift_exceedances",
    "scope",
    "error",
    "receipt",
)
END_FIELDS: tuple[str, ...] = ("end", "line", "bundle", "decisions", "chains", "heads", "receipt")


def encode_record(record: Mapping[str, Any]) -> bytes:
    """The exact bytes of a record's log line (without the newline): compact JSON, field order.

    A log is written in this form and ``nomo log verify`` requires it, so even
    a change that keeps the JSON value (spacing, key order) is found.
    """
    return compact_text(record).encode("utf-8")


def receipt_of(
    previous: str, record: Mapping[str, Any], fields: Sequence[str] = DECISION_FIELDS
) -> str:
    """The receipt of ``record`` (its ``receipt`` field ignored), chained to ``previous``.

    ``fields`` is the record's field order (``END_FIELDS`` for an end record):
    the receipt covers the compact body in that order, as the line holds it.
    """
    chained = bytes.fromhex(previous)
    body = {key: record[key] for key in fields if key != "receipt"}
    return _chained(chained, compact_text(body))


def legacy_receipt_of(previous: str, record: Mapping[str, Any]) -> str:
    """A receipt of format 1 (logs written before receipts covered the line): canonical JSON."""
    body = {key: value for key, value in record.items() if key != "receipt"}
    return hashlib.sha256(bytes.fromhex(previous) + canonical_json(body)).hexdigest()


def _chained(previous: bytes, body: str | bytes) -> str:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hashlib.sha256(previous + data).hexdigest()


def _with_receipt(body: bytes, receipt: str) -> bytes:
    """The line: the compact body (which ends with ``}``) with the receipt as its last field.

    A receipt is 64 hex digits, which JSON writes as they are.
    """
    return body[:-1] + b',"receipt":"' + receipt.encode("ascii") + b'"}'


def chain_sort_key(agent_id: str | None) -> tuple[int, str]:
    """The order chains are listed in: the agent-less chain first, then by agent id."""
    return (0, "") if agent_id is None else (1, agent_id)


def heads_digest(heads: Iterable[tuple[str | None, int, str]]) -> str:
    """SHA-256 of every chain's ``[agent_id, decisions, last receipt]``, in chain order."""
    ordered = sorted(heads, key=lambda head: chain_sort_key(head[0]))
    return hashlib.sha256(canonical_json([list(head) for head in ordered])).hexdigest()


def end_record(
    *, line: int, bundle: str, decisions: int, heads: Sequence[tuple[str | None, int, str]]
) -> dict[str, Any]:
    """The record that closes a log: how many decisions, every chain's head, and a receipt.

    Its receipt chains from the heads digest, so one value (the end record's
    receipt) anchors the whole log.
    """
    digest = heads_digest(heads)
    record: dict[str, Any] = {
        "end": True,
        "line": line,
        "bundle": bundle,
        "decisions": decisions,
        "chains": len(heads),
        "heads": digest,
    }
    record["receipt"] = _chained(bytes.fromhex(digest), compact_text(record))
    return record


def decision_entry(
    *,
    line: int,
    agent_id: str | None,
    session_id: str | None,
    timestamp: float | None,
    seq: int,
    bundle: str,
    contract: Mapping[str, Any] | None,
    violated: Sequence[str] = (),
    changed: Sequence[Mapping[str, Any]] = (),
    counts: Mapping[str, int] | None = None,
    drift: Mapping[str, float] | None = None,
    drift_source: str | None = None,
    drift_exceedances: Sequence[Mapping[str, Any]] = (),
    scope: Mapping[str, str] | None = None,
    error: str | None = None,
    previous: str,
    finite: bool = False,
) -> tuple[dict[str, Any], bytes]:
    """A decision record in field order, its receipt chained to ``previous``, and its line.

    The line is ``encode_record`` of the record, byte for byte. ``finite``
    says no float in the record is NaN or infinite (the runtime's decisions:
    times, scores and thresholds are all checked finite on the way in), which
    lets the body be encoded by ``compact_finite``.
    """
    record: dict[str, Any] = {
        "line": line,
        "agent_id": agent_id,
        "session_id": session_id,
        "timestamp": timestamp,
        "seq": seq,
        "bundle": bundle,
        "contract": None if contract is None else dict(contract),
        "violated": list(violated),
        "changed": [dict(entry) for entry in changed] if changed else [],
        "counts": None if counts is None else dict(counts),
        "drift": {} if drift is None else dict(drift),
        "drift_source": drift_source,
        "drift_exceedances": [dict(entry) for entry in drift_exceedances]
        if drift_exceedances
        else [],
        "scope": None if scope is None else dict(scope),
        "error": error,
    }
    return record, seal(record, previous, finite=finite)


def seal(
    record: dict[str, Any], previous: str, *, finite: bool = False, tiny: bool = True
) -> bytes:
    """Chain ``record`` to ``previous``: its receipt joins it as the last field; its line returned.

    ``record`` holds the other fields in ``DECISION_FIELDS`` order. ``finite``
    as for ``decision_entry``. ``tiny`` False says, further, that no float in
    the record lies strictly between -1e-4 and 1e-4 (floats orjson writes
    otherwise than json), so its output needs no search for them: the
    runtime's own decisions, whose only floats are the time, drift scores and
    thresholds, say so after looking at those.
    """
    chained = bytes.fromhex(previous)  # first: a bad previous receipt fails as it always did
    if not finite:
        body = compact_text(record).encode("utf-8")
    elif tiny:
        body = compact_finite(record)
    else:
        try:
            body = orjson.dumps(record)
        except (TypeError, orjson.JSONEncodeError):
            body = compact_text(record).encode("utf-8")
    receipt = _chained(chained, body)
    record["receipt"] = receipt
    return _with_receipt(body, receipt)


def has_tiny(values: Iterable[float]) -> bool:
    """Whether any of ``values`` lies strictly between -1e-4 and 1e-4 but is not zero."""
    return any(0.0 < abs(value) < 1e-4 for value in values)
