"""The Flink engine's parts that need no Flink: staging, per-key state in a task, order, collation.

Every test here drives the very functions the job's tasks and its client
run (``records``, ``keeper``, ``ordering``, ``collate``) with keyed state
held in a dict, on a trace with every awkward kind of line, and compares
with ``nomo run --engine local`` byte for byte. The Flink jobs themselves
are in ``test_jobs.py``. Also the command-line checks that stop a run before
any job starts.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from nomotic_dsl.cli.main import cli
from nomotic_dsl.compiler.seal import assemble_bundle
from nomotic_dsl.flink import cli as flink_cli
from nomotic_dsl.flink import local as flink_local
from nomotic_dsl.flink.collate import collate
from nomotic_dsl.flink.keeper import AgentKeeper, TaskRefused, task_runtime
from nomotic_dsl.flink.ordering import Closer, OrderError, in_trace_order
from nomotic_dsl.flink.records import RecordError, from_payload, from_staged, raw_record
from nomotic_dsl.flink.spec import (
    FileInput,
    FileOutput,
    JobOptionError,
    JobSpec,
    flink_config,
    job_spec,
    verify_for_job,
)
from nomotic_dsl.flink.staging import StagedTrace, stage_trace
from nomotic_dsl.runtime.bundle.keys import verify_key_to_text
from nomotic_dsl.runtime.fleet import FleetConfig
from nomotic_dsl.runtime.fleet.routing import Routing
from tests.bundle.conftest import make_contents
from tests.flink.helpers import FLEET_POLICY, Fleet, awkward_trace, local_log, make_fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return make_fleet(tmp_path_factory.mktemp("fleet"))


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "awkward.jsonl"
    path.write_bytes(awkward_trace())
    return path


@pytest.fixture(scope="module")
def local(fleet: Fleet, trace: Path) -> list[bytes]:
    done = local_log(fleet, trace)
    assert done.returncode == 1, done.stderr
    return done.stdout.splitlines()


def staged_spec(fleet: Fleet, trace: Path, folder: Path) -> tuple[StagedTrace, JobSpec]:
    verified = verify_for_job(fleet.bundle, [fleet.pub])
    routing = Routing.of(verified.agents, not verified.agents)
    with trace.open("rb") as stream:
        staged = stage_trace(stream, folder / "trace.staged", routing)
    spec = job_spec(
        verified,
        FleetConfig(),
        FileInput((str(staged.path),), staged=True),
        FileOutput(str(folder / "decisions")),
        live_agents=2,
    )
    return staged, spec


def test_staged_lines_carry_every_line_as_the_local_engine_reads_it(
    fleet: Fleet, trace: Path, local: list[bytes], tmp_path: Path
) -> None:
    staged, _spec = staged_spec(fleet, trace, tmp_path)
    records = [from_staged(text) for text in staged.path.read_text("utf-8").splitlines()]
    decided = [json.loads(line) for line in local[:-1]]
    assert [r.line for r in records] == [d["line"] for d in decided] == list(staged.decisions)
    assert [r.agent_id for r in records] == [d["agent_id"] for d in decided]
    assert staged.lines == json.loads(local[-1])["line"] == len(trace.read_bytes().split(b"\n"))
    assert b"\r" in b"".join(r.data or b"" for r in records)  # CRLF and the lone CR kept
    assert all("\r" not in text for text in staged.path.read_text("utf-8").splitlines())
    for record in records:
        assert from_payload(record.line, record.key, record.payload()) == record


def test_raw_lines_and_bad_records() -> None:
    routing = Routing.of(["a", "b"])
    assert raw_record(3, b"  \t", routing) is None
    long = raw_record(4, b"{" + b" " * (1024 * 1024), routing)
    assert long is not None and long.data is None and "longer than" in (long.problem or "")
    named = raw_record(5, b'{"agent_id": "b"}', routing)
    assert named is not None and named.key == "b" and named.data == b'{"agent_id": "b"}'
    for bad in ("1\tk", "x\tk\t=AA==", "0\tk\t=AA==", "1\tk\t?x", "1\tk\t=not base64!"):
        with pytest.raises(RecordError):
            from_staged(bad)


def keeper_run(spec: JobSpec, staged: StagedTrace, live_agents: int) -> tuple[list[bytes], int]:
    """The staged trace through one AgentKeeper, keyed state in a dict, end record by Closer.

    Also checks, after every decision, that what the Closer reads off the
    decisions as unmeasured is what the runtime holds.
    """
    keeper = AgentKeeper(task_runtime(spec), live_agents)
    state: dict[str, str] = {}
    closer = Closer()
    out = []
    for text in staged.path.read_text("utf-8").splitlines():
        record = from_staged(text)
        outcome = keeper.decide(record, state.get(record.key))
        state[record.key] = outcome.state
        closer.add(outcome.decision)
        assert closer.unmeasured().get(record.agent_id, []) == list(outcome.unmeasured)
        out.append(json.dumps(outcome.decision, separators=(",", ":"), ensure_ascii=False))
    out.append(json.dumps(closer.end(spec.digest, staged.lines), separators=(",", ":")))
    return [line.encode() for line in out], keeper.imports


@pytest.mark.parametrize("live_agents", [1, 3, 1000])
def test_a_task_with_state_per_key_writes_the_local_log(
    fleet: Fleet, trace: Path, local: list[bytes], tmp_path: Path, live_agents: int
) -> None:
    staged, spec = staged_spec(fleet, trace, tmp_path)
    decided, imports = keeper_run(spec, staged, live_agents)
    assert decided == local
    # An agent evicted from the live set comes back from its stored text (imported).
    expected = {1: (300, 752), 3: (1, 300), 1000: (0, 0)}[live_agents]
    assert expected[0] <= imports <= expected[1]


def test_a_task_refuses_a_bad_bundle_before_its_code_runs(
    fleet: Fleet, trace: Path, tmp_path: Path
) -> None:
    _staged, spec = staged_spec(fleet, trace, tmp_path)
    marker = tmp_path / "imported.marker"
    signed = assemble_bundle(make_contents(marker), fleet.key)
    # Signed by a key the client never trusted, or by the right key but altered.
    for data in (
        assemble_bundle(make_contents(marker), fleet.stranger),
        signed[:-40] + signed[-39:] + b"x",
    ):
        with pytest.raises(TaskRefused, match="refused in a Flink task before any of its code ran"):
            task_runtime(replace(spec, bundle=data))
    assert not marker.exists()
    # The marker does work: a bundle that passes is loaded, and its code runs.
    with pytest.raises(TaskRefused, match=r"not the .* the client verified"):
        task_runtime(replace(spec, bundle=signed))
    assert marker.read_text() == "imported\n"


def test_a_task_refuses_bad_stored_state_and_a_record_keyed_elsewhere(
    fleet: Fleet, trace: Path, tmp_path: Path
) -> None:
    staged, spec = staged_spec(fleet, trace, tmp_path)
    keeper = AgentKeeper(task_runtime(spec), 10)
    first = from_staged(staged.path.read_text("utf-8").splitlines()[0])
    with pytest.raises(TaskRefused, match="stored state of agent 'support-bot' is not valid"):
        keeper.decide(first, '{"format": "something else"}')
    with pytest.raises(TaskRefused, match="keyed to agent 'elsewhere'"):
        keeper.decide(replace(first, key="elsewhere"), None)


def test_tasks_streams_merge_into_trace_order_each_line_once() -> None:
    tasks = [iter([(2, "a"), (5, "b"), (9, "c")]), iter([(3, "d"), (8, "e")])]
    assert [line for line, _ in in_trace_order(tasks, [2, 3, 5, 8, 9])] == [2, 3, 5, 8, 9]
    cases = [
        ([[(2, "")], [(2, "")]], None, "decided twice"),
        ([[(1, ""), (3, "")]], [1, 2, 3], "decided trace line 3 where trace line 2 was due"),
        ([[(1, "")]], [1, 2], "no decision for trace line 2"),
        ([[(1, ""), (2, "")]], [1], "where no more was due"),
    ]
    for streams, expected, message in cases:
        with pytest.raises(OrderError, match=message):
            list(in_trace_order([iter(stream) for stream in streams], expected))


def test_collating_part_files_gives_the_local_log(
    fleet: Fleet, local: list[bytes], tmp_path: Path
) -> None:
    """Two tasks' part files (agents split between them, each task's in order) -> the log."""
    rng = random.Random(7)
    tasks: dict[str, list[bytes]] = {}
    owner: dict[object, str] = {}
    for line in local[:-1]:
        agent = json.loads(line)["agent_id"]
        task = owner.setdefault(agent, rng.choice(["9e1f-aa", "0c2d-bb"]))
        tasks.setdefault(task, []).append(line)
    for task, lines in tasks.items():
        half = len(lines) // 2
        for part, chunk in enumerate((lines[:half], lines[half:])):
            name = tmp_path / "out" / f"decisions-{task}-{part}.jsonl"
            name.parent.mkdir(exist_ok=True)
            name.write_bytes(b"".join(line + b"\n" for line in chunk))
    (tmp_path / "out" / ".decisions-x-2.jsonl.inprogress.1").write_text("ignored")
    digest = json.loads(local[-1])["bundle"]
    last = json.loads(local[-1])["line"]
    assert [t.encode() for t in collate([tmp_path / "out"], digest, last)] == local
    (tmp_path / "out" / "decisions-0c2d-bb-7.jsonl").write_bytes(local[0] + b"\n")
    with pytest.raises(OrderError, match="decided twice"):
        list(collate([tmp_path / "out"], digest, last))


def test_options_that_depend_on_the_whole_fleet_are_refused() -> None:
    assert flink_config(FleetConfig(session_idle_seconds=30))["session_idle_seconds"] == 30
    for config in (FleetConfig(agent_idle_seconds=60), FleetConfig(max_agents=3)):
        with pytest.raises(JobOptionError, match="each Flink task sees only its own agents"):
            flink_config(config)


def test_nomo_run_engine_flink_stops_before_any_job(
    fleet: Fleet, trace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_job(*args: object) -> None:
        raise AssertionError("a Flink job was started")

    monkeypatch.setattr(flink_local, "run_job", no_job)
    monkeypatch.setattr("nomotic_dsl.flink.available", lambda: True)  # no job needs it here
    runner = CliRunner()
    base = ["run", str(fleet.bundle), "--trust", str(fleet.pub), "--trace", str(trace)]
    data = fleet.bundle.read_bytes()
    tampered = tmp_path / "tampered.nomob"
    tampered.write_bytes(data[:-40] + bytes([data[-40] ^ 1]) + data[-39:])
    refused = runner.invoke(cli, ["run", str(tampered), *base[2:], "--engine", "flink"])
    assert refused.exit_code == 1 and "refused" in refused.output, refused.output
    misuse = {
        "--follow": ["--follow"],
        "--checkpoint": ["--checkpoint", str(tmp_path / "c.json")],
        "--agent-idle": ["--agent-idle", "60"],
        "--max-agents": ["--max-agents", "2"],
    }
    for name, extra in misuse.items():
        result = runner.invoke(cli, [*base, "--engine", "flink", *extra])
        assert result.exit_code == 2 and name in result.output, (name, result.output)
        assert "Traceback" not in result.output
    policy = tmp_path / "p.nomo"
    policy.write_bytes(FLEET_POLICY.read_bytes())
    source = runner.invoke(cli, ["run", str(policy), *base[2:], "--engine", "flink"])
    assert source.exit_code == 2 and "runs a sealed bundle" in source.output, source.output
    alone = runner.invoke(cli, [*base, "--parallelism", "2"])
    assert alone.exit_code == 2 and "--parallelism needs --engine flink" in alone.output
    monkeypatch.setattr("nomotic_dsl.flink.available", lambda: False)
    missing = runner.invoke(cli, [*base, "--engine", "flink"])
    assert missing.exit_code == 2 and "pip install 'nomotic-dsl[flink]'" in missing.output


def test_the_cluster_command_checks_its_options(
    fleet: Fleet, trace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flink_cli, "available", lambda: True)  # every case stops before a job
    runner = CliRunner()
    base = ["run", "--bundle", str(fleet.bundle), "--trust", str(fleet.pub)]
    cases = [
        ([], "give either --trace"),
        (["--trace", str(trace)], "give either --output"),
        (["--kafka-topic", "t", "--output", "o"], "--kafka-topic needs --kafka-servers and --jar"),
        (["--trace", str(trace), "--kafka-output-topic", "t"], "needs --kafka-servers"),
    ]
    for extra, message in cases:
        result = runner.invoke(flink_cli.main, [*base, *extra])
        assert result.exit_code == 2 and message in result.output, (extra, result.output)
    gone = runner.invoke(flink_cli.main, [*base, "--trace", str(tmp_path / "no"), "--output", "o"])
    assert gone.exit_code == 1 and "no such file" in gone.output
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(verify_key_to_text(fleet.stranger.verify_key), encoding="ascii")
    refused = runner.invoke(
        flink_cli.main,
        [
            "run",
            "--bundle",
            str(fleet.bundle),
            "--trust",
            str(stranger),
            "--trace",
            str(trace),
            "--output",
            str(tmp_path / "out"),
        ],
    )
    assert refused.exit_code == 1 and "refused: no signature from a trusted key" in refused.output
    assert not (tmp_path / "out").exists()
    staged = runner.invoke(
        flink_cli.main,
        [
            "stage",
            str(trace),
            "--bundle",
            str(fleet.bundle),
            "--trust",
            str(fleet.pub),
            "-o",
            str(tmp_path / "t.staged"),
            "--after",
            "0",
        ],
    )
    assert staged.exit_code == 0 and "observations, lines 1-" in staged.output, staged.output
    not_folder = runner.invoke(
        flink_cli.main,
        ["collate", str(trace), "--bundle", str(fleet.bundle), "--trust", str(fleet.pub)],
    )
    assert not_folder.exit_code == 1 and "not a folder" in not_folder.output
    with io.BytesIO(b"") as empty:
        assert len(stage_trace(empty, tmp_path / "e.staged", Routing.of([])).decisions) == 0


def _decide_without_flink(self: flink_local.LocalRun) -> None:
    """``LocalRun.run`` with one task and no Flink: the keeper writes the part file."""
    keeper = AgentKeeper(task_runtime(self.spec), 10)
    state: dict[str, str] = {}
    self.output.mkdir(parents=True)
    with (self.output / "decisions-0a1b-0.jsonl").open("w", encoding="utf-8") as out:
        for text in self.staged.path.read_text("utf-8").splitlines():
            record = from_staged(text)
            outcome = keeper.decide(record, state.get(record.key))
            state[record.key] = outcome.state
            out.write(json.dumps(outcome.decision, separators=(",", ":"), ensure_ascii=False))
            out.write("\n")


@pytest.mark.parametrize(
    "extra", [["--format", "text"], ["--format", "json"], ["--require-measured"]]
)
def test_every_output_format_of_the_flink_client_is_the_local_engines(
    fleet: Fleet, trace: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    """The client side of ``--engine flink`` (merge, end record, summary, exit code), no job."""
    monkeypatch.setattr(flink_local.LocalRun, "run", _decide_without_flink)
    monkeypatch.setattr("nomotic_dsl.flink.available", lambda: True)  # no job needs it here
    runner = CliRunner()
    base = ["run", str(fleet.bundle), "--trust", str(fleet.pub), "--trace", str(trace), *extra]
    local = runner.invoke(cli, base)
    flink = runner.invoke(cli, [*base, "--engine", "flink"])
    assert flink.output == local.output and flink.exit_code == local.exit_code == 1
    if extra == ["--format", "text"]:
        assert "751 observations from 6 agents: 3 violations" in local.output


def test_a_job_that_left_a_decision_out_is_reported(
    fleet: Fleet, trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lose_one(self: flink_local.LocalRun) -> None:
        _decide_without_flink(self)
        self.check()
        part = self.output / "decisions-0a1b-0.jsonl"
        lines = part.read_text("utf-8").splitlines(keepends=True)
        part.write_text("".join(lines[:10] + lines[11:]), encoding="utf-8")
        self.check()

    monkeypatch.setattr(flink_local.LocalRun, "run", lose_one)
    monkeypatch.setattr("nomotic_dsl.flink.available", lambda: True)
    base = ["run", str(fleet.bundle), "--trust", str(fleet.pub), "--trace", str(trace)]
    result = CliRunner().invoke(cli, [*base, "--engine", "flink", "--format", "jsonl"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "the job's decisions are not complete: the job decided trace line 14 where trace " in (
        result.stderr
    )


def test_the_benchmark_section_says_why_it_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from nomotic_dsl.bench import flink as bench_flink

    monkeypatch.setattr("nomotic_dsl.flink.available", lambda: False)
    report = bench_flink.run_flink(bench_flink.QUICK)
    assert report == {"skipped": "the Flink engine needs PyFlink: pip install 'nomotic-dsl[flink]'"}
    assert bench_flink.flink_rows(report)[0][1] == "skipped"
    guess = bench_flink.estimate(
        1000.0, 1500.0, 3000.0, {"front_end_s": 2**-17, "state_bytes_per_agent": 4000.0}
    )
    assert guess["measured_scaling_efficiency_2_tasks"] == 0.75
    assert guess["process_task_slots"] == 1250 and guess["process_machines_of_16_cores"] == 84
    assert guess["thread_task_managers"] == 371 and guess["input_partitions"] == 8


def test_the_flink_client_reads_standard_input_like_the_local_engine(
    fleet: Fleet, trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flink_local.LocalRun, "run", _decide_without_flink)
    monkeypatch.setattr("nomotic_dsl.flink.available", lambda: True)  # no job needs it here
    runner = CliRunner()
    base = [
        "run",
        str(fleet.bundle),
        "--trust",
        str(fleet.pub),
        "--trace",
        "-",
        "--format",
        "jsonl",
    ]
    local = runner.invoke(cli, base, input=trace.read_bytes())
    flink = runner.invoke(cli, [*base, "--engine", "flink"], input=trace.read_bytes())
    assert flink.stdout_bytes == local.stdout_bytes and flink.exit_code == local.exit_code == 1
    assert len(local.stdout_bytes.splitlines()) == 752
