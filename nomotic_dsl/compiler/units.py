"""Unit spellings: durations, rate periods and window counts, in one table for every stage.

Input: none (tables). Output: ``DURATION_UNITS`` and ``RATE_PER_UNITS`` (word
-> seconds) and ``COUNT_UNITS``. Stage: shared by the parse driver (which
knows a unit word when it sees one after `over 15m`) and the checker (which
turns values into seconds).
"""

from __future__ import annotations

# Duration unit spellings -> seconds, glued (`15m`) or spelled out in a window
# (`over 15 minutes`). `s`, `m`, `h`, `d` are the documented short ones.
DURATION_UNITS: dict[str, float] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
# `N per UNIT`: the time units a rate is written in.
RATE_PER_UNITS: dict[str, float] = {
    "second": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "min": 60,
    "m": 60,
    "hour": 3600,
    "hr": 3600,
    "h": 3600,
    "day": 86400,
    "d": 86400,
}
# Window units that count actions.
COUNT_UNITS = ("actions", "action")

UNIT_WORDS = frozenset({*DURATION_UNITS, *COUNT_UNITS})
