"""Runtime governance: contracts enforced on every verdict, drift measured against them.

Input: observed actions and their verdicts. Output: VerdictRecords with
invariant results, drift scores and exceedances, and per-agent provenance.
Stage: runtime.

``GovernanceRuntime`` and ``RuntimeConfig`` are served by the fleet runtime
(``nomotic_dsl.runtime.fleet``), which itself reads this package's pure drift
and record modules; they are imported on first use so that importing either
package first works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nomotic_dsl.runtime.governance.drift import (
    DEFAULT_DRIFT_WEIGHTS,
    js_divergence,
    overall_drift,
    window_drift,
)
from nomotic_dsl.runtime.governance.records import (
    DriftExceedance,
    Provenance,
    VerdictRecord,
    exceedances,
)

if TYPE_CHECKING:
    from nomotic_dsl.runtime.governance.governor import GovernanceRuntime, RuntimeConfig

_LAZY = {"GovernanceRuntime", "RuntimeConfig"}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module("nomotic_dsl.runtime.governance.governor"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nomotic_dsl.runtime.governance' has no attribute {name!r}")
