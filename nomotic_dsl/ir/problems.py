"""Problems as values: what is wrong with a record, and which field it is about.

Input: produced by the validation of specs and contracts. Output: ``Problem``
(a field path such as ``invariants[2].threshold`` and a sentence), rendered
by the shells: the CLI prints ``str(problem)``, the HTTP API sends the path
and the message as separate JSON fields. Nothing parses messages to find
where a problem is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: ``path`` names the field (empty for the whole record)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def within(self, prefix: str) -> Problem:
        """The same problem seen from a record that holds this one at ``prefix``."""
        if not prefix:
            return self
        if not self.path:
            return Problem(prefix, self.message)
        joiner = "" if self.path.startswith("[") else "."
        return Problem(f"{prefix}{joiner}{self.path}", self.message)


def index_path(field: str, index: int) -> str:
    """``invariants[2]``."""
    return f"{field}[{index}]"


def key_path(field: str, key: object) -> str:
    """``drift_thresholds['acton']``."""
    return f"{field}[{key!r}]"


def render_problems(problems: Iterable[Problem]) -> list[str]:
    """Each problem as one line, for people."""
    return [str(problem) for problem in problems]
