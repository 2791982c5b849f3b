"""``nomo run``'s standard output: live inputs flushed per line, finished files in batches.

Whatever the mode, the bytes are the same, only whole lines are ever
written, and a checkpoint is written only after every decision it counts.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nomotic_dsl.cli import fleet as fleet_cli
from nomotic_dsl.cli.main import cli
from tests.fleet.helpers import write
from tests.fleet.test_cli import fleet, run, trace_of  # noqa: F401 (fixture)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Recording(io.TextIOWrapper):
    """A text stream over bytes that records each write reaching the byte buffer."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        raw = self

        class Buffer(io.BytesIO):
            def write(self, data: Any) -> int:
                raw.writes.append(bytes(data))
                return super().write(data)

        super().__init__(Buffer(), encoding="utf-8")


def test_live_output_writes_each_line_at_once() -> None:
    stream = Recording()
    out = fleet_cli._Output(stream, batched=False)
    out.line(b'{"a":1}')
    out.line(b'{"a":2}')
    assert stream.writes == [b'{"a":1}\n', b'{"a":2}\n']


def test_batched_output_waits_for_a_batch_or_a_flush() -> None:
    stream = Recording()
    out = fleet_cli._Output(stream, batched=True)
    with out:
        out.line(b"x" * 10)
        out.line(b"y" * 10)
        assert stream.writes == []
        big = b"z" * fleet_cli._BATCH_BYTES
        out.line(big)
        assert stream.writes == [b"x" * 10 + b"\n" + b"y" * 10 + b"\n" + big + b"\n"]
        out.line(b"last")
        assert len(stream.writes) == 1
    assert stream.writes[-1] == b"last\n"  # leaving the block flushes


def test_text_keeps_its_place_after_pending_lines() -> None:
    stream = Recording()
    out = fleet_cli._Output(stream, batched=True)
    out.line(b"first")
    out.text("second\n")
    stream.flush()
    assert stream.buffer.getvalue() == b"first\nsecond\n"


def test_a_file_and_a_pipe_give_the_same_bytes(fleet: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    lines = trace_of(300)
    trace = write(tmp_path / "t.jsonl", lines)
    base = ["run", str(fleet["bundle"]), "--trust", str(fleet["pub"]), "--format", "jsonl"]
    from_file = run(*base, "--trace", str(trace))
    from_pipe = run(*base, "--trace", "-", stdin="\n".join(lines) + "\n")
    assert from_file.returncode == from_pipe.returncode
    assert from_file.stdout == from_pipe.stdout
    assert len(from_file.stdout.splitlines()) == 301


def test_a_checkpoint_never_counts_a_decision_not_yet_written(
    fleet: dict[str, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trace = write(tmp_path / "t.jsonl", trace_of(60))
    seen: list[tuple[int, int]] = []
    real = fleet_cli.write_checkpoint

    def checking(path: Path, document: dict[str, Any]) -> None:
        # What reached standard output's bytes (CliRunner's BytesIO) when the checkpoint is made.
        written = sys.stdout.buffer.getvalue()  # type: ignore[attr-defined]
        seen.append((document["position"]["observations"], written.count(b"\n")))
        real(path, document)

    monkeypatch.setattr(fleet_cli, "write_checkpoint", checking)
    monkeypatch.setattr(fleet_cli, "_is_regular_file", lambda stream: True)
    bundle, pub, checkpoint = str(fleet["bundle"]), str(fleet["pub"]), str(tmp_path / "cp.json")
    command = ["run", bundle, "--trust", pub, "--trace", str(trace), "--format", "jsonl"]
    command += ["--checkpoint", checkpoint, "--checkpoint-every", "7"]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code in (0, 1), result.output
    assert [count for count, _ in seen][:-1] == list(range(7, 60, 7))
    # Every checkpoint: each decision it counts is already on standard output.
    assert all(lines >= count for count, lines in seen)
    assert seen[-1] == (60, 61)  # the last one, after the end record
    assert json.loads(result.stdout.splitlines()[-1])["end"] is True
