"""``python -m nomotic_dsl.flink run | stage | collate``: the job for a real Flink cluster.

Input: command-line arguments: a bundle and trusted keys, where observations
come from (trace files or folders, staged or raw, optionally watched; or a
Kafka topic), where decisions go (a folder of part files, the task
managers' stdout, or a Kafka topic), and the job's options (parallelism,
checkpoints, a savepoint to restore, the cluster's REST address, connector
jars). Output: a submitted (or finished) job; staged traces; a collated
decision log. Exit codes: 0 ok, 1 a refused bundle, a failed job or bad
input, 2 misuse. Stage: Flink shell, client side.

``flink run -py nomotic_dsl/flink/__main__.py run ...`` (or ``-pym
nomotic_dsl.flink``) runs the same ``run`` inside the Flink client, which
then submits to its cluster; without it, ``--jobmanager HOST:PORT`` submits
to a cluster's REST endpoint, and neither runs a local mini-cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from nomotic_dsl.cli.output import INPUT_FILE, fail_input
from nomotic_dsl.flink import INSTALL_HINT, available
from nomotic_dsl.flink.ordering import OrderError
from nomotic_dsl.flink.spec import (
    DEFAULT_CHECKPOINT_MS,
    DEFAULT_LIVE_AGENTS,
    FileInput,
    FileOutput,
    JobOptionError,
    KafkaInput,
    KafkaOutput,
    PrintOutput,
    Sink,
    Source,
    job_spec,
    verify_for_job,
)
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.fleet.config import (
    DEFAULT_DRIFT_WINDOW,
    DEFAULT_MIN_DRIFT_OBSERVATIONS,
    FleetConfig,
)
from nomotic_dsl.runtime.fleet.routing import Routing

_SECONDS = click.FloatRange(min=0, min_open=True)
_BUNDLE = click.option("--bundle", "bundle", required=True, type=INPUT_FILE, help="Sealed bundle.")
_TRUST = click.option(
    "--trust",
    "trusted",
    multiple=True,
    required=True,
    type=INPUT_FILE,
    help="Public key file to trust (repeat for several).",
)


def _misuse(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """The fleet runtime as a Flink job: submit it, stage traces for it, collate its decisions."""


@main.command("run")
@_BUNDLE
@_TRUST
@click.option(
    "--trace",
    "traces",
    multiple=True,
    help="A trace file or a folder of them (read by Flink's file source; repeatable).",
)
@click.option("--staged", is_flag=True, help="The trace files were written by `stage`.")
@click.option(
    "--watch",
    "watch_seconds",
    type=_SECONDS,
    help="Keep watching the folders for new files every this many seconds (a stream).",
)
@click.option("--kafka-servers", help="Kafka bootstrap servers (host:port,...).")
@click.option("--kafka-topic", help="Read observations from this topic (one per message).")
@click.option("--kafka-group", default="nomotic-dsl", show_default=True, help="Consumer group.")
@click.option(
    "--kafka-start",
    type=click.Choice(["earliest", "committed"]),
    default="earliest",
    show_default=True,
    help="Where a job without state starts reading the topic.",
)
@click.option(
    "--output",
    "output",
    help="A folder for decision part files (committed at checkpoints); - prints them.",
)
@click.option("--kafka-output-topic", help="Write decisions to this topic (--kafka-servers).")
@click.option("--kafka-exactly-once", is_flag=True, help="Transactional Kafka writes.")
@click.option("--parallelism", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--max-parallelism",
    type=click.IntRange(min=1, max=32768),
    help="The most tasks a savepoint of this job can be restored to (fixed at its first start).",
)
@click.option(
    "--checkpoint-interval",
    "checkpoint_ms",
    type=click.IntRange(min=10),
    default=DEFAULT_CHECKPOINT_MS,
    show_default=True,
    help="Milliseconds between checkpoints.",
)
@click.option("--checkpoint-dir", help="Where checkpoints go (a URI); kept on cancellation.")
@click.option("--restore", "restore_from", help="Start from this savepoint or checkpoint.")
@click.option("--jobmanager", help="host:port of a cluster's REST endpoint to submit to.")
@click.option("--jar", "jars", multiple=True, type=INPUT_FILE, help="Connector jar (Kafka).")
@click.option(
    "--python",
    "python",
    default=sys.executable,
    show_default="this interpreter",
    help="The Python the task managers run (with nomotic-dsl[flink] installed).",
)
@click.option(
    "--restart-attempts",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Restarts from the last checkpoint after a failure.",
)
@click.option(
    "--workers",
    type=click.Choice(["process", "thread"]),
    default="process",
    show_default=True,
    help="process: each task's Python in a worker process (parallel); thread: inside the "
    "task manager's JVM (cheaper state access, one interpreter lock per JVM).",
)
@click.option("--detach", is_flag=True, help="Print the job id and return once submitted.")
@click.option(
    "--live-agents",
    type=click.IntRange(min=1),
    default=DEFAULT_LIVE_AGENTS,
    show_default=True,
    help="Agents each task keeps decoded between their observations.",
)
@click.option(
    "--drift-window", type=click.IntRange(min=1), default=DEFAULT_DRIFT_WINDOW, show_default=True
)
@click.option(
    "--min-drift-observations",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_DRIFT_OBSERVATIONS,
    show_default=True,
)
@click.option("--session-idle", type=_SECONDS, help="Release sessions idle this many seconds.")
def run_command(**options: Any) -> None:
    """Submit the job: govern observations with BUNDLE, write decisions to a sink.

    Exits 0 when the job finished (or, with --detach, was submitted), 1 when
    the bundle is refused or the job failed, 2 for options that do not fit.
    """
    if not available():
        _misuse(INSTALL_HINT)
    source = _source(options)
    sink = _sink(options)
    try:
        config = FleetConfig(
            drift_window=options["drift_window"],
            min_drift_observations=options["min_drift_observations"],
            session_idle_seconds=options["session_idle"],
        )
        verified = verify_for_job(options["bundle"], options["trusted"])
        spec = job_spec(
            verified,
            config,
            source,
            sink,
            parallelism=options["parallelism"],
            max_parallelism=options["max_parallelism"],
            checkpoint_ms=options["checkpoint_ms"],
            live_agents=options["live_agents"],
            jars=tuple(str(jar) for jar in options["jars"]),
        )
    except JobOptionError as exc:
        _misuse(str(exc))
    except BundleError as exc:
        fail_input(f"{options['bundle']}: refused: {exc}")
    _submit(spec, options)


def _submit(spec: Any, options: dict[str, Any]) -> None:
    from nomotic_dsl.flink.client import JobFailed, run_job
    from nomotic_dsl.flink.job import Placement

    placement = Placement(
        python=options["python"],
        jobmanager=options["jobmanager"],
        restore_from=options["restore_from"],
        checkpoint_dir=options["checkpoint_dir"],
        retain=options["checkpoint_dir"] is not None,
        restart_attempts=options["restart_attempts"],
        workers=options["workers"],
    )
    try:
        job_id = run_job(spec, placement, detach=options["detach"])
    except JobFailed as exc:
        fail_input(f"the Flink job failed: {exc}")
    if job_id is not None:
        click.echo(f"submitted job {job_id}")


def _source(options: dict[str, Any]) -> Source:
    traces, topic = options["traces"], options["kafka_topic"]
    if bool(traces) == bool(topic):
        raise click.UsageError("give either --trace (files or folders) or --kafka-topic")
    if topic:
        if options["staged"] or options["watch_seconds"]:
            raise click.UsageError("--staged and --watch are for --trace files")
        if not options["kafka_servers"] or not options["jars"]:
            raise click.UsageError(
                "--kafka-topic needs --kafka-servers and --jar with the Flink Kafka connector "
                "(flink-sql-connector-kafka-*.jar)"
            )
        return KafkaInput(
            options["kafka_servers"], topic, options["kafka_group"], options["kafka_start"]
        )
    missing = [trace for trace in traces if not Path(trace).exists()]
    if missing:
        fail_input(f"cannot read --trace {missing[0]}: no such file or folder")
    return FileInput(
        tuple(str(Path(trace).resolve()) for trace in traces),
        staged=options["staged"],
        monitor_seconds=options["watch_seconds"],
    )


def _sink(options: dict[str, Any]) -> Sink:
    output, topic = options["output"], options["kafka_output_topic"]
    if bool(output) == bool(topic):
        raise click.UsageError(
            "give either --output (a folder, or - to print) or --kafka-output-topic"
        )
    if topic:
        if not options["kafka_servers"] or not options["jars"]:
            raise click.UsageError("--kafka-output-topic needs --kafka-servers and --jar")
        return KafkaOutput(options["kafka_servers"], topic, options["kafka_exactly_once"])
    if output == "-":
        return PrintOutput()
    return FileOutput(str(Path(output).resolve()))


@main.command("stage")
@click.argument("trace", type=INPUT_FILE)
@_BUNDLE
@_TRUST
@click.option("-o", "--output", "target", required=True, type=click.Path(path_type=Path))
@click.option(
    "--after",
    "start_line",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The trace holds the lines after this one (a part of a longer trace).",
)
def stage_command(
    trace: Path, bundle: Path, trusted: Sequence[Path], target: Path, start_line: int
) -> None:
    """Write TRACE in the staged form: read as the local engine reads it, keyed, numbered."""
    from nomotic_dsl.flink.staging import stage_trace

    try:
        verified = verify_for_job(bundle, trusted)
    except BundleError as exc:
        fail_input(f"{bundle}: refused: {exc}")
    try:
        with trace.open("rb") as stream:
            staged = stage_trace(
                stream,
                target,
                Routing.of(verified.agents, not verified.agents),
                start_line=start_line,
            )
    except OSError as exc:
        fail_input(f"cannot stage {trace} into {target}: {exc.strerror or exc}")
    click.echo(
        f"wrote {target}: {len(staged.decisions)} observations, lines "
        f"{staged.first_line}-{staged.lines}"
    )


@main.command("collate")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@_BUNDLE
@_TRUST
@click.option(
    "--lines",
    "last_line",
    type=click.IntRange(min=0),
    help="The trace's last line (the end record's line; default: the last decided line).",
)
def collate_command(
    folders: Sequence[Path], bundle: Path, trusted: Sequence[Path], last_line: int | None
) -> None:
    """Print the decisions in FOLDERS (a file sink's part files) as one log in trace order."""
    from nomotic_dsl.flink.collate import collate

    try:
        verified = verify_for_job(bundle, trusted)
    except BundleError as exc:
        fail_input(f"{bundle}: refused: {exc}")
    missing = [folder for folder in folders if not folder.is_dir()]
    if missing:
        fail_input(f"cannot read {missing[0]}: not a folder")
    out = sys.stdout
    try:
        for text in collate(folders, verified.digest, last_line):
            out.write(text + "\n")
    except (OrderError, OSError, ValueError) as exc:
        fail_input(f"cannot collate {', '.join(map(str, folders))}: {exc}")
    out.flush()
