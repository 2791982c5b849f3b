"""Reading ``.nomotest`` files: a small line-oriented language, one statement per line.

Input: the text of a test file and its display name. Output: a ``TestFile``,
or ``TestFileError`` naming the first problem by file, line and column (a
test file is short, and a wrong one is fixed one line at a time). Stage: the
front of ``nomo test``; the runner reads the records in ``model``.

Tokens: strings in double quotes (escapes ``\\"``, ``\\\\``, ``\\n``, ``\\t``),
numbers (``40``, ``0.3``, ``85%``), durations (``30s``, ``5m``, ``1h30m``, or
a number and a unit word: ``30 s``, ``2 hours``), names (letters, digits,
``_``, ``-`` and ``.``, not starting with a digit), ``{ } ,``, comparison
operators, and ``#`` comments to the end of the line. Statements end at the
end of a line. ``policy { ... }`` holds .nomo text, taken as written.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from nomotic_dsl.policytest.model import (
    DRIFT_STATE,
    INVARIANT_STATES,
    SCOPE_STATE,
    AtEnd,
    AtLine,
    AtTime,
    Choice,
    Claim,
    Clock,
    Comparison,
    ErrorAt,
    Expectation,
    FirstAt,
    LineRange,
    Never,
    NoErrors,
    NoViolations,
    Observe,
    Point,
    PolicyRef,
    Reaches,
    Setting,
    Settings,
    StartTime,
    StateAt,
    Step,
    Subject,
    TestCase,
    TestFile,
    TestFileError,
    Times,
    TraceStep,
    ValueAt,
    Wait,
    Where,
)

MAX_TEST_FILE_BYTES = 1024 * 1024
MAX_COUNT = 1_000_000

DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
# Runtime options a test may set, by the name `nomo run` gives them, and their kind.
OPTIONS: dict[str, str] = {
    "drift-window": "count",
    "min-drift-observations": "count",
    "agent-idle": "duration",
    "session-idle": "duration",
}
DRIFT_NAMES: tuple[str, ...] = ("action", "target", "temporal", "outcome", "semantic", "overall")
COMPARISONS: dict[str, str] = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=="}
# Words that end a list of names in an `observe` step.
OBSERVE_OPTIONS = ("on", "every", "session", "outcome", "semantic", "agent", "drift")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|[smhd])")
_OPERATOR = re.compile(r"<=|>=|==|!=|<|>|=")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: kind (name, string, number, percent, duration, op, punct, newline, end)."""

    kind: str
    text: str
    value: object
    line: int
    column: int


