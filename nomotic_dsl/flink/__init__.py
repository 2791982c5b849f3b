"""The fleet runtime as an Apache Flink job (PyFlink): agents in keyed state, checkpointed.

Input: a sealed bundle and trusted keys (verified in the client, and again in
every task before its generated code runs), observations from a trace file
or Kafka. Output: the same decision records as the local engine, each
agent's in the same order (``nomo run --engine flink`` puts them back in
trace order, which makes its output the local engine's byte for byte).
Stage: a shell over ``nomotic_dsl.runtime.fleet``, like the CLI.

Modules: ``spec`` (what a job is made of; client-side verification),
``records`` (job records and the staged trace format), ``staging`` (reading
a trace as the local engine does), ``keeper`` (what each task runs: bundle
verification and one agent's state at a time), ``ordering`` and ``collate``
(trace order, the end record, client side), ``functions`` and ``job`` (the
pyflink parts), ``client`` (running a job), ``local`` (``nomo run --engine
flink``), ``cli`` (``python -m nomotic_dsl.flink``).
Everything but ``functions``, ``job`` and ``cli``'s job commands works
without pyflink installed (``pip install 'nomotic-dsl[flink]'``).
"""

from __future__ import annotations

import importlib.util

INSTALL_HINT = "the Flink engine needs PyFlink: pip install 'nomotic-dsl[flink]'"


def available() -> bool:
    """True when pyflink can be imported."""
    return importlib.util.find_spec("pyflink") is not None
