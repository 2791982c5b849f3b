"""The runtime API that generated evaluator modules import: small, stable, listed once.

Generated modules (``nomotic_dsl.compiler.codegen``) import only the standard library
and the names in ``EXPORTED``; a golden test pins that list, so changing it is
a deliberate, versioned decision (like Jinja2's ``runtime.exported``). Judging
and detail sentences are the reference interpreter's own functions, so
generated results equal interpreted ones bit for bit.
"""

from __future__ import annotations

from nomotic_dsl.ir.describe import DetailText
from nomotic_dsl.ir.spec import load_zone
from nomotic_dsl.runtime.columns import Rows, read_state
from nomotic_dsl.runtime.interpreter.detail import (
    BASIS_EMPTY,
    BASIS_HISTORY,
    BASIS_NO_BASELINE,
    BASIS_NO_DATA,
    BASIS_SNAPSHOT,
    BASIS_WARMUP,
    BASIS_WINDOW,
    render_detail,
    term_note,
)
from nomotic_dsl.runtime.interpreter.evaluate import check_idle_seconds
from nomotic_dsl.runtime.interpreter.judge import (
    judge_between,
    judge_eq,
    judge_gt,
    judge_gte,
    judge_lt,
    judge_lte,
    status_of,
)
from nomotic_dsl.runtime.interpreter.measure import (
    exact_mean,
    local_hour,
    ratio_value,
    session_actions,
)
from nomotic_dsl.runtime.interpreter.result import DetailParts, InvariantResult
from nomotic_dsl.runtime.interpreter.state import (
    BehavioralState,
    Observation,
    StateError,
    coerce_state,
)
from nomotic_dsl.runtime.monitor_state import (
    MONITOR_STATE_FORMAT,
    MONITOR_STATE_VERSION,
    StateReader,
    check_retained,
    export_observations,
    export_scores,
    state_header,
)
from nomotic_dsl.runtime.results import (
    EMPTY_SNAPSHOT,
    Snapshot,
    check_order,
    checked_scores,
    finish,
    new_result,
    not_measured,
    snapshot_distinct,
    snapshot_max_share,
    unmeasured,
    warming_up,
)
from nomotic_dsl.runtime.sessions import SessionTable
from nomotic_dsl.runtime.windows import (
    SCALE_BITS,
    HourRule,
    KeyCounts,
    RateGrowth,
    ScaledSum,
    TermFidelities,
    column_values,
    lowest_fidelity,
    scaled,
    term_values,
    time_window,
)

# The stable surface, sorted; generated modules may import any of these and nothing else.
__all__ = [
    "BASIS_EMPTY",
    "BASIS_HISTORY",
    "BASIS_NO_BASELINE",
    "BASIS_NO_DATA",
    "BASIS_SNAPSHOT",
    "BASIS_WARMUP",
    "BASIS_WINDOW",
    "EMPTY_SNAPSHOT",
    "MONITOR_STATE_FORMAT",
    "MONITOR_STATE_VERSION",
    "SCALE_BITS",
    "BehavioralState",
    "DetailParts",
    "DetailText",
    "HourRule",
    "InvariantResult",
    "KeyCounts",
    "Observation",
    "RateGrowth",
    "Rows",
    "ScaledSum",
    "SessionTable",
    "Snapshot",
    "StateError",
    "StateReader",
    "TermFidelities",
    "check_idle_seconds",
    "check_order",
    "check_retained",
    "checked_scores",
    "coerce_state",
    "column_values",
    "exact_mean",
    "export_observations",
    "export_scores",
    "finish",
    "judge_between",
    "judge_eq",
    "judge_gt",
    "judge_gte",
    "judge_lt",
    "judge_lte",
    "load_zone",
    "local_hour",
    "lowest_fidelity",
    "new_result",
    "not_measured",
    "ratio_value",
    "read_state",
    "render_detail",
    "scaled",
    "session_actions",
    "snapshot_distinct",
    "snapshot_max_share",
    "state_header",
    "status_of",
    "term_note",
    "term_values",
    "time_window",
    "unmeasured",
    "warming_up",
]
EXPORTED: tuple[str, ...] = tuple(__all__)
