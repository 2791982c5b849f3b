"""InvariantResult: the outcome of evaluating one invariant on one state.

A result is an immutable record of eight fields. It is built on a tuple (as
``namedtuple`` and ``os.stat_result`` are) because results are made for every
invariant on every observation: a tuple costs a tenth of a frozen dataclass
to build. Its detail sentence is built only when read: generated evaluators
store the sentence's parts (``DetailParts``: the spec's phrases, the basis
and a note) and ``detail`` renders them with the same ``render_detail`` the
interpreter calls, so equality, hashing, ``repr`` and ``to_dict`` see exactly
the text an eager result would hold.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any

from nomotic_dsl.ir.describe import DetailText
from nomotic_dsl.runtime.interpreter.detail import render_detail

FIELDS: tuple[str, ...] = (
    "invariant_id",
    "satisfied",
    "current_value",
    "threshold",
    "margin",
    "status",
    "detail",
    "measured",
)


class DetailParts:
    """What a detail sentence is made of, before it is rendered: phrases, basis, note.

    Generated modules make one per invariant and basis at import time (and one
    per result only when a note varies), so a result that is never read as
    text never builds its sentence.
    """

    __slots__ = ("basis", "note", "text")

    def __init__(self, text: DetailText, basis: str, note: str = "") -> None:
        self.text = text
        self.basis = basis
        self.note = note

    def __repr__(self) -> str:
        return f"DetailParts({self.text!r}, {self.basis!r}, {self.note!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (DetailParts, (self.text, self.basis, self.note))


class InvariantResult(tuple[Any, ...]):
    """Whether an invariant held, the measured value, its margin and a readable detail.

    ``measured`` is False when the invariant had nothing to measure: an absent
    drift or semantic score, an empty window, or a warm-up not yet reached.
    Such a result is never a violation (satisfied, margin NaN, status by the
    status rules) and is never counted as satisfied: summaries and provenance
    count it as not measured. ``current_value`` is NaN when no value exists
    (absent data, warm-up) and 0.0 for an empty window.

    Build one with the eight fields (``detail`` a str); read them by name.
    Results compare equal when every field does (NaN as ``==`` has it, so use
    ``same_as`` to treat NaN as equal to NaN). It is a tuple only for speed:
    do not index or unpack it.
    """

    __slots__ = ()
    __match_args__ = (
        "invariant_id",
        "satisfied",
        "current_value",
        "threshold",
        "margin",
        "status",
        "detail",
        "measured",
    )

    def __new__(
        cls,
        invariant_id: str,
        satisfied: bool,
        current_value: float,
        threshold: float,
        margin: float,
        status: str,
        detail: str | DetailParts,
        measured: bool = True,
    ) -> InvariantResult:
        return tuple.__new__(
            cls,
            (invariant_id, satisfied, current_value, threshold, margin, status, detail, measured),
        )

    invariant_id: str = property(itemgetter(0), doc="The invariant's id.")  # type: ignore[assignment]
    satisfied: bool = property(itemgetter(1), doc="Whether the bound held.")  # type: ignore[assignment]
    current_value: float = property(itemgetter(2), doc="The measured value.")  # type: ignore[assignment]
    threshold: float = property(itemgetter(3), doc="The bound (the lower one of a band).")  # type: ignore[assignment]
    margin: float = property(itemgetter(4), doc="How far inside the bound, relatively.")  # type: ignore[assignment]
    status: str = property(itemgetter(5), doc="satisfied, approaching or violated.")  # type: ignore[assignment]
    measured: bool = property(itemgetter(7), doc="False when nothing was measured.")  # type: ignore[assignment]

    @property
    def detail(self) -> str:
        """The detail sentence, rendered from its parts when the result was built without it."""
        detail = self[6]
        if detail.__class__ is str:
            return detail
        return render_detail(detail.text, self[2], self[4], self[5], detail.basis, detail.note)

    def fields(self) -> tuple[Any, ...]:
        """The eight field values, in order, with the detail as text."""
        detail = self[6]
        if detail.__class__ is str:
            return tuple(self)
        return (*self[:6], self.detail, self[7])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not InvariantResult:
            # Never equal to a plain tuple of the same values, as a dataclass would not be.
            return False if isinstance(other, tuple) else NotImplemented
        if self[6] is other[6]:
            return tuple.__eq__(self, other)
        return self.fields() == other.fields()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.fields())

    def __lt__(self, other: object) -> bool:
        return NotImplemented

    __le__ = __gt__ = __ge__ = __lt__

    def __repr__(self) -> str:
        values = ", ".join(
            f"{name}={value!r}" for name, value in zip(FIELDS, self.fields(), strict=True)
        )
        return f"InvariantResult({values})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-clean form: NaN becomes null, infinities become the strings "inf"/"-inf"."""
        return {
            name: _json_number(value) for name, value in zip(FIELDS, self.fields(), strict=True)
        }

    def same_as(self, other: InvariantResult) -> bool:
        """Field-by-field equality that treats NaN as equal to NaN."""
        return self.to_dict() == other.to_dict()


def _json_number(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value
