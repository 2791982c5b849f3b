"""The PyFlink functions of the job: number lines, read staged lines, govern each agent.

Input: text lines from Flink's file source or Kafka (raw JSON Lines, or a
staged trace), then job records keyed by agent. Output: job records
``(line, key, payload)``, then decisions, each as its log line (the exact
bytes the local engine writes). Stage: Flink shell, task side. Each is a thin wrapper:
the work is in ``records`` (line forms) and ``keeper`` (verification and
per-agent state), which need no pyflink.

- ``Sequencer`` (parallelism 1, keyed by a constant): numbers the lines of a
  raw source in the order they arrive, in Flink keyed state (so a restored
  job goes on counting from its checkpoint), skips blank lines and keys each
  line by its agent.
- ``StagedLines``: a staged line already carries its number and key.
- ``Governor`` (any parallelism, keyed by agent): verifies the bundle in
  ``open()``, then decides each record with the agent's state from its
  ``ValueState`` and stores the new state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyflink.common import Types
from pyflink.datastream import KeyedProcessFunction, KeySelector, MapFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from nomotic_dsl.flink.keeper import AgentKeeper, task_runtime
from nomotic_dsl.flink.records import from_payload, from_staged, raw_record
from nomotic_dsl.flink.spec import JobSpec
from nomotic_dsl.runtime.fleet.decision import encode_record

# (trace line, chain key, payload); a decision is its log line.
RECORD = Types.TUPLE([Types.LONG(), Types.STRING(), Types.STRING()])
DECISION = Types.STRING()
AGENT_STATE = "nomotic_dsl.agent"
LINE_STATE = "nomotic_dsl.line"


class ByAgent(KeySelector):
    """The Flink key of a job record: its chain key."""

    def get_key(self, value: Any) -> str:
        return str(value[1])


class OneKey(KeySelector):
    """A single key, so the sequencer's line count lives in Flink keyed state."""

    def get_key(self, value: Any) -> int:
        return 0


class Sequencer(KeyedProcessFunction):
    """Numbers raw lines (``encoding``: how the source decoded their bytes) and keys them."""

    def __init__(self, spec: JobSpec, encoding: str) -> None:
        self.routing = spec.routing
        self.encoding = encoding

    def open(self, runtime_context: RuntimeContext) -> None:
        self.count = runtime_context.get_state(ValueStateDescriptor(LINE_STATE, Types.LONG()))

    def process_element(self, value: str, ctx: Any) -> Iterator[tuple[int, str, str]]:
        line = (self.count.value() or 0) + 1
        self.count.update(line)
        record = raw_record(line, value.encode(self.encoding), self.routing)
        if record is not None:
            yield (record.line, record.key, record.payload())


class StagedLines(MapFunction):
    """A staged trace line as a job record."""

    def map(self, value: str) -> tuple[int, str, str]:
        record = from_staged(value)
        return (record.line, record.key, record.payload())


class Governor(KeyedProcessFunction):
    """Decides each agent's records with its state in a ``ValueState``; verifies in ``open()``."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec

    def open(self, runtime_context: RuntimeContext) -> None:
        # Verification first: nothing of the bundle is loaded unless it passes.
        self.keeper = AgentKeeper(task_runtime(self.spec), self.spec.live_agents)
        self.state = runtime_context.get_state(ValueStateDescriptor(AGENT_STATE, Types.STRING()))

    def process_element(self, value: Any, ctx: Any) -> Iterator[str]:
        record = from_payload(int(value[0]), str(value[1]), str(value[2]))
        outcome = self.keeper.decide(record, self.state.value())
        self.state.update(outcome.state)
        yield encode_record(outcome.decision).decode("utf-8")