class Lexer:
    """Tokens of a test file, produced on demand (``policy { ... }`` switches to raw text)."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0
        self._line_starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def where(self, pos: int | None = None) -> Where:
        """The file, line and column of ``pos`` (the current position by default)."""
        at = self.pos if pos is None else pos
        line = bisect.bisect_right(self._line_starts, at)
        return Where(self.filename, line, at - self._line_starts[line - 1] + 1)

    def fail(self, message: str, pos: int | None = None) -> TestFileError:
        return TestFileError(self.where(pos), message)

    def next(self) -> Token:
        """The next token (``newline`` at each end of line, ``end`` at the end of the text)."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r":
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif char == "\\" and text.startswith("\\\n", self.pos):
                self.pos += 2  # a statement continued on the next line
            else:
                break
        if self.pos >= len(text):
            where = self.where()
            return Token("end", "", None, where.line, where.column)
        start = self.pos
        where = self.where()
        char = text[start]
        if char == "\n":
            self.pos += 1
            return Token("newline", "\n", None, where.line, where.column)
        if char == '"':
            value = self._string()
            return Token("string", text[start : self.pos], value, where.line, where.column)
        if char in "{},":
            self.pos += 1
            return Token("punct", char, char, where.line, where.column)
        if char.isdigit() or (char == "-" and text[start + 1 : start + 2].isdigit()):
            return self._number(where)
        match = _OPERATOR.match(text, start)
        if match:
            self.pos = match.end()
            operator = match.group(0)
            if operator in ("=", "!="):
                hint = "write `==`" if operator == "=" else "expect the opposite state instead"
                raise self.fail(f"`{operator}` is not a comparison here; {hint}", start)
            return Token("op", operator, operator, where.line, where.column)
        match = _NAME.match(text, start)
        if match:
            self.pos = match.end()
            return Token("name", match.group(0), match.group(0), where.line, where.column)
        raise self.fail(f"unexpected character {char!r}", start)

    def _string(self) -> str:
        text = self.text
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\n":
                break
            if char == "\\":
                escape = text[self.pos + 1 : self.pos + 2]
                if escape not in _ESCAPES:
                    raise self.fail(
                        f'unknown escape `\\{escape}` in a string (known: \\" \\\\ \\n \\t)',
                        self.pos,
                    )
                out.append(_ESCAPES[escape])
                self.pos += 2
                continue
            out.append(char)
            self.pos += 1
        raise self.fail('this string is not closed on its line (a `"` is missing)', start)

    def _number(self, where: Where) -> Token:
        text = self.text
        start = self.pos
        compound = _compound_duration(text, start)
        if compound is not None:
            end, seconds = compound
            self.pos = end
            return Token("duration", text[start:end], seconds, where.line, where.column)
        match = _NUMBER.match(text, start)
        assert match is not None
        self.pos = match.end()
        value = float(match.group(0))
        if text.startswith("%", self.pos):
            self.pos += 1
            return Token("percent", text[start : self.pos], value / 100, where.line, where.column)
        follow = _NAME.match(text, self.pos)
        if follow and follow.group(0) in DURATION_UNITS:
            self.pos = follow.end()
            seconds = value * DURATION_UNITS[follow.group(0)]
            return Token("duration", text[start : self.pos], seconds, where.line, where.column)
        if follow:
            unit = follow.group(0)
            raise self.fail(
                f"`{match.group(0)}{unit}`: `{unit}` is not a unit of time "
                "(ms, s, m, h, d; or a word: seconds, minutes, hours, days)",
                start,
            )
        return Token("number", match.group(0), value, where.line, where.column)

    def raw_block(self, opened: Token) -> tuple[int, int]:
        """After ``{``: the offsets of the text up to the matching ``}`` (which is consumed).

        .nomo strings and comments are skipped, so a brace inside them does not count.
        """
        text = self.text
        depth = 1
        start = self.pos
        while self.pos < len(text):
            char = text[self.pos]
            if char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
                continue
            if char == '"':
                self._skip_nomo_string()
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    end = self.pos
                    self.pos += 1
                    return start, end
            self.pos += 1
        raise TestFileError(
            Where(self.filename, opened.line, opened.column),
            "this `{` of an inline policy is never closed (a `}` is missing)",
        )

    def _skip_nomo_string(self) -> None:
        text = self.text
        self.pos += 1
        while self.pos < len(text) and text[self.pos] not in '"\n':
            self.pos += 2 if text[self.pos] == "\\" else 1
        self.pos += 1


def _compound_duration(text: str, start: int) -> tuple[int, float] | None:
    """``30s``, ``1h30m``, ``500ms``: (end offset, seconds), or None when not a duration."""
    pos = start
    total = 0.0
    while True:
        match = _DURATION_PART.match(text, pos)
        if match is None:
            break
        end = match.end()
        # `5min` or `2hours` continue as a word: not this compact form.
        if end < len(text) and (text[end].isalpha() or text[end] == "_"):
            return None
        total += float(match.group(1)) * DURATION_UNITS[match.group(2)]
        pos = end
    if pos == start:
        return None
    return pos, total


