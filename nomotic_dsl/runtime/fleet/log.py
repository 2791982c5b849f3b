"""Verifying a decision log: every receipt, every chain, the order, and the end.

Input: the lines of a decision log (what ``nomo run --format jsonl`` wrote)
and the bundles it was made under. Output: a ``LogSummary`` when the log is
intact, else ``LogError`` naming the first bad line and what is wrong with
it. Stage: runtime tooling behind ``nomo log verify``; nothing is evaluated,
no generated code runs.

What is checked, line by line:
- each line is one JSON object with exactly the decision (or end record)
  fields, no duplicate keys;
- ``bundle`` is the bundle the agent's contract came from (or, for an
  observation no contract took, the runtime's digest);
- ``seq`` is one more than the agent's previous decision's, and ``receipt``
  is SHA-256 of the previous receipt (the bundle digest for the first) and
  the record's canonical bytes;
- ``line`` strictly increases through the log (a log written in trace order);
  with ``interleaved`` (logs of engines that keep only each agent's order)
  it must increase within each agent's chain;
- an end record counts every decision before it and its ``heads`` digest
  covers every chain's length and last receipt;
- the log ends with an end record: a log cut anywhere, even after its last
  decision, is refused; an end record never directly follows another.

So an altered, dropped, inserted or reordered line is found at that line or
at the first later line of the same agent (or at the end record). The chain
proves integrity relative to its end: anyone can recompute SHA-256, so to
make a log tamper-evident, keep (or publish) the end record's receipt
elsewhere and pass it as ``expected_head``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nomotic_dsl.ir.canonical import has_lone_surrogate
from nomotic_dsl.ir.frozen import json_problems
from nomotic_dsl.runtime.fleet.decision import (
    DECISION_FIELDS,
    END_FIELDS,
    encode_record,
    heads_digest,
    legacy_receipt_of,
    receipt_of,
)

MAX_LOG_LINE_BYTES = 16 * 1024 * 1024


class LogError(ValueError):
    """A decision log that is not intact; ``line`` is the first bad line (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class LogSummary:
    """What an intact log holds."""

    decisions: int
    chains: int
    end_records: int
    head: str
    errors: int


@dataclass(frozen=True, slots=True)
class BundleIdentity:
    """Which digest each agent's decisions must name: what the runtime's routing gives."""

    runtime: str
    by_agent: Mapping[str, str]
    any_agent: str | None = None

    def expected(self, agent_id: str | None) -> str:
        """The ``bundle`` a decision of ``agent_id`` names."""
        if agent_id is not None and agent_id in self.by_agent:
            return self.by_agent[agent_id]
        if self.any_agent is not None:
            return self.any_agent
        return self.runtime


Receipter = Callable[[str, Mapping[str, Any], Sequence[str]], str]


def _format_1(previous: str, record: Mapping[str, Any], fields: Sequence[str]) -> str:
    return legacy_receipt_of(previous, record)


# Receipt formats, newest first: a part of a log uses the first whose receipt its first record has.
RECEIPT_FORMATS: tuple[tuple[int, Receipter], ...] = ((2, receipt_of), (1, _format_1))


@dataclass(slots=True)
class _Part:
    """The part of a log up to its end record: which receipt format it was written in."""

    receipts: Receipter | None = None

    def receipt(self, previous: str, record: Mapping[str, Any], fields: Sequence[str]) -> str:
        """The receipt ``record`` must have; the first record of a part fixes the format."""
        if self.receipts is not None:
            return self.receipts(previous, record, fields)
        first = ""
        for _number, receipts in RECEIPT_FORMATS:
            receipt = receipts(previous, record, fields)
            first = first or receipt
            if receipt == record.get("receipt"):
                self.receipts = receipts
                return receipt
        return first


@dataclass(slots=True)
class _Chain:
    bundle: str
    seq: int
    receipt: str
    line: int
    log_line: int


def verify_log(
    lines: Iterable[bytes],
    identity: BundleIdentity,
    *,
    interleaved: bool = False,
    expected_head: str | None = None,
) -> LogSummary:
    """Check every line of a decision log; LogError at the first that is not right."""
    chains: dict[str | None, _Chain] = {}
    decisions = errors = ends = 0
    last_line = 0
    number = 0
    head: str | None = None
    ended = False
    part = _Part()
    for number, raw in enumerate(lines, start=1):
        record = _parse(raw, number)
        if "end" in record:
            if ended:
                raise LogError(number, "an end record follows an end record: it was inserted")
            head = _check_end(record, number, identity, chains, decisions, last_line, part)
            ends += 1
            ended = True
            part = _Part()
            continue
        _check_decision(record, number, identity, chains, last_line, interleaved, part)
        last_line = max(last_line, record["line"])
        decisions += 1
        errors += record["error"] is not None
        ended = False
    if number == 0:
        raise LogError(1, "the log is empty: it has no end record")
    if not ended or head is None:
        raise LogError(
            number + 1,
            "the log does not end with an end record: it was cut after line "
            f"{number} (decisions or the end record are missing)",
        )
    if expected_head is not None and head != expected_head:
        raise LogError(
            number, f"the end record's receipt is {head}, not the expected {expected_head}"
        )
    return LogSummary(decisions, len(chains), ends, head, errors)


def _parse(raw: bytes, number: int) -> dict[str, Any]:
    if len(raw) > MAX_LOG_LINE_BYTES:
        raise LogError(number, f"line is longer than {MAX_LOG_LINE_BYTES} bytes")
    try:
        record = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique, parse_constant=_bad)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LogError(number, f"not a JSON record: {exc}") from None
    if not isinstance(record, dict):
        raise LogError(number, "not a JSON object")
    # What no line the runtime writes can hold (and so what cannot be written again to
    # compare): a number past the float range (1e999 reads as infinity), a lone surrogate.
    unwritable = json_problems(record, "line")
    if unwritable:
        raise LogError(number, f"not a record the runtime writes: {unwritable[0].message}")
    if has_lone_surrogate(record):
        raise LogError(number, "not a record the runtime writes: a string holds a lone surrogate")
    expected = tuple(END_FIELDS if "end" in record else DECISION_FIELDS)
    body = raw[:-1] if raw.endswith(b"\n") else raw
    if set(record) == set(expected) and body != encode_record({k: record[k] for k in expected}):
        raise LogError(
            number, "the line is not in the exact form the runtime writes: it was edited"
        )
    return record


