"""Replaying traces through the fleet runtime, for tests, diffs and reports.

Input: a sealed bundle (verified) or a ``.nomo`` policy (compiled, generated
and loaded as ``nomo run`` does), and observations: a trace file or
``TraceItem``s a test generated. Output: for every observation, what the
runtime decided and the step behind it (every invariant's result with its
value), so a caller can look closer than the decision record. Stage: a shell-side
library over ``nomotic_dsl.runtime.fleet``: the verdicts are the runtime's,
computed by the generated evaluators, never by a second evaluator.

Modules: ``source`` (policy sets from bundles or policies), ``run``
(iterating a replay), ``diff`` (two replays of one trace, compared).
"""

from nomotic_dsl.replay.run import Observed, TraceFileError, replay_items, replay_trace
from nomotic_dsl.replay.source import PolicyCompileError, PolicySet, ReplayError, load_policy_set

__all__ = [
    "Observed",
    "PolicyCompileError",
    "PolicySet",
    "ReplayError",
    "TraceFileError",
    "load_policy_set",
    "replay_items",
    "replay_trace",
]