class Parser:
    """A recursive-descent parser over ``Lexer`` with one token of lookahead."""

    def __init__(self, text: str, filename: str) -> None:
        self.lexer = Lexer(text, filename)
        self.filename = filename
        self.text = text
        self._peeked: Token | None = None
        self._lines = text.splitlines()

    # --- tokens ---------------------------------------------------------------------------

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self.lexer.next()
        return self._peeked

    def take(self) -> Token:
        token = self.peek()
        self._peeked = None
        return token

    def where(self, token: Token) -> Where:
        return Where(self.filename, token.line, token.column)

    def fail(self, token: Token, message: str) -> TestFileError:
        return TestFileError(self.where(token), message)

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text in words

    def accept_word(self, *words: str) -> Token | None:
        if self.at_word(*words):
            return self.take()
        return None

    def expect_word(self, word: str, context: str) -> Token:
        token = self.peek()
        if token.kind == "name" and token.text == word:
            return self.take()
        raise self.fail(token, f"expected `{word}` {context}, found {describe(token)}")

    def expect_punct(self, char: str, context: str) -> Token:
        token = self.peek()
        if token.kind == "punct" and token.text == char:
            return self.take()
        raise self.fail(token, f"expected `{char}` {context}, found {describe(token)}")

    def end_of_statement(self, context: str) -> None:
        token = self.peek()
        if token.kind in ("newline", "end") or (token.kind == "punct" and token.text == "}"):
            if token.kind == "newline":
                self.take()
            return
        raise self.fail(token, f"unexpected {describe(token)} after {context}")

    def skip_newlines(self) -> None:
        while self.peek().kind == "newline":
            self.take()

    def statement_text(self, first: Token) -> str:
        """The source text of the statement that began with ``first`` (its one line)."""
        lines = self._lines
        return lines[first.line - 1].strip() if first.line <= len(lines) else ""

    # --- values ---------------------------------------------------------------------------

    def name(self, what: str) -> str:
        token = self.peek()
        if token.kind in ("name", "string") and str(token.value):
            self.take()
            return str(token.value)
        raise self.fail(
            token, f"expected {what} (a name, or a string in quotes), found {describe(token)}"
        )

    def string(self, what: str) -> tuple[str, Token]:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return str(token.value), token
        raise self.fail(token, f"expected {what} in double quotes, found {describe(token)}")

    def count(self, what: str) -> int:
        token = self.peek()
        if token.kind == "number" and float(str(token.value)).is_integer():
            value = int(float(str(token.value)))
            if 1 <= value <= MAX_COUNT:
                self.take()
                return value
            raise self.fail(token, f"{what} must be between 1 and {MAX_COUNT:,}, not {value}")
        raise self.fail(token, f"expected {what} (a whole number), found {describe(token)}")

    def whole(self, what: str) -> int:
        token = self.peek()
        if token.kind == "number" and float(str(token.value)).is_integer():
            value = int(float(str(token.value)))
            if value >= 0:
                self.take()
                return value
        raise self.fail(token, f"expected {what} (a whole number), found {describe(token)}")

    def number(self, what: str) -> float:
        token = self.peek()
        if token.kind in ("number", "percent"):
            self.take()
            return float(str(token.value))
        raise self.fail(token, f"expected {what} (a number or a percent), found {describe(token)}")

    def duration(self, what: str) -> float:
        token = self.peek()
        if token.kind == "duration":
            self.take()
            seconds = float(str(token.value))
        elif token.kind == "number":
            self.take()
            unit = self.peek()
            if unit.kind != "name" or unit.text not in DURATION_UNITS:
                raise self.fail(
                    unit,
                    f"expected a unit of time after {token.text} (s, m, h, d, or seconds, "
                    f"minutes, hours, days), found {describe(unit)}",
                )
            self.take()
            seconds = float(str(token.value)) * DURATION_UNITS[unit.text]
        else:
            raise self.fail(
                token, f"expected {what} (such as 30s, 5m or 1h), found {describe(token)}"
            )
        if seconds <= 0:
            raise self.fail(token, f"{what} must be longer than zero")
        return seconds

    # --- the file -------------------------------------------------------------------------

    def parse(self) -> TestFile:
        settings = Settings()
        tests: list[TestCase] = []
        names: dict[str, Where] = {}
        while True:
            self.skip_newlines()
            token = self.peek()
            if token.kind == "end":
                break
            if token.kind == "name" and token.text == "test":
                test = self.test()
                if test.name in names:
                    raise TestFileError(
                        test.where,
                        f'a test named "{test.name}" already exists (line {names[test.name].line})',
                    )
                names[test.name] = test.where
                tests.append(test)
                continue
            settings = self.setting(settings, "in a test file (outside a test)")
        return TestFile(self.filename, settings, tuple(tests))

    def test(self) -> TestCase:
        first = self.take()
        name, _ = self.string("the test's name")
        if not name.strip():
            raise self.fail(first, "a test needs a name")
        self.expect_punct("{", "to open the test")
        self.end_of_statement("`{`")
        settings = Settings()
        steps: list[Step] = []
        expectations: list[Expectation] = []
        while True:
            self.skip_newlines()
            token = self.peek()
            if token.kind == "end":
                raise self.fail(first, f'test "{name}" is never closed (a `}}` is missing)')
            if token.kind == "punct" and token.text == "}":
                self.take()
                self.end_of_statement("the test's `}`")
                break
            if self.at_word("expect"):
                expectations.append(self.expectation())
            elif self.at_word("observe", "trace", "wait", "clock"):
                steps.append(self.step())
            else:
                settings = self.setting(settings, "in a test")
        if not steps:
            raise self.fail(
                first, f'test "{name}" observes nothing: add `observe` or `trace` steps'
            )
        if not expectations:
            raise self.fail(first, f'test "{name}" expects nothing: add `expect` lines')
        return TestCase(self.where(first), name, settings, tuple(steps), tuple(expectations))

    # --- settings -------------------------------------------------------------------------

    def setting(self, settings: Settings, context: str) -> Settings:
        token = self.peek()
        if token.kind != "name":
            raise self.fail(
                token, f"expected a setting, `test` or a step {context}, found {describe(token)}"
            )
        handlers: dict[str, Callable[[Settings, Token], Settings]] = {
            "policy": self._policy,
            "contract": self._contract,
            "start": self._start,
            "pace": self._pace,
            "option": self._option,
        }
        handler = handlers.get(token.text)
        if handler is None:
            known = (
                "policy, contract, start, pace, option, test"
                if "outside" in context
                else ("policy, contract, start, pace, option, observe, trace, wait, clock, expect")
            )
            raise self.fail(token, f"unknown statement `{token.text}` {context} (known: {known})")
        self.take()
        return handler(settings, token)

    def _once(self, value: object, token: Token) -> None:
        if value is not None:
            raise self.fail(token, f"`{token.text}` is set twice here")

    def _policy(self, settings: Settings, token: Token) -> Settings:
        self._once(settings.policy, token)
        nxt = self.peek()
        if nxt.kind == "punct" and nxt.text == "{":
            opened = self.take()
            start, end = self.lexer.raw_block(opened)
            inline = _laid_out(self.text, start, end)
            ref = PolicyRef(self.where(token), inline=inline)
            self.end_of_statement("the inline policy's `}`")
        else:
            path, _ = self.string('the policy file (`policy "policy.nomo"`) or `{`')
            ref = PolicyRef(self.where(token), path=path)
            self.end_of_statement("the policy")
        return replace(settings, policy=ref)

    def _contract(self, settings: Settings, token: Token) -> Settings:
        self._once(settings.contract, token)
        name = self.name("the contract's agent id")
        self.end_of_statement("the contract")
        return replace(settings, contract=Setting(self.where(token), name))

    def _start(self, settings: Settings, token: Token) -> Settings:
        self._once(settings.start, token)
        text, _ = self.string('the start time (`start "2024-04-08 09:00" in "America/New_York"`)')
        zone = None
        if self.accept_word("in"):
            zone, _ = self.string("a time zone")
        self.end_of_statement("the start time")
        return replace(settings, start=StartTime(self.where(token), text, zone))

    def _pace(self, settings: Settings, token: Token) -> Settings:
        self._once(settings.pace, token)
        seconds = self.duration("the time between observations")
        self.end_of_statement("the pace")
        return replace(settings, pace=Setting(self.where(token), seconds))

    def _option(self, settings: Settings, token: Token) -> Settings:
        name_token = self.peek()
        name = self.name("a runtime option")
        kind = OPTIONS.get(name)
        if kind is None:
            raise self.fail(name_token, f"unknown option `{name}` (known: {', '.join(OPTIONS)})")
        if any(existing == name for existing, _ in settings.options):
            raise self.fail(name_token, f"option `{name}` is set twice here")
        value: float | int = self.count(name) if kind == "count" else self.duration(name)
        self.end_of_statement(f"option {name}")
        options = (*settings.options, (name, Setting(self.where(name_token), value)))
        return replace(settings, options=options)

    # --- steps ----------------------------------------------------------------------------

    def step(self) -> Step:
        token = self.take()
        text = self.statement_text(token)
        where = self.where(token)
        step: Step
        if token.text == "trace":
            path, _ = self.string('the trace file (`trace "trace.jsonl"`)')
            step = TraceStep(where, text, path)
        elif token.text == "wait":
            step = Wait(where, text, self.duration("how long to wait"))
        elif token.text == "clock":
            time, _ = self.string('the time to set the clock to (`clock "13:30"`)')
            step = Clock(where, text, time)
        else:
            step = self.observe(where, text)
        self.end_of_statement(f"the `{token.text}` step")
        return step

    def observe(self, where: Where, text: str) -> Observe:
        count = 1
        if self.peek().kind == "number":
            count = self.count("the number of observations")
        actions = self.choices("an action")
        if not self.accept_word("on"):
            raise self.fail(
                self.peek(), "expected `on` and the target(s) (`observe 40 read on tickets`)"
            )
        targets = self.choices("a target")
        every: float | None = None
        agent: str | None = None
        lists: dict[str, tuple[Choice, ...]] = {}
        scores: dict[str, tuple[tuple[str, float], ...]] = {}
        seen: set[str] = set()
        while self.peek().kind == "name" and self.peek().text in OBSERVE_OPTIONS[1:]:
            word = self.take()
            if word.text in seen:
                raise self.fail(word, f"`{word.text}` is given twice in this step")
            seen.add(word.text)
            if word.text == "every":
                every = self.duration("the time between observations")
            elif word.text == "agent":
                agent = self.name("an agent id")
            elif word.text in ("session", "outcome"):
                lists[word.text] = self.choices(f"a {word.text}")
            elif word.text == "semantic":
                scores["semantic"] = self.scores("an anchor term", None)
            else:
                scores["drift"] = self.scores("a drift distribution", DRIFT_NAMES)
        return Observe(
            where=where,
            text=text,
            count=count,
            actions=actions,
            targets=targets,
            every=every,
            sessions=lists.get("session", ()),
            outcomes=lists.get("outcome", ()),
            semantic=scores.get("semantic", ()),
            agent=agent,
            drift=scores.get("drift", ()),
        )

    def choices(self, what: str) -> tuple[Choice, ...]:
        """``read`` or ``read, reply`` (cycled) or ``read 75%, reply 25%`` (shares)."""
        items: list[Choice] = []
        first = self.peek()
        while True:
            token = self.peek()
            if token.kind == "name" and token.text in OBSERVE_OPTIONS:
                raise self.fail(
                    token,
                    f"expected {what}, found the word `{token.text}` (quote a name spelt like it)",
                )
            name = self.name(what)
            weight = None
            if self.peek().kind == "percent":
                weight = float(str(self.take().value))
                if not 0 < weight <= 1:
                    raise self.fail(
                        token, f"the share of {name!r} must be above 0% and at most 100%"
                    )
            items.append(Choice(name, weight))
            if not (self.peek().kind == "punct" and self.peek().text == ","):
                break
            self.take()
        weighted = [item.weight is not None for item in items]
        if any(weighted) and not all(weighted):
            raise self.fail(first, "give a share to every name of this list, or to none")
        if all(weighted) and abs(sum(item.weight or 0.0 for item in items) - 1.0) > 1e-9:
            raise self.fail(first, "the shares of this list must add up to 100%")
        if len({item.name for item in items}) != len(items):
            raise self.fail(first, "a name appears twice in this list")
        return tuple(items)

    def scores(self, what: str, known: tuple[str, ...] | None) -> tuple[tuple[str, float], ...]:
        items: list[tuple[str, float]] = []
        while True:
            token = self.peek()
            name = self.name(what)
            if known is not None and name not in known:
                raise self.fail(
                    token, f"unknown drift distribution `{name}` (known: {', '.join(known)})"
                )
            value_token = self.peek()
            value = self.number(f"the score of {name}")
            if not 0 <= value <= 1:
                raise self.fail(value_token, f"the score of {name} must lie within 0..1")
            if any(existing == name for existing, _ in items):
                raise self.fail(token, f"`{name}` is given twice")
            items.append((name, value))
            if not (self.peek().kind == "punct" and self.peek().text == ","):
                break
            self.take()
        return tuple(items)

    # --- expectations ---------------------------------------------------------------------

    def expectation(self) -> Expectation:
        first = self.take()
        text = self.statement_text(first)
        claim = self.claim(first)
        self.end_of_statement("the expectation")
        return Expectation(self.where(first), text, claim)

    def claim(self, first: Token) -> Claim:
        if self.accept_word("no"):
            word = self.peek()
            if self.accept_word("violations"):
                agent = self.agent_suffix()
                return NoViolations(agent, self.line_range())
            if self.accept_word("errors"):
                return NoErrors()
            if self.accept_word("scope"):
                self.expect_word("violations", "after `no scope`")
                return Never(Subject("scope", "", self.agent_suffix()), SCOPE_STATE)
            raise self.fail(
                word,
                f"expected `violations`, `errors` or `scope violations` after `no`, found {describe(word)}",
            )
        if self.accept_word("error"):
            self.expect_word("at", "after `error`")
            self.expect_word("line", "after `error at`")
            line = self.line_number()
            containing = None
            if self.accept_word("containing"):
                containing, _ = self.string("the text the error must contain")
            return ErrorAt(line, containing)
        subject = self.subject()
        return self.predicate(subject)

    def subject(self) -> Subject:
        token = self.peek()
        if self.accept_word("scope"):
            return Subject("scope", "", self.agent_suffix())
        if self.accept_word("drift"):
            name_token = self.peek()
            name = self.name("a drift distribution")
            if name not in DRIFT_NAMES:
                raise self.fail(
                    name_token,
                    f"unknown drift distribution `{name}` (known: {', '.join(DRIFT_NAMES)})",
                )
            return Subject("drift", name, self.agent_suffix())
        if token.kind not in ("name", "string"):
            raise self.fail(
                token,
                f"expected an invariant, `scope`, `drift`, `no` or `error` after `expect`, found {describe(token)}",
            )
        name = self.name("an invariant")
        return Subject("invariant", name, self.agent_suffix())

    def agent_suffix(self) -> str | None:
        if self.accept_word("of"):
            return self.name("an agent id")
        return None

    def predicate(self, subject: Subject) -> Claim:
        token = self.peek()
        if self.accept_word("never"):
            state = self.state(subject)
            return Never(subject, state, self.line_range())
        if self.accept_word("reaches"):
            state = self.state(subject)
            return Reaches(subject, state, self.line_range())
        if self.accept_word("first"):
            state = self.state(subject)
            self.expect_word("at", f"after `first {state}` (`first {state} at line N`)")
            self.expect_word("line", f"after `first {state} at`")
            line = self.line_number()
            return FirstAt(subject, state, line, self.line_range())
        if self.at_word("value", "score"):
            word = self.take()
            wanted = "score" if subject.kind == "drift" else "value"
            if subject.kind == "scope" or word.text != wanted:
                raise self.fail(
                    word,
                    f"{subject.label()} has no {word.text}"
                    + (f"; write `{wanted}`" if subject.kind != "scope" else ""),
                )
            comparison = self.comparison()
            return ValueAt(subject, comparison, self.point())
        if token.kind in ("name", "string"):
            state = self.state(subject)
            if self.accept_word("on"):
                count = self.whole("the number of observations")
                self.expect_word("observations", f"after `on {count}`")
                return Times(subject, state, count)
            return StateAt(subject, state, self.point())
        raise self.fail(
            token,
            f"expected what to expect of {subject.label()} (a state, `never`, `reaches`, `first`, `value`), found {describe(token)}",
        )

    def state(self, subject: Subject) -> str:
        token = self.peek()
        if subject.kind == "scope":
            self.expect_word(SCOPE_STATE, "(scope is `violated` or not)")
            return SCOPE_STATE
        if subject.kind == "drift":
            self.expect_word(DRIFT_STATE, "(a drift score is `exceeded` or not)")
            return DRIFT_STATE
        if self.accept_word("not"):
            self.expect_word("measured", "after `not`")
            return "not_measured"
        if token.kind == "name" and token.text in INVARIANT_STATES:
            self.take()
            return token.text
        raise self.fail(
            token,
            f"expected a state (satisfied, approaching, violated, not measured), found {describe(token)}",
        )

    def comparison(self) -> Comparison:
        token = self.peek()
        if self.accept_word("between"):
            low = self.number("the lower bound")
            self.expect_word("and", "between the bounds")
            high_token = self.peek()
            high = self.number("the upper bound")
            if high < low:
                raise self.fail(high_token, "the upper bound is below the lower bound")
            return Comparison("between", low, high)
        if token.kind == "op" and token.text in COMPARISONS:
            self.take()
            return Comparison(token.text, self.number("the bound"))
        raise self.fail(
            token,
            f"expected a comparison (<, <=, >, >=, ==, or between A and B), found {describe(token)}",
        )

    def point(self) -> Point:
        if not self.accept_word("at"):
            return AtEnd()
        token = self.peek()
        if self.accept_word("end"):
            return AtEnd()
        if self.accept_word("line"):
            return AtLine(self.line_number())
        if token.kind == "string":
            self.take()
            return AtTime(str(token.value))
        raise self.fail(
            token,
            f'expected `line N`, `end` or a time ("13:30") after `at`, found {describe(token)}',
        )

    def line_range(self) -> LineRange | None:
        """``from line A [to line B]`` or ``to line B`` (inclusive), or None."""
        first_token = self.peek()
        first, last = 1, None
        if not self.at_word("from", "to"):
            return None
        if self.accept_word("from"):
            self.expect_word("line", "after `from`")
            first = self.line_number()
        if self.accept_word("to"):
            self.expect_word("line", "after `to`")
            last_token = self.peek()
            last = self.line_number()
            if last < first:
                raise self.fail(last_token, f"line {last} comes before line {first}")
        if first == 1 and last is None:
            raise self.fail(first_token, "`from line 1` is every line: leave it out")
        return LineRange(first, last)

    def line_number(self) -> int:
        token = self.peek()
        value = self.whole("a line number")
        if value < 1:
            raise self.fail(token, "lines are numbered from 1")
        return value


def describe(token: Token) -> str:
    """How a message names a token."""
    if token.kind == "end":
        return "the end of the file"
    if token.kind == "newline":
        return "the end of the line"
    return f"`{token.text}`"


def _laid_out(text: str, start: int, end: int) -> str:
    """``text[start:end]`` at its place: every other character blank, newlines kept."""
    before = re.sub(r"[^\n]", " ", text[:start])
    after = re.sub(r"[^\n]", " ", text[end:])
    return before + text[start:end] + after


def parse_test_file(text: str, filename: str) -> TestFile:
    """Parse the text of a ``.nomotest`` file; TestFileError names the first problem."""
    if len(text.encode("utf-8")) > MAX_TEST_FILE_BYTES:
        raise TestFileError(
            Where(filename, 1, 1), f"a test file may hold at most {MAX_TEST_FILE_BYTES} bytes"
        )
    return Parser(text, filename).parse()
