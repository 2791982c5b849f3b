"""The standard library's archetype priors, read as data.

Input: ``stdlib/priors.json``, which ``nomotic_dsl.compiler.priors_data``
writes from the archetype declarations in ``stdlib/archetypes/*.nomo`` (a
test keeps it equal to them). Output: ``ArchetypePrior`` records by name.
Stage: runtime; contract generation and drift read priors here, so neither
loads the parser or runs the compiler.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache

from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.resources import stdlib_dir

PRIORS_FILE = "priors.json"
PRIORS_FORMAT = "nomo-priors/1"


@cache
def standard_priors() -> Mapping[str, ArchetypePrior]:
    """Every standard-library prior by name.

    Raises ValueError when the data file is missing or malformed: that is a
    defect of the installation, not of the caller's input.
    """
    path = stdlib_dir() / PRIORS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the standard library's {PRIORS_FILE} cannot be read: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != PRIORS_FORMAT:
        raise ValueError(f"the standard library's {PRIORS_FILE} is not a {PRIORS_FORMAT} file")
    priors = [ArchetypePrior.from_dict(item) for item in document.get("archetypes", ())]
    return {prior.name: prior for prior in priors}


def get_archetype(name: str) -> ArchetypePrior | None:
    """The standard library's prior for ``name``, or None when it has none."""
    return standard_priors().get(name)


def known_archetypes() -> tuple[str, ...]:
    """Names of the archetypes the standard library ships, sorted."""
    return tuple(sorted(standard_priors()))
