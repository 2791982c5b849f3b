"""The Flink job: source, numbering and keying, one governor per agent key, sink.

Input: a ``JobSpec`` and where the job runs (a local mini-cluster, a remote
cluster's REST address, or the context ``flink run -py`` gives). Output: a
configured ``StreamExecutionEnvironment`` and the job's decided stream,
wired to its sink. Stage: Flink shell; the one module that assembles pyflink
objects.

The graph, with stable operator uids so savepoints restore across versions::

    source (parallelism 1)  ->  staged lines | sequencer (parallelism 1, keyed by a constant)
      -> key_by(agent)  ->  governor (parallelism N, ValueState per agent)  ->  sink

Order: one source task reads the lines in order and one task numbers and
keys them; Flink keeps the order of records between two tasks, so every
governor task gets each of its agents' records in trace order. Checkpoints:
aligned barriers (exactly once for state); the source's offset, the line
count and every agent's state are taken at the same point of the stream.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from pyflink.common import Configuration, Duration, Encoder, JobClient, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    RollingPolicy,
    StreamFormat,
)

from nomotic_dsl.flink.functions import (
    DECISION,
    RECORD,
    ByAgent,
    Governor,
    OneKey,
    Sequencer,
    StagedLines,
)
from nomotic_dsl.flink.spec import (
    FileInput,
    FileOutput,
    JobSpec,
    KafkaInput,
    KafkaOutput,
    PrintOutput,
)

# A raw trace's bytes reach Python unchanged through ISO-8859-1 (one character per byte).
RAW_ENCODING = "ISO-8859-1"
DECISION_PREFIX = "decisions"
DECISION_SUFFIX = ".jsonl"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and how the job runs.

    ``jobmanager``: ``host:port`` of a cluster's REST endpoint (None: a
    local mini-cluster, or the cluster ``flink run`` submits to);
    ``restore_from``: a savepoint or retained checkpoint to start from;
    ``checkpoint_dir``: where checkpoints go (a URI or a path; without it,
    the cluster's configuration decides, and a mini-cluster keeps them in
    the job manager's memory, which holds only a few megabytes of state);
    ``retain``: keep the last checkpoint when the job is cancelled;
    ``restart_attempts``: restarts after a failure (0: fail at once);
    ``workers``: ``process`` runs each task's Python in a worker process
    (``python``) beside the task manager, so tasks run in parallel; state is
    reached through the task manager at a round trip per access. ``thread``
    runs it inside the task manager's JVM (PyFlink's embedded interpreter):
    much cheaper state access, but one interpreter lock per JVM, so tasks of
    one task manager do not run Python at the same time (on a cluster, give
    each task manager one slot per JVM).
    """

    python: str = sys.executable
    jobmanager: str | None = None
    restore_from: str | None = None
    checkpoint_dir: str | None = None
    retain: bool = False
    restart_attempts: int = 0
    workers: str = "process"


def environment(spec: JobSpec, placement: Placement) -> StreamExecutionEnvironment:
    """An execution environment configured for ``spec``."""
    _worker_environment()  # before anything starts PyFlink's JVM
    config = Configuration()
    if placement.restart_attempts > 0:
        config.set_string("restart-strategy.type", "fixed-delay")
        config.set_string("restart-strategy.fixed-delay.attempts", str(placement.restart_attempts))
        config.set_string("restart-strategy.fixed-delay.delay", "5 s")
    else:
        config.set_string("restart-strategy.type", "none")
    if placement.restore_from is not None:
        config.set_string("execution.state-recovery.path", placement.restore_from)
    if placement.checkpoint_dir is not None:
        directory = placement.checkpoint_dir
        if "://" not in directory:
            directory = Path(directory).resolve().as_uri()
        config.set_string("execution.checkpointing.storage", "filesystem")
        config.set_string("execution.checkpointing.dir", directory)
    if placement.retain:
        config.set_string(
            "execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION"
        )
    if placement.jobmanager is not None:
        host, _, port = placement.jobmanager.rpartition(":")
        config.set_string("execution.target", "remote")
        config.set_string("rest.address", host)
        config.set_string("rest.port", port)
    # The Python workers keep this many agents' states decoded between records.
    config.set_string("python.state.cache-size", str(spec.live_agents))
    if placement.workers == "thread":
        config.set_string("python.execution-mode", "thread")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_python_executable(placement.python)
    env.set_parallelism(spec.parallelism)
    if spec.max_parallelism is not None:
        env.set_max_parallelism(spec.max_parallelism)
    env.enable_checkpointing(spec.checkpoint_ms)
    if spec.jars:
        env.add_jars(*(Path(jar).resolve().as_uri() for jar in spec.jars))
    return env


def _worker_environment() -> None:
    """What the Python side of the tasks needs from this process's environment.

    PyFlink reads ``_python_worker_execution_mode`` when a job starts (its own
    switch, used by its test tools): without ``process``, a local
    mini-cluster runs every Python task inside this process, under its one
    interpreter lock. ``PYTHONPATH`` (read by the JVM when it starts, and by
    the interpreter it embeds in thread mode, which does not read the
    virtualenv's ``.pth`` files) names this interpreter's packages and this
    package's folder.
    """
    os.environ["_python_worker_execution_mode"] = "process"  # noqa: SIM112 (PyFlink's name)
    import nomotic_dsl

    wanted = [sysconfig.get_paths()["purelib"], str(Path(nomotic_dsl.__file__).parents[1])]
    present = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    missing = [entry for entry in wanted if entry not in present]
    if missing:
        os.environ["PYTHONPATH"] = os.pathsep.join([*present, *missing])


