"""Contracts at runtime: the versioned store, generation from archetype priors, diffs.

Input: ``BehavioralContract`` records (``nomotic_dsl.ir``), archetype priors as
data. Output: stored versions, new contracts, per-field changes. Stage:
runtime; the compiler lowers ``contract`` blocks to the same records.
"""

from nomotic_dsl.runtime.contracts.diff import diff_contracts
from nomotic_dsl.runtime.contracts.generate import generate_contract, prior_distributions
from nomotic_dsl.runtime.contracts.store import ContractStore, VersionConflict

__all__ = [
    "ContractStore",
    "VersionConflict",
    "diff_contracts",
    "generate_contract",
    "prior_distributions",
]
