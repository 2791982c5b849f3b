"""Syntax problems, turned into diagnostics an author can act on.

Input: a ``SyntaxProblem`` from the parse driver (``recovery.py``) and the
source file. Output: one ``Diagnostic`` with a plain-words message (what was
found, what could come there) and a hint. Stage: text -> parse tree, failure
path. Lark's raw "Expected one of" list of terminal names never reaches the
author, and the list of what could come never names what was found.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

from nomotic_dsl.compiler.diagnostics import Diagnostic, make_diagnostic
from nomotic_dsl.compiler.limits import MAX_SYNTAX_ERRORS
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.compiler.syntax.keywords import KEYWORDS
from nomotic_dsl.compiler.syntax.recovery import SyntaxProblem
from nomotic_dsl.ir.spec import INVARIANT_TYPES

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z_]*")
_CUTOFF = 0.75

# Words that start a statement or a block item: a misspelling of one of them
# at the start of a statement is what broke it.
STATEMENT_WORDS: tuple[str, ...] = (
    "import",
    "const",
    "invariant",
    "pack",
    "archetype",
    "contract",
    "fidelity",
    "drift",
    "version",
    "certificate",
    "scope",
    "trust",
    "anchor",
    "expected",
    "use",
    "active",
    "baseline",
    "description",
    "actions",
    "targets",
    "outcomes",
)
_COMPARISONS = ("OP", "BETWEEN", "BELOW", "ABOVE", "EXACTLY")
_TOP_STATEMENTS = ("IMPORT", "CONST", "INVARIANT", "PACK", "ARCHETYPE", "CONTRACT")
_CONTRACT_ITEMS = ("VERSION", "CERTIFICATE", "SCOPE", "TRUST", "ANCHOR", "EXPECTED", "USE")
_RULE_STARTS = ("NO", "FIDELITY", "DRIFT", "AT")
_SINGLE = {
    "NUMBER": "a number",
    "PERCENT": "a percent",
    "UNIT_NUMBER": "a duration",
    "STRING": "a quoted string",
    "IDENT": "a name",
    "RBRACE": "`}`",
    "LBRACE": "`{`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "SLASH": "`/`",
    "EQUAL": "`=`",
    "MINUS": "`-`",
    "$END": "the end of the file",
}


def problem_diagnostic(problem: SyntaxProblem, source: SourceFile) -> Diagnostic:
    """The diagnostic for one syntax problem."""
    match problem.kind:
        case "character":
            return _bad_character(problem, source)
        case "unclosed":
            return _unclosed(problem, source)
        case "too_many":
            return make_diagnostic(
                source,
                "NMO109",
                problem.span,
                f"more than {MAX_SYNTAX_ERRORS} syntax errors: the rest of the file was not read",
                "fix the errors above and check again",
            )
    misspelt = _misspelt(problem, source)
    if misspelt is not None:
        return misspelt
    wanted = describe_expected(problem.expected, found=problem.found_type)
    found = _shown(problem.found)
    if problem.kind == "token":
        message = f"unexpected `{found}` here" + (f"; expected {wanted}" if wanted else "")
        return make_diagnostic(source, "NMO100", problem.span, message, _hint(problem, source))
    where = "line" if problem.kind == "line_end" else "file"
    after = f": expected {wanted} after `{found}`" if wanted else ""
    code = "NMO107" if problem.kind == "line_end" else "NMO101"
    help_text = (
        "finish the statement on this line: a line may break only after `,` or `:`, or before `{`"
        if problem.kind == "line_end"
        else None
    )
    return make_diagnostic(
        source,
        code,
        problem.span,
        f"the {where} ends inside an unfinished statement{after}",
        help_text,
    )


# ---- misspelt keywords -------------------------------------------------------------


def _misspelt(problem: SyntaxProblem, source: SourceFile) -> Diagnostic | None:
    """NMO210 when a misspelt keyword broke the statement: the word found, or its first word."""
    if problem.kind == "token" and problem.found_type == "IDENT":
        allowed = [_literal(name) for name in problem.expected if _is_keyword_terminal(name)]
        close = _close(problem.found, allowed)
        if close is not None:
            return make_diagnostic(
                source,
                "NMO210",
                problem.span,
                f"unknown word `{_shown(problem.found)}` here",
                f"did you mean `{close}`?",
            )
    first = problem.first
    if first is None or first.type != "IDENT":
        return None
    word = str(first)
    if word in KEYWORDS or word in INVARIANT_TYPES:
        return None
    close = _close(word, STATEMENT_WORDS)
    if close is None:
        return None
    start = first.start_pos or 0
    return make_diagnostic(
        source,
        "NMO210",
        Span(start, start + len(word)),
        f"unknown word `{_shown(word)}` at the start of a statement",
        f"did you mean `{close}`?",
    )


def _close(word: str, known: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word.lower(), sorted(set(known)), n=1, cutoff=_CUTOFF)
    return matches[0] if matches else None


def _is_keyword_terminal(name: str) -> bool:
    return name.lower() in KEYWORDS and name.isalpha()


def _hint(problem: SyntaxProblem, source: SourceFile) -> str | None:
    """Did-you-mean for a misspelt keyword elsewhere on the line, or a hint for `:`."""
    start = problem.span.start
    line_start = source.text.rfind("\n", 0, start) + 1
    for word in _WORD_RE.findall(source.text[line_start : problem.span.end]):
        if word in KEYWORDS or word in INVARIANT_TYPES:
            continue
        close = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.8)
        if close:
            return f"did you mean `{close[0]}` instead of `{word}`?"
    if problem.found == ":" and "OP" in problem.expected:
        return "a named invariant starts with `invariant NAME:`"
    return None


# ---- characters and braces -----------------------------------------------------------


def _bad_character(problem: SyntaxProblem, source: SourceFile) -> Diagnostic:
    offset = problem.span.start
    char = problem.found
    if char == '"':
        line_end = source.text.find("\n", offset)
        end = len(source.text) if line_end < 0 else line_end
        return make_diagnostic(
            source,
            "NMO105",
            Span(offset, end),
            "this string is never closed",
            'add the closing `"` on the same line (write `\\"` for a quote inside a string)',
        )
    if is_invisible(char):
        return make_diagnostic(
            source,
            "NMO108",
            problem.span,
            f"{_character_name(char)} here, where no such character may be",
            "delete it: most editors do not show it",
        )
    wanted = describe_expected(problem.expected)
    return make_diagnostic(
        source,
        "NMO100",
        problem.span,
        f"unexpected character `{char}`",
        f"expected {wanted}" if wanted else None,
    )


def is_invisible(char: str) -> bool:
    """True for control, format (zero-width, bidi), separator and other unseen characters."""
    if not char or char == " ":
        return False
    return unicodedata.category(char)[0] in "CZ"


def _character_name(char: str) -> str:
    """``the invisible character U+200B (ZERO WIDTH SPACE)``."""
    name = unicodedata.name(char, "")
    kind = "control character" if unicodedata.category(char) == "Cc" else "invisible character"
    label = f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return f"the {kind} {label}"


def _unclosed(problem: SyntaxProblem, source: SourceFile) -> Diagnostic:
    help_text = "close the block with `}`"
    starter = problem.previous
    if starter is not None and starter.type != "LBRACE":
        line = source.position(starter.start_pos or 0).line
        help_text = (
            f"close it with `}}` before line {line}, where `{starter}` starts a new declaration"
        )
    return make_diagnostic(source, "NMO106", problem.span, "this `{` is never closed", help_text)


# ---- what could have come instead --------------------------------------------------------


def describe_expected(terminals: Iterable[str], found: str = "") -> str:
    """Plain words for a set of Lark terminal names, never naming ``found``; empty when none."""
    remaining = set(terminals) - {found}
    remaining.discard("COMMENT")
    phrases: list[str] = []
    comparisons = [name for name in _COMPARISONS if name in remaining]
    if comparisons:
        examples = []
        if "OP" in remaining:
            examples.append("`<`, `<=`, `>`, `>=`, `==`")
        if "BETWEEN" in remaining:
            examples.append("`between A and B`")
        if "AT" in remaining:
            examples.append("`at most`")
        examples.extend(
            f"`{name.lower()}`" for name in ("BELOW", "ABOVE", "EXACTLY") if name in remaining
        )
        phrases.append(f"a comparison ({', '.join(examples)})")
        remaining -= {*_COMPARISONS, "AT"}
    if "OVER" in remaining:
        phrases.append("a window (`over 100 actions`, `over 1h`)")
        remaining.discard("OVER")
    if "WINDOW_UNIT" in remaining:
        phrases.append("a unit (`actions`, `minutes`, `hours`...)")
        remaining -= {"WINDOW_UNIT", "ACTIONS", "ACTION"}
    starts = [name for name in (*_TOP_STATEMENTS, *_RULE_STARTS) if name in remaining]
    items = [name for name in _CONTRACT_ITEMS if name in remaining]
    if len(items) >= 3:
        words = ", ".join(f"`{name.lower()}`" for name in items[:4])
        phrases.append(f"a contract item ({words}...)")
        remaining -= set(_CONTRACT_ITEMS)
    if len(starts) >= 3:
        words = ", ".join(f"`{name.lower()}`" for name in starts[:4] if name != "AT")
        phrases.append(f"a new rule or declaration ({words}...)")
        remaining -= {*_TOP_STATEMENTS, *_RULE_STARTS, "IDENT"}
    for name in ("NUMBER", "PERCENT", "UNIT_NUMBER", "MINUS", "STRING", "IDENT"):
        if name in remaining:
            phrases.append(_SINGLE[name])
            remaining.discard(name)
    end = [name for name in ("RBRACE", "$END") if name in remaining]
    remaining -= set(end)
    phrases.extend(_SINGLE.get(name, f"`{_literal(name)}`") for name in sorted(remaining))
    phrases.extend(_SINGLE[name] for name in end)
    if len(phrases) > 6:
        phrases = [*phrases[:5], "..."]
    return _join(phrases)


def _literal(name: str) -> str:
    shown = _SINGLE.get(name)
    if shown is not None and shown.startswith("`"):
        return shown.strip("`")
    return name.lower()


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _join(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


__all__ = ["KEYWORDS", "describe_expected", "is_invisible", "problem_diagnostic"]
