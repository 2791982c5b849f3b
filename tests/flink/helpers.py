"""The Flink tests' material: the fleet example's bundle, a trace with every awkward line, local runs.

``awkward_trace`` is the fleet example's trace (five agents interleaved, with
violations, scope violations and errors) with lines the two engines could
read differently if the Flink side did not read the trace as the local
engine does: blank and whitespace-only lines, CRLF line ends, a carriage
return alone between JSON tokens, invalid UTF-8, a byte-order mark, a line
over 1 MiB, an observation earlier than its agent's previous one, unknown
and missing agents, and a last line without a newline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from nomotic_dsl.compiler.pipeline import build_bundle
from nomotic_dsl.runtime.bundle.keys import verify_key_to_text
from nomotic_dsl.runtime.fleet.observation import MAX_LINE_BYTES

ROOT = Path(__file__).resolve().parents[2]
FLEET_POLICY = ROOT / "examples" / "fleet" / "policy.nomo"
FLEET_TRACE = ROOT / "examples" / "fleet" / "trace.jsonl"
NOMO = [sys.executable, "-m", "nomotic_dsl"]
FLINK = [sys.executable, "-m", "nomotic_dsl.flink"]


@dataclass(frozen=True)
class Fleet:
    """A signed bundle of the fleet example, its public key, and a key nobody trusts."""

    bundle: Path
    pub: Path
    key: SigningKey
    stranger: SigningKey


def make_fleet(folder: Path) -> Fleet:
    key = SigningKey(bytes(range(32)))
    pub = folder / "release.pub"
    pub.write_text(verify_key_to_text(key.verify_key), encoding="ascii")
    bundle = folder / "fleet.nomob"
    build_bundle(FLEET_POLICY, key, bundle)
    return Fleet(bundle, pub, key, SigningKey(bytes(range(1, 33))))


def awkward_trace() -> bytes:
    """The fleet trace with every awkward kind of line inserted (see the module note)."""
    lines = FLEET_TRACE.read_bytes().splitlines(keepends=True)
    first = json.loads(lines[0])
    late = {**first, "timestamp": first["timestamp"] - 60}
    inserted = {
        3: b"\n",
        10: b"   \t \n",
        20: lines[20].rstrip(b"\n") + b"\r\n",
        30: lines[30].replace(b',"timestamp"', b',\r"timestamp"', 1),
        40: b'{"agent_id": "support-bot", "target": "caf\xe9"}\n',
        50: b"\xef\xbb\xbf" + lines[50],
        60: b'{"agent_id": "support-bot", "note": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n',
        70: json.dumps(late).encode() + b"\n",
        80: b'{"agent_id": "nobody", "timestamp": 1712577700, "action_type": "read"}\n',
        90: b"not json at all\r\n",
    }
    out: list[bytes] = []
    for number, line in enumerate(lines):
        if number in inserted:
            out.append(inserted[number])
        out.append(line)
    out.append(
        b'{"agent_id": "etl-pipeline", "timestamp": 1712999999, "action_type": "read", "target": "raw_data"}'
    )
    return b"".join(out)


def run(command: list[str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """A command of this interpreter, bytes out, bounded in time."""
    return subprocess.run(command, input=input, capture_output=True, timeout=600, check=False)


def run_log(fleet: Fleet, trace: Path, *options: str) -> subprocess.CompletedProcess[bytes]:
    """``nomo run --format jsonl`` of the fleet's bundle on ``trace``, with ``options``."""
    command = [*NOMO, "run", str(fleet.bundle), "--trust", str(fleet.pub)]
    return run([*command, "--trace", str(trace), "--format", "jsonl", *options])


def local_log(fleet: Fleet, trace: Path) -> subprocess.CompletedProcess[bytes]:
    """``nomo run --engine local --format jsonl``: the decisions Flink must reproduce."""
    return run_log(fleet, trace)
