"""The virtual clock of a test: times written as local dates and times in a time zone.

Input: the texts of ``start``, ``clock`` and ``at "..."`` and the test's time
zone. Output: Unix timestamps (seconds), or ValueError saying what is wrong.
Stage: ``nomo test``, between the parsed test and the observations it
generates.

Forms: ``"2024-04-08 09:00"`` (also ``T`` between, seconds and fractions
allowed) is local time in the test's zone (``start ... in "Zone"``, UTC by
default); a trailing ``Z`` or ``+02:00`` makes it absolute; ``"13:30"`` (or
``"13:30:15"``) is that time on the clock's current local day. A local time
that does not exist (the hour skipped when clocks go forward) is refused; an
ambiguous one (the hour repeated when they go back) is the first of the two.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nomotic_dsl.runtime.interpreter.state import MAX_TIMESTAMP

_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?")
UTC = ZoneInfo("UTC")


def load_zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name`` (UTC for None); ValueError for an unknown one."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (IANA names such as Europe/Paris or America/New_York)"
        ) from None


def parse_moment(text: str, zone: ZoneInfo) -> float:
    """A full date and time (local in ``zone`` unless it carries Z or an offset)."""
    match = _DATE_TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f'{text!r} is not a date and time: write "2024-04-08 09:00" '
            '(or with seconds, "2024-04-08 09:00:30"; Z or +02:00 for a fixed offset)'
        )
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    micro = round(float(match.group(7) or 0) * 1_000_000)
    offset = match.group(8)
    try:
        naive = datetime(year, month, day, hour, minute, second, micro)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    if offset is not None:
        return _checked(_with_offset(naive, offset).timestamp(), text)
    return _checked(local_timestamp(naive, zone, text), text)


def parse_clock(text: str, now: float, zone: ZoneInfo) -> float:
    """``"13:30"`` on the local day of ``now``, or a full date and time; never before ``now``."""
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if match is None:
        moment = parse_moment(text, zone)
    else:
        hour, minute = int(match.group(1)), int(match.group(2))
        second = int(match.group(3) or 0)
        micro = round(float(match.group(4) or 0) * 1_000_000)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{text!r} is not a time of day (00:00 to 23:59:59)")
        day = datetime.fromtimestamp(now, zone).date()
        naive = datetime(day.year, day.month, day.day, hour, minute, second, micro)
        moment = local_timestamp(naive, zone, text)
    if moment < now:
        raise ValueError(
            f"{text!r} is before the clock's time ({describe(now, zone)}): the clock only "
            "moves forward (write a later date to go to another day)"
        )
    return moment


def parse_point_time(text: str, start: float | None, zone: ZoneInfo) -> float:
    """The time of ``at "..."``: a time of day on the start's day, or a full date and time."""
    if _TIME_OF_DAY.fullmatch(text.strip()) is not None:
        if start is None:
            raise ValueError(
                f"{text!r} needs a day: this test has no `start`, so write a full date "
                'and time ("2024-04-08 13:30")'
            )
        return parse_clock(text, start, zone)
    return parse_moment(text, zone)


def local_timestamp(naive: datetime, zone: ZoneInfo, text: str) -> float:
    """The Unix time of local ``naive`` in ``zone``; ValueError inside a skipped hour."""
    aware = naive.replace(tzinfo=zone, fold=0)
    back = datetime.fromtimestamp(aware.timestamp(), zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(
            f"{text!r} does not exist in {zone.key}: the clocks skip that time "
            "(daylight saving); choose a time outside the skipped hour"
        )
    return aware.timestamp()


def describe(timestamp: float, zone: ZoneInfo) -> str:
    """``2024-04-08 09:00:30 America/New_York`` (fractions only when present)."""
    moment = datetime.fromtimestamp(timestamp, zone)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return f"{text} {zone.key}"


def _with_offset(naive: datetime, offset: str) -> datetime:
    if offset == "Z":
        return naive.replace(tzinfo=ZoneInfo("UTC"))
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))


def _checked(timestamp: float, text: str) -> float:
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"{text!r} lies outside the times an observation may have (1970 on)")
    return timestamp
