"""Contract generation from an archetype prior.

Input: an agent id, an archetype name and any other contract fields. Output: a
version-1 (unless told otherwise) BehavioralContract stamped with the current
time, its expected distributions taken from the standard library's prior for
the archetype. Stage: contract creation (CLI, HTTP API, library users).
"""

from __future__ import annotations

import time
from typing import Any

from nomotic_dsl.ir.contract import DEFAULT_ARCHETYPE, BehavioralContract
from nomotic_dsl.runtime import priors as archetypes

# Contract field <- ArchetypePrior attribute.
_PRIOR_FIELDS: tuple[tuple[str, str], ...] = (
    ("expected_action_distribution", "action_distribution"),
    ("expected_target_distribution", "target_distribution"),
    ("expected_outcome_distribution", "outcome_distribution"),
)


def prior_distributions(archetype: str) -> dict[str, dict[str, float]]:
    """The expected distributions of a known archetype; empty for an unknown one."""
    prior = archetypes.get_archetype(archetype)
    if prior is None:
        return {}
    return {
        name: dict(getattr(prior, attribute))
        for name, attribute in _PRIOR_FIELDS
        if getattr(prior, attribute)
    }


def generate_contract(
    agent_id: str, archetype: str = DEFAULT_ARCHETYPE, **fields: Any
) -> BehavioralContract:
    """A new contract for ``agent_id``: distributions from the archetype's prior when known.

    Any contract field may be given in ``fields`` and wins over the prior (an
    explicit ``expected_action_distribution={}`` clears it). ``created_at``
    defaults to now; unknown field names and invalid values raise ContractError.
    """
    values: dict[str, Any] = {"created_at": time.time()}
    values.update(prior_distributions(archetype))
    values.update(fields)
    values.update(agent_id=agent_id, archetype=archetype)
    return BehavioralContract.from_dict(values)
