"""Runtime governance: contracts enforced on every verdict, drift measured against them.

Input: observed actions and their verdicts. Output: VerdictRecords with
invariant results, drift scores and exceedances, and per-agent provenance.
Stage: runtime.
"""

from nomotic_dsl.runtime.governance.drift import (
    DEFAULT_DRIFT_WEIGHTS,
    js_divergence,
    overall_drift,
    window_drift,
)
from nomotic_dsl.runtime.governance.governor import GovernanceRuntime, RuntimeConfig, exceedances
from nomotic_dsl.runtime.governance.records import DriftExceedance, Provenance, VerdictRecord

__all__ = [
    "DEFAULT_DRIFT_WEIGHTS",
    "DriftExceedance",
    "GovernanceRuntime",
    "Provenance",
    "RuntimeConfig",
    "VerdictRecord",
    "exceedances",
    "js_divergence",
    "overall_drift",
    "window_drift",
]