def _check_decision(
    record: dict[str, Any],
    number: int,
    identity: BundleIdentity,
    chains: dict[str | None, _Chain],
    last_line: int,
    interleaved: bool,
    part: _Part,
) -> None:
    if set(record) != set(DECISION_FIELDS):
        missing = sorted(set(DECISION_FIELDS) - set(record))
        extra = sorted(set(record) - set(DECISION_FIELDS))
        raise LogError(
            number,
            f"not a decision record (missing: {', '.join(missing) or 'none'}; "
            f"unknown: {', '.join(extra) or 'none'})",
        )
    agent = record["agent_id"]
    if agent is not None and not isinstance(agent, str):
        raise LogError(number, "agent_id must be a string or null")
    trace_line = record["line"]
    if not _whole(trace_line) or trace_line < 1:
        raise LogError(number, "line must be a whole number, at least 1")
    chain = chains.get(agent)
    if not interleaved and trace_line <= last_line:
        raise LogError(
            number,
            f"decision for trace line {trace_line} comes after the one for line {last_line}: "
            "lines were reordered or inserted",
        )
    if interleaved and chain is not None and trace_line <= chain.line:
        raise LogError(
            number,
            f"the decision of agent {agent!r} for trace line {trace_line} comes after its "
            f"decision for line {chain.line}: the agent's decisions were reordered",
        )
    expected = identity.expected(agent)
    if record["bundle"] != expected:
        raise LogError(
            number,
            f"bundle is {record['bundle']!r}; the decisions of agent {agent!r} name {expected}",
        )
    seq = record["seq"]
    previous_seq = 0 if chain is None else chain.seq
    if seq != previous_seq + 1:
        where = "" if chain is None else f" (log line {chain.log_line})"
        raise LogError(
            number,
            f"decision {seq!r} of agent {agent!r} follows its decision {previous_seq}{where}: "
            + (
                "decisions are missing or reordered before it"
                if _whole(seq) and seq > previous_seq + 1
                else "decisions were inserted, repeated or reordered"
            ),
        )
    previous = expected if chain is None else chain.receipt
    try:
        receipt = part.receipt(previous, record, DECISION_FIELDS)
    except ValueError as exc:
        raise LogError(number, f"the record cannot be put in canonical form: {exc}") from None
    if record["receipt"] != receipt:
        raise LogError(
            number,
            "receipt does not match: this record, or the previous decision of agent "
            f"{agent!r}, was altered or removed",
        )
    chains[agent] = _Chain(expected, seq, receipt, trace_line, number)


def _check_end(
    record: dict[str, Any],
    number: int,
    identity: BundleIdentity,
    chains: dict[str | None, _Chain],
    decisions: int,
    last_line: int,
    part: _Part,
) -> str:
    if set(record) != set(END_FIELDS) or record["end"] is not True:
        raise LogError(number, f"not an end record (expected exactly {', '.join(END_FIELDS)})")
    if record["bundle"] != identity.runtime:
        raise LogError(
            number, f"end record names bundle {record['bundle']!r}, not {identity.runtime}"
        )
    if record["decisions"] != decisions:
        raise LogError(
            number,
            f"end record counts {record['decisions']!r} decisions but the log holds {decisions} "
            "before it: decisions were removed or inserted",
        )
    if record["chains"] != len(chains):
        raise LogError(
            number,
            f"end record counts {record['chains']!r} agents but the log has {len(chains)}",
        )
    if not _whole(record["line"]) or record["line"] < last_line:
        raise LogError(number, f"end record line {record['line']!r} is before line {last_line}")
    digest = heads_digest((agent, chain.seq, chain.receipt) for agent, chain in chains.items())
    if record["heads"] != digest:
        raise LogError(
            number,
            "end record's heads do not match the agents' last decisions: a last decision was "
            "removed or altered",
        )
    receipt = part.receipt(digest, record, END_FIELDS)
    if record["receipt"] != receipt:
        raise LogError(number, "end record's receipt does not match: the end record was altered")
    return receipt


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears more than once")
        out[key] = value
    return out


def _bad(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")
