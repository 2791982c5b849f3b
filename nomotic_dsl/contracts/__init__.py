"""Behavioral contracts: the contract model, its versioned store, generation, diff.

Input: contract fields, archetype priors, stored versions. Output:
``BehavioralContract`` values, sealed and versioned. Stage: the contract layer
between the compiler (which lowers ``contract`` blocks to these) and the runtime.
"""

from nomotic_dsl.contracts.contract import (
    CONTRACT_FIELDS,
    DISTRIBUTION_FIELDS,
    SEAL_FIELDS,
    BehavioralContract,
    ContractError,
)
from nomotic_dsl.contracts.diff import diff_contracts
from nomotic_dsl.contracts.generate import generate_contract, prior_distributions
from nomotic_dsl.contracts.store import ContractStore, VersionConflict

__all__ = [
    "CONTRACT_FIELDS",
    "DISTRIBUTION_FIELDS",
    "SEAL_FIELDS",
    "BehavioralContract",
    "ContractError",
    "ContractStore",
    "VersionConflict",
    "diff_contracts",
    "generate_contract",
    "prior_distributions",
]
