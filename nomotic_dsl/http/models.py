"""Request and response bodies of the HTTP API, as pydantic models.

Input: JSON bodies. Output: typed request objects, and the response shapes the
OpenAPI document publishes. Stage: shell (the HTTP API).

The models check shape (types, required keys, unknown keys refused, no NaN
or infinity); the library checks meaning (distributions summing to 1, trust
bounds, invariant rules, state ordering) and its messages are returned as
422 errors. Contract fields mirror ``BehavioralContract``'s nineteen fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nomotic_dsl.ir.canonical import has_lone_surrogate

# Agent ids travel in URL paths, so a slash or a control character would make
# an id that no GET can reach.
AGENT_ID_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
AGENT_ID_MAX_LENGTH = 200
# Versions are stored as SQLite integers; the bound keeps every next version in range.
MAX_VERSION = 2**31 - 1
# Archetype names are .nomo identifiers (they name files under stdlib/archetypes/).
ARCHETYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"

# Spelled out so the OpenAPI document lists them; a test keeps them equal to
# the interpreter's tables.
InvariantType = Literal["ratio", "distribution", "drift", "semantic", "temporal", "rate", "count"]
Operator = Literal["lt", "gt", "lte", "gte", "eq", "between"]
JsonNumber = float | Literal["inf", "-inf"] | None


class _Body(BaseModel):
    """Request bodies: unknown keys refused, no coercion (``false`` is not 0), finite numbers.

    And text that is Unicode: JSON can spell a lone surrogate (``"\\ud800"``),
    which no UTF-8 form holds, so a body with one anywhere (a key, a name in a
    distribution or scope) is refused here rather than failing later when the
    contract is hashed or stored. Policy source (``source``) is the exception:
    the compiler reads any text and reports such a character as a diagnostic
    with its line and column.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _unicode_text(cls, data: Any) -> Any:
        checked = data
        if isinstance(data, dict) and "source" in data:
            checked = {key: value for key, value in data.items() if key != "source"}
        if has_lone_surrogate(checked):
            raise ValueError(
                "a string holds a lone surrogate (a \\ud800-\\udfff escape without its "
                "pair), which is not Unicode text"
            )
        return data


class InvariantSpecBody(_Body):
    """One InvariantSpec as its dict; without an id or description, both are generated."""

    invariant_id: str | None = Field(default=None, min_length=1)
    type: InvariantType
    description: str = ""
    metric: str = Field(min_length=1)
    operator: Operator
    threshold: float
    threshold_upper: float | None = None
    window: int | None = Field(default=None, ge=1)
    window_seconds: float | None = Field(default=None, gt=0)
    min_actions: int | None = Field(
        default=None, ge=1, description="Warm-up: measured once the window holds this many actions."
    )
    per_session: bool = Field(
        default=False, description="Measured over the actions of the current session."
    )


class ContractFields(_Body):
    """Contract fields a client may set; absent (or null) fields take the generated default."""

    certificate_id: str | None = None
    expected_action_distribution: dict[str, float] | None = None
    expected_target_distribution: dict[str, float] | None = None
    expected_outcome_distribution: dict[str, float] | None = None
    authorized_scope: dict[str, Any] | None = None
    initial_trust: float | None = Field(default=None, ge=0.0, le=1.0)
    trust_floor: float | None = Field(default=None, ge=0.0, le=1.0)
    trust_ceiling: float | None = Field(default=None, ge=0.0, le=1.0)
    semantic_anchors: list[dict[str, Any]] | None = None
    drift_thresholds: dict[str, float] | None = None


class CreateContractRequest(ContractFields):
    """POST /v1/contracts: what to generate; invariants as spec dicts or as .nomo source."""

    agent_id: str = Field(min_length=1, max_length=AGENT_ID_MAX_LENGTH, pattern=AGENT_ID_PATTERN)
    archetype: str | None = Field(
        default=None, max_length=100, pattern=ARCHETYPE_PATTERN, examples=["customer-experience"]
    )
    version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VERSION,
        description="Explicit version; must be greater than the agent's latest (else 409). "
        "Absent: the next version is allocated atomically.",
    )
    invariants: list[InvariantSpecBody] | None = None
    source: str | None = Field(
        default=None,
        description=".nomo source: its rules become the invariants; a contract block for "
        "this agent also supplies the contract's fields.",
    )


class ContractBody(BaseModel):
    """A stored BehavioralContract: the seed's nineteen fields."""

    contract_id: str
    version: int
    agent_id: str
    created_at: float
    certificate_id: str | None
    archetype: str
    expected_action_distribution: dict[str, float]
    expected_target_distribution: dict[str, float]
    expected_outcome_distribution: dict[str, float]
    authorized_scope: dict[str, Any]
    initial_trust: float
    trust_floor: float
    trust_ceiling: float
    invariants: list[dict[str, Any]]
    semantic_anchors: list[dict[str, Any]]
    drift_thresholds: dict[str, float]
    signature: str
    signed_by: str


