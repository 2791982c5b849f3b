"""Archetype declarations checked and turned into ``ArchetypePrior`` values.

Input: an ``ast.ArchetypeDecl`` and a ``ValueResolver``. Output: an
``ArchetypePrior`` (see ``nomotic_dsl.ir.prior``), or None when the
declaration has errors (all reported). Stage: checking; priors are needed
while checking contracts (baseline rates, expected distributions), so they
are built here rather than by the lowerer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import assert_never

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.semantics.rules import check_hours, check_zone
from nomotic_dsl.compiler.semantics.values import (
    NUMBER,
    RATE,
    Report,
    ValueResolver,
    did_you_mean,
)
from nomotic_dsl.compiler.units import RATE_PER_UNITS
from nomotic_dsl.ir.prior import ActiveHours, ArchetypePrior

SUM_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class Distribution:
    """A checked distribution block: name -> share, in source order."""

    kind: str
    shares: dict[str, float]


def check_distribution(
    block: ast.DistributionBlock, values: ValueResolver, report: Report
) -> Distribution | None:
    """Shares within 0..1, each name once, summing to about 1 (an empty block is allowed)."""
    shares: dict[str, float] = {}
    ok = True
    for share in block.shares:
        quantity = values.number(share.value, "a share")
        if share.name.text in shares:
            report(
                "NMO207",
                share.name.span,
                f"`{share.name.text}` appears twice in `{block.kind}`",
                None,
            )
            ok = False
        if quantity is None:
            ok = False
            continue
        if not 0.0 <= quantity.amount <= 1.0:
            report(
                "NMO308",
                quantity.span,
                f"share `{quantity.text}` is outside 0..1",
                "write a percent such as `45%` or a share such as `0.45`",
            )
            ok = False
        shares[share.name.text] = quantity.amount
    total = math.fsum(shares.values())
    if ok and shares and abs(total - 1.0) > SUM_TOLERANCE:
        report(
            "NMO308",
            block.span,
            f"the `{block.kind}` shares sum to {total:.4g}, not 1",
            "shares of a distribution must add up to 100%",
        )
        ok = False
    return Distribution(block.kind, shares) if ok else None


def check_archetype(
    decl: ast.ArchetypeDecl, values: ValueResolver, report: Report
) -> ArchetypePrior | None:
    """The prior an archetype declares."""
    blocks: dict[str, dict[str, float]] = {}
    hours: ActiveHours | None = None
    rate: float | None = None
    ok = True
    seen: set[str] = set()
    for item in decl.items:
        key = item.kind if isinstance(item, ast.DistributionBlock) else type(item).__name__
        if key in seen:
            report("NMO405", item.span, "this archetype setting is given twice", None)
            ok = False
        seen.add(key)
        match item:
            case ast.DistributionBlock():
                checked = check_distribution(item, values, report)
                ok = ok and checked is not None
                blocks[item.kind] = {} if checked is None else checked.shares
            case ast.ActiveHours():
                hours = _active_hours(item, report)
                ok = ok and hours is not None
            case ast.BaselineRate():
                rate = _baseline_rate(item, values, report)
                ok = ok and rate is not None
            case _:
                assert_never(item)
    if not ok:
        return None
    return ArchetypePrior(
        name=decl.name.text,
        action_distribution=blocks.get("actions", {}),
        target_distribution=blocks.get("targets", {}),
        outcome_distribution=blocks.get("outcomes", {}),
        active_hours=hours,
        baseline_rate=rate,
    )


def _active_hours(item: ast.ActiveHours, report: Report) -> ActiveHours | None:
    ok = check_hours(item.hours, report)
    if item.zone is not None and not check_zone(item.zone, report):
        ok = False
    if not ok:
        return None
    zone = None if item.zone is None else item.zone.name
    return ActiveHours(int(item.hours.start.value), int(item.hours.end.value), zone)


def _baseline_rate(item: ast.BaselineRate, values: ValueResolver, report: Report) -> float | None:
    quantity = values.typed(item.value, "a baseline rate", (NUMBER, RATE))
    if quantity is None:
        return None
    seconds = 1.0
    if quantity.kind == RATE and item.per is not None:
        report(
            "NMO306",
            item.per.span,
            f"`{quantity.text}` is already a rate; `per {item.per.text}` says it twice",
            None,
        )
        return None
    if item.per is not None:
        per = RATE_PER_UNITS.get(item.per.text)
        if per is None:
            report(
                "NMO203",
                item.per.span,
                f"unknown unit `per {item.per.text}`",
                did_you_mean(item.per.text, RATE_PER_UNITS)
                or "write `per second`, `per minute`, `per hour` or `per day`",
            )
            return None
        seconds = per
    if quantity.amount <= 0:
        report(
            "NMO308",
            quantity.span,
            f"a baseline rate must be positive, not `{quantity.text}`",
            None,
        )
        return None
    return quantity.amount / seconds
