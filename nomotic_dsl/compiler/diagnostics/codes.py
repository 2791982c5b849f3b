"""The one registry of diagnostic codes: stable code -> severity and summary.

Input: none (a table). Output: ``CODES`` and ``code_info``. Stage: used by
every pass that reports a problem. Codes never change meaning once published;
new problems get new codes. Ranges: NMO1xx syntax and input limits, NMO2xx
names and imports, NMO3xx values and types, NMO4xx contracts and scope, NMO5xx
rule conflicts, NMO9xx compiler defects (a bug to report, never the author's
mistake).
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """A code's fixed severity and one-line summary."""

    code: str
    severity: str
    summary: str


_TABLE: tuple[tuple[str, str, str], ...] = (
    # Syntax
    ("NMO100", ERROR, "the text cannot be read as .nomo (unexpected character or token)"),
    ("NMO101", ERROR, "the file ends in the middle of a statement"),
    ("NMO102", ERROR, "`=` used for comparison; write `==`"),
    ("NMO103", ERROR, "`=>` or `=<` used; write `>=` or `<=`"),
    ("NMO104", ERROR, "a window number has no unit"),
    (
        "NMO105",
        ERROR,
        "a string literal is malformed (unknown escape, unterminated, control character)",
    ),
    ("NMO106", ERROR, "a `{` is never closed"),
    ("NMO107", ERROR, "a line ends inside an unfinished statement"),
    ("NMO108", ERROR, "an invisible or control character where none may be"),
    ("NMO109", ERROR, "too many syntax errors: the rest of the file was not read"),
    ("NMO110", ERROR, "the file is too large (characters or lines)"),
    ("NMO111", ERROR, "the program has too many rules"),
    ("NMO112", ERROR, "a name or text is too long"),
    ("NMO198", WARNING, "more warnings in this file than are shown; they are counted here"),
    ("NMO199", ERROR, "more diagnostics in this file than are shown, errors among them"),
    # Names and imports
    ("NMO200", ERROR, "unknown invariant type"),
    ("NMO201", ERROR, "unknown metric for this invariant type"),
    ("NMO202", ERROR, "unknown comparison operator"),
    ("NMO203", ERROR, "unknown unit"),
    ("NMO204", ERROR, "unknown or unusable constant"),
    ("NMO205", ERROR, "import cannot be found or read"),
    ("NMO206", ERROR, "import cycle"),
    ("NMO207", ERROR, "duplicate name"),
    ("NMO208", ERROR, "unknown archetype"),
    ("NMO209", ERROR, "`use` names no pack or invariant in scope"),
    ("NMO210", ERROR, "unknown keyword or setting in a block"),
    ("NMO211", ERROR, "an import path is malformed (too long, empty or with control characters)"),
    # Values and types
    ("NMO300", ERROR, "a proportion bound lies outside 0..1"),
    ("NMO301", ERROR, "`between` needs a lower bound below the upper bound"),
    ("NMO302", ERROR, "hours lie outside 0..24 or allow no hour at all"),
    ("NMO303", ERROR, "a window is zero, negative or a fractional number of actions"),
    ("NMO304", ERROR, "a count threshold is not a whole number"),
    ("NMO305", ERROR, "unknown time zone"),
    ("NMO306", ERROR, "a value has the wrong kind here (number, percent, duration, text)"),
    ("NMO307", ERROR, "`baseline` used where no archetype baseline rate exists"),
    ("NMO308", ERROR, "a distribution share or trust value lies outside 0..1"),
    ("NMO309", ERROR, "the lowered invariant is not a valid InvariantSpec"),
    ("NMO310", WARNING, "no measured value can satisfy this bound: the rule always fails"),
    ("NMO311", WARNING, "every measured value satisfies this bound: the rule can never fail"),
    ("NMO312", ERROR, "a number has too many digits"),
    ("NMO313", ERROR, "a value is too large for its field"),
    ("NMO314", ERROR, "a window on a rule that reads none (drift reads the state's scores)"),
    ("NMO315", ERROR, "an action name the `X_to_Y` ratio metric cannot carry"),
    ("NMO320", ERROR, "a warm-up (`once full`, `after N actions`) that cannot be met"),
    ("NMO321", ERROR, "`per session` on a rule that reads no actions (drift)"),
    ("NMO322", ERROR, "a rate growth (`Nx previous`) outside a rate rule with a time window"),
    # Contracts and scope
    ("NMO400", ERROR, "an action or target lies outside the contract's authorized scope"),
    ("NMO401", WARNING, "the archetype prior expects an action or target outside the scope"),
    ("NMO402", ERROR, "a semantic rule names a term the contract declares no anchor for"),
    ("NMO403", ERROR, "a drift key is not one of the six distributions"),
    ("NMO404", ERROR, "the contract is invalid (BehavioralContract refused it)"),
    ("NMO405", ERROR, "a contract setting is given twice or is missing"),
    ("NMO406", ERROR, "an archetype or contract setting is malformed"),
    # Rule conflicts
    ("NMO500", ERROR, "two rules on the same metric and window that no value satisfies together"),
    (
        "NMO501",
        WARNING,
        "a rule is redundant: another rule on the same metric and window implies it",
    ),
    # Compiler defects
    ("NMO900", ERROR, "a rule gave neither an invariant nor a diagnostic (a compiler defect)"),
)

CODES: dict[str, CodeInfo] = {code: CodeInfo(code, sev, text) for code, sev, text in _TABLE}


def code_info(code: str) -> CodeInfo:
    """The registry entry of a code; KeyError for a code nobody registered."""
    return CODES[code]