class HistoryBody(BaseModel):
    """Every stored version of one agent's contract, oldest first."""

    agent_id: str
    contracts: list[ContractBody]


class FieldChange(BaseModel):
    """One field's value in the first version (``from``) and the second (``to``)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Any = Field(alias="from")
    to: Any


class DiffBody(BaseModel):
    """Per-field changes from version ``v1`` to version ``v2``."""

    agent_id: str
    v1: int
    v2: int
    changes: dict[str, FieldChange]


class CheckRequest(_Body):
    """POST /v1/check: .nomo source to check."""

    source: str
    filename: str = Field(
        default="<input>",
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\\x00-\x1f\x7f]+$",
        description="Name shown in diagnostics (a bare name, no directories).",
    )


class DiagnosticBody(BaseModel):
    """One compiler diagnostic, the same fields as ``nomo check --format json``."""

    model_config = ConfigDict(extra="allow")

    code: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    help: str | None = None


class CheckBody(BaseModel):
    """``nomo check --format json``'s document for one file, and whether it compiled."""

    ok: bool
    files: list[str]
    diagnostics: list[DiagnosticBody]
    errors: int
    warnings: int


class ObservationBody(_Body):
    """One action in a behavioral state."""

    timestamp: float
    action_type: str
    target: str
    outcome: str | None = None
    session_id: str | None = None
    semantic: dict[str, float] | None = None


class StateBody(_Body):
    """A behavioral state: recent actions (oldest first) and optional snapshot measurements."""

    actions: list[ObservationBody] = Field(default_factory=list)
    action_distribution: dict[str, float] | None = None
    target_distribution: dict[str, float] | None = None
    outcome_distribution: dict[str, float] | None = None
    drift: dict[str, float] | None = None
    semantic_drift: dict[str, float] | None = None
    now: float | None = None


class EvaluateRequest(_Body):
    """POST /v1/evaluate: evaluate an agent's contract on a behavioral state."""

    agent_id: str = Field(min_length=1, max_length=AGENT_ID_MAX_LENGTH, pattern=AGENT_ID_PATTERN)
    version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="Contract version; absent: the active one."
    )
    state: StateBody


class ResultBody(BaseModel):
    """One InvariantResult; NaN (not measured) is null, infinities are "inf"/"-inf"."""

    invariant_id: str
    satisfied: bool
    current_value: JsonNumber
    threshold: JsonNumber
    margin: JsonNumber
    status: Literal["satisfied", "approaching", "violated"]
    detail: str
    measured: bool = Field(
        description="False when the invariant had nothing to measure (absent data, an "
        "empty window, a warm-up not reached): never a violation, never counted as satisfied."
    )


class SummaryBody(BaseModel):
    """Counts by status (measured results), by measurement and by type; ids by outcome."""

    total: int
    by_status: dict[str, int]
    by_measurement: dict[str, int] = Field(
        description='{"measured": N, "not_measured": M}: results that measured nothing '
        "are in no status count."
    )
    by_type: dict[str, dict[str, int]]
    violated: list[str]
    approaching: list[str]
    not_measured: list[str]


class EvaluateBody(BaseModel):
    """The results of one evaluation, in the contract's invariant order."""

    agent_id: str
    version: int
    results: list[ResultBody]
    summary: SummaryBody


class ProblemBody(BaseModel):
    """One problem found in a request."""

    location: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: a message, plus details where they help."""

    model_config = ConfigDict(extra="allow")

    error: str
    problems: list[ProblemBody] | None = None
    diagnostics: list[DiagnosticBody] | None = None


class DriftExceedanceBody(BaseModel):
    """One drift score above the contract's threshold."""

    distribution: str
    score: float
    threshold: float


class ChangeBody(BaseModel):
    """An invariant whose state changed with this observation (``from`` null: it just started)."""

    model_config = ConfigDict(populate_by_name=True)

    invariant: str
    from_: str | None = Field(alias="from")
    to: str
    detail: str


class DecisionBody(BaseModel):
    """One decision record, as `nomo run --format jsonl` writes it."""

    line: int
    agent_id: str | None
    session_id: str | None
    timestamp: float | None
    seq: int
    bundle: str
    contract: dict[str, Any] | None
    violated: list[str]
    changed: list[ChangeBody]
    counts: dict[str, int] | None
    drift: dict[str, float]
    drift_source: str | None
    drift_exceedances: list[DriftExceedanceBody]
    scope: dict[str, str] | None
    error: str | None
    receipt: str


class DecisionsBody(BaseModel):
    """The decisions of one request, in body order."""

    decisions: list[DecisionBody]


class ProvenanceBody(BaseModel):
    """An agent's running counts since the server started, and its receipt chain head."""

    agent_id: str | None
    decisions: int
    satisfied: int
    approaching: int
    violated: int
    not_measured: int
    drift_exceedances: int
    scope_violations: int
    errors: int
    seq: int
    last_receipt: str
    bundle: str
    last_timestamp: float | None
    not_measured_now: list[str]
    held: bool