def decided_stream(env: StreamExecutionEnvironment, spec: JobSpec) -> DataStream:
    """Source to governor: the stream of decisions, each its log line."""
    return (
        records(env, spec)
        .key_by(ByAgent(), key_type=Types.STRING())
        .process(Governor(spec), output_type=DECISION)
        .uid("nomotic-governor")
        .name("govern each agent")
    )


def records(env: StreamExecutionEnvironment, spec: JobSpec) -> DataStream:
    """The job records ``(line, key, payload)`` of the spec's source, in trace order."""
    source = spec.source
    if isinstance(source, FileInput):
        fmt = StreamFormat.text_line_format("UTF-8" if source.staged else RAW_ENCODING)
        builder = FileSource.for_record_stream_format(fmt, *source.paths)
        if source.monitor_seconds is not None:
            builder = builder.monitor_continuously(
                Duration.of_millis(int(source.monitor_seconds * 1000))
            )
        lines = env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), "trace files")
        lines = lines.uid("nomotic-source").set_parallelism(1)
        if source.staged:
            return (
                lines.map(StagedLines(), output_type=RECORD)
                .uid("nomotic-staged")
                .name("staged lines")
                .set_parallelism(1)
            )
        return _sequenced(lines, spec, RAW_ENCODING)
    return _sequenced(_kafka_lines(env, source), spec, "utf-8")


def _sequenced(lines: DataStream, spec: JobSpec, encoding: str) -> DataStream:
    return (
        lines.key_by(OneKey(), key_type=Types.INT())
        .process(Sequencer(spec, encoding), output_type=RECORD)
        .uid("nomotic-sequencer")
        .name("number and key lines")
        .set_parallelism(1)
    )


def _kafka_lines(env: StreamExecutionEnvironment, source: KafkaInput) -> DataStream:
    from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource

    start = (
        KafkaOffsetsInitializer.earliest()
        if source.start == "earliest"
        else KafkaOffsetsInitializer.committed_offsets()
    )
    kafka = (
        KafkaSource.builder()
        .set_bootstrap_servers(source.servers)
        .set_topics(source.topic)
        .set_group_id(source.group)
        .set_starting_offsets(start)
        .set_value_only_deserializer(SimpleStringSchema())
        .build()
    )
    lines = env.from_source(kafka, WatermarkStrategy.no_watermarks(), "kafka observations")
    return lines.uid("nomotic-source").set_parallelism(1)


def attach_sink(decided: DataStream, spec: JobSpec) -> None:
    """Send the decisions where the spec says."""
    sink = spec.sink
    if isinstance(sink, PrintOutput):
        decided.print().name("print decisions")
    elif isinstance(sink, FileOutput):
        decided.sink_to(file_sink(sink.directory)).uid("nomotic-file-sink").name("decision files")
    elif isinstance(sink, KafkaOutput):
        decided.sink_to(_kafka_sink(sink)).uid("nomotic-kafka-sink").name("kafka decisions")


def file_sink(directory: str) -> FileSink:
    """Part files ``decisions-<uid>-<n>.jsonl`` in ``directory``, finished at each checkpoint."""
    return (
        FileSink.for_row_format(directory, Encoder.simple_string_encoder())
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy())
        .with_output_file_config(
            OutputFileConfig.builder()
            .with_part_prefix(DECISION_PREFIX)
            .with_part_suffix(DECISION_SUFFIX)
            .build()
        )
        .build()
    )


def _kafka_sink(sink: KafkaOutput) -> object:
    from pyflink.datastream.connectors.base import DeliveryGuarantee
    from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink

    builder = (
        KafkaSink.builder()
        .set_bootstrap_servers(sink.servers)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(sink.topic)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
    )
    if sink.exactly_once:
        builder = builder.set_delivery_guarantee(
            DeliveryGuarantee.EXACTLY_ONCE
        ).set_transactional_id_prefix("nomotic-dsl")
    else:
        builder = builder.set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
    return builder.build()


def submit(spec: JobSpec, placement: Placement, *, detach: bool = False) -> str | None:
    """Build the job and run it: wait for it to end, or (``detach``) return its job id at once."""
    env = environment(spec, placement)
    attach_sink(decided_stream(env, spec), spec)
    if detach:
        return str(env.execute_async(spec.name).get_job_id())
    env.execute(spec.name)
    return None


def stop_with_savepoint(job: JobClient, directory: str, timeout_seconds: float = 120) -> str:
    """Stop a running job with a savepoint in ``directory``; the savepoint's path.

    (PyFlink 2.3's ``JobClient.stop_with_savepoint`` calls a Java signature
    Flink 2 no longer has; this calls the one it has.)
    """
    from pyflink.java_gateway import get_gateway

    formats = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType
    future = job._j_job_client.stopWithSavepoint(False, directory, formats.DEFAULT)
    return str(future.get(int(timeout_seconds * 1000), _milliseconds()))


def _milliseconds() -> object:
    from pyflink.java_gateway import get_gateway

    return get_gateway().jvm.java.util.concurrent.TimeUnit.MILLISECONDS
