"""The spec IR: the records that cross from the compiler to the runtime, and nothing else.

``InvariantSpec`` (what one invariant measures and how), ``BehavioralContract``
(an agent's versioned, sealable expectations, carrying spec dicts),
``ArchetypePrior`` (an archetype's expected behaviour), their canonical JSON
form and ``Problem`` (what is wrong with one, by field path). The compiler
produces these; the runtime consumes them; neither side's internals appear
here, and this package imports neither side.
"""

from nomotic_dsl.ir.builder import InvariantBuilder, derived_invariant_id
from nomotic_dsl.ir.contract import (
    CONTRACT_DEFAULTS,
    CONTRACT_FIELDS,
    DISTRIBUTION_FIELDS,
    SEAL_FIELDS,
    BehavioralContract,
    ContractError,
    derive_contract_id,
)
from nomotic_dsl.ir.prior import ActiveHours, ArchetypePrior
from nomotic_dsl.ir.problems import Problem
from nomotic_dsl.ir.spec import InvariantSpec, parse_specs

__all__ = [
    "CONTRACT_DEFAULTS",
    "CONTRACT_FIELDS",
    "DISTRIBUTION_FIELDS",
    "SEAL_FIELDS",
    "ActiveHours",
    "ArchetypePrior",
    "BehavioralContract",
    "ContractError",
    "InvariantBuilder",
    "InvariantSpec",
    "Problem",
    "derive_contract_id",
    "derived_invariant_id",
    "parse_specs",
]
