"""The parse driver: tokens fed one at a time to Lark's interactive LALR parser, with recovery.

Input: source text. Output: ``Parsed``, a parse tree of every statement that
parsed (None only when nothing could be read at all) and the syntax problems
found, each where the mistake is. Stage: text -> parse tree.

Three things happen here that one ``Lark.parse`` call cannot do:

- **The line rule.** The grammar ignores newlines; the driver does not. When a
  line ends while the statement on it is unfinished (the parser could not stop
  there), that is the mistake, reported on that line (NMO107), unless the line
  ends with `,` or `:` or the next line starts with `{`. So `drift action <`
  followed by a new rule is reported after `<`, not as an odd constant on the
  next line.
- **Window units.** A word on the same line right after `over AMOUNT` is the
  window's unit (the token is retyped to ``WINDOW_UNIT``), so `over 10 minutes`
  and `over 10 acitons` reach the checker, which accepts the first and names the
  second; a word on the next line starts a new statement. The same holds for a
  warm-up's `after AMOUNT` (`after 20 minutes` is then refused by name).
- **Recovery.** After a syntax error the parser goes back to the last
  statement boundary (a snapshot of its stacks taken at each line start where
  a statement can end, and before each keyword that only starts statements),
  skips to the next line (or to the `}` that closes the block, braces counted),
  and carries on, so one run reports the errors of every line. A `{` still
  open at the end of the file, or where a new top-level declaration starts, is
  reported at the line where it was opened (NMO106) and closed there.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_interactive_parser import InteractiveParser

from nomotic_dsl.compiler.limits import MAX_SYNTAX_ERRORS
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.compiler.units import UNIT_WORDS
from nomotic_dsl.ir.spec import INVARIANT_TYPES

BOM = "\ufeff"
# Keywords that only ever start a statement or a block item: the state before
# one is a statement boundary.
STATEMENT_KEYWORDS = frozenset(
    {
        "IMPORT",
        "CONST",
        "INVARIANT",
        "PACK",
        "CONTRACT",
        "ARCHETYPE",
        "NO",
        "FIDELITY",
        "DRIFT",
        "VERSION",
        "CERTIFICATE",
        "SCOPE",
        "TRUST",
        "ANCHOR",
        "EXPECTED",
        "USE",
        "ACTIVE",
        "DESCRIPTION",
    }
)
# Declarations that exist only at the top level: met inside an open block,
# they mean the block was never closed.
TOP_LEVEL_WORDS = frozenset({"contract", "pack", "import", "const"})
_CONTINUES_LINE = frozenset({"COMMA", "COLON"})
# A window amount that can take a unit word: a plain number or a constant (a
# glued duration such as `1h` already has its unit).
_AMOUNTS = frozenset({"NUMBER", "IDENT"})
# Keywords whose amount takes a unit word: `over 10 minutes`, `after 20 actions`.
_TAKES_UNIT = frozenset({"OVER", "AFTER"})
# Amounts that already carry a unit: only a known unit word after them is one.
_UNIT_AMOUNTS = frozenset({"UNIT_NUMBER", "PERCENT"})


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """One syntax mistake: what kind, where, and what the parser could have taken there.

    ``kind`` is ``token`` (an unexpected token), ``character`` (text no token
    matches), ``line_end`` (a line ends inside an unfinished statement),
    ``file_end`` (the file does), ``unclosed`` (a `{` never closed) or
    ``too_many`` (the parser stopped). ``first`` is the first token of the
    statement the mistake is in, for did-you-mean on a misspelt keyword.
    """

    kind: str
    span: Span
    found: str = ""
    found_type: str = ""
    expected: frozenset[str] = frozenset()
    first: Token | None = None
    previous: Token | None = None


@dataclass(slots=True)
class Parsed:
    """The parse tree of what parsed, and every syntax problem in source order."""

    tree: Tree | None
    problems: list[SyntaxProblem] = field(default_factory=list)


@dataclass(slots=True)
class _Boundary:
    """Where the last statement boundary was: the parser's stacks and the open braces."""

    states: list[int]
    values: list[object]
    braces: int


class ParseDriver:
    """Feeds one text's tokens to the interactive parser, applying the line rule and recovery."""

    def __init__(self, parser: Lark, text: str) -> None:
        self.text = text
        lex_text = " " + text[1:] if text.startswith(BOM) else text
        self.interactive: InteractiveParser = parser.parse_interactive(lex_text)
        self.state = self.interactive.parser_state
        self.lexer = self.interactive.lexer_thread
        self.quiet_conf = copy(self.state.parse_conf)
        self.quiet_conf.callbacks = {}
        self.braces: list[Token] = []
        self.problems: list[SyntaxProblem] = []
        self.boundary = self._snapshot()
        self.first: Token | None = None
        self.previous: Token | None = None
        self.recent: list[str] = []
        self.closed_at = -1
        self.continued_line = -1
        self.feedable: dict[tuple[tuple[int, ...], str], bool] = {}
        self.stopped = False

    # ---- the loop --------------------------------------------------------------

    def run(self) -> Parsed:
        """Parse the whole text."""
        tokens = self.lexer.lex(self.state)
        while not self.stopped:
            try:
                token = next(tokens)
            except StopIteration:
                break
            except UnexpectedCharacters as error:
                self._bad_characters(error)
            except UnexpectedToken as error:  # the contextual lexer's "right text, wrong place"
                if not self._cut_at_line_end(error.token):
                    self._recover(error.token, self._expected_now())
            else:
                if self._take(token):
                    continue
            tokens = self.lexer.lex(self.state)  # the lexer's position moved: lex from there
        return Parsed(self._finish(), self.problems)

    def _take(self, token: Token) -> bool:
        """Feed one token; False when recovery moved the lexer (it must restart)."""
        if self._cut_at_line_end(token):
            return False
        previous = self.previous
        if (
            previous is not None
            and (token.line or 0) > (previous.end_line or 0)
            and self._complete()
        ):
            self._mark_boundary()
        token = self._retype(token)
        candidate = self._snapshot() if token.type in STATEMENT_KEYWORDS else None
        try:
            self.state.feed_token(token)
        except UnexpectedToken as error:
            self._recover(token, self._expected_of(error))
            return False
        self.continued_line = -1
        if candidate is not None:
            self.boundary = candidate
            self.first = token
        elif self.first is None:
            self.first = token
        self._track(token)
        if token.type == "LBRACE":
            self._mark_boundary()  # a block's start: where its first item begins
        return True

    def _cut_at_line_end(self, token: Token) -> bool:
        """The line rule: ``token`` starts a line while the statement before it is unfinished.

        Reports the line's end (NMO107), goes back to the statement's start and
        moves the lexer to ``token`` again (it was lexed in the unfinished
        statement's context); True when it did.
        """
        previous = self.previous
        if previous is None or (token.line or 0) <= (previous.end_line or 0):
            return False
        if self.continued_line == (token.line or 0) or self._line_may_break(previous, token):
            return False
        if self._complete():
            return False
        self._report("line_end", _span(previous), previous, self._expected_now())
        self._restore()
        self.continued_line = token.line or 0
        self._seek(token.start_pos or 0)
        return True

    def _track(self, token: Token) -> None:
        if token.type == "LBRACE":
            self.braces.append(token)
        elif token.type == "RBRACE" and self.braces:
            self.braces.pop()
        self.previous = token
        self.recent = [*self.recent[-3:], token.type]

    # ---- the line rule and window units ----------------------------------------

    @staticmethod
    def _line_may_break(previous: Token, token: Token) -> bool:
        return previous.type in _CONTINUES_LINE or token.type == "LBRACE"

    def _complete(self) -> bool:
        """True when the statement being read could end here."""
        return self._can_feed("RBRACE" if self.braces else "$END")

    def _can_feed(self, terminal: str) -> bool:
        # Whether a terminal can come next depends only on the stack of states, and
        # the stacks at line ends repeat (one per kind of statement), so ask once each.
        key = (tuple(self.state.state_stack), terminal)
        known = self.feedable.get(key)
        if known is not None:
            return known
        probe = self.state.copy(deepcopy_values=False)
        probe.parse_conf = self.quiet_conf
        try:
            probe.feed_token(Token(terminal, ""), terminal == "$END")
            answer = True
        except UnexpectedToken:
            answer = False
        if len(self.feedable) < 10_000:
            self.feedable[key] = answer
        return answer

    def _retype(self, token: Token) -> Token:
        """A word on the line of `over AMOUNT` (or `after AMOUNT`), right after the amount,
        is the window's (or the warm-up's) unit."""
        if token.type != "IDENT" or self.previous is None:
            return token
        if (token.line or 0) != (self.previous.end_line or 0):
            return token
        if str(token) in INVARIANT_TYPES:  # a rule type starts the next rule, never a unit
            return token
        recent = self.recent
        after_over = len(recent) >= 2 and recent[-2] in _TAKES_UNIT
        after_amount = after_over and recent[-1] in _AMOUNTS
        after_negative = (
            len(recent) >= 3
            and recent[-3] in _TAKES_UNIT
            and recent[-2:]
            == [
                "MINUS",
                "NUMBER",
            ]
        )
        # `over 15m minutes`, `over 50% actions`: a unit said twice, or of the wrong kind.
        after_other = after_over and recent[-1] in _UNIT_AMOUNTS and str(token) in UNIT_WORDS
        if after_amount or after_negative or after_other:
            return Token.new_borrow_pos("WINDOW_UNIT", str(token), token)
        return token

    # ---- boundaries ------------------------------------------------------------

    def _snapshot(self) -> _Boundary:
        return _Boundary(
            list(self.state.state_stack), list(self.state.value_stack), len(self.braces)
        )

    def _mark_boundary(self) -> None:
        self.boundary = self._snapshot()
        self.first = None

    def _restore(self) -> None:
        self.state.state_stack[:] = self.boundary.states
        self.state.value_stack[:] = self.boundary.values
        del self.braces[self.boundary.braces :]
        self.first = None

    # ---- recovery ----------------------------------------------------------------

    def _recover(self, token: Token, expected: frozenset[str]) -> None:
        """Report ``token``, go back to the last boundary, and skip what cannot be read."""
        if (
            self.braces
            and _starts_declaration(token, self.first)
            and self._close_blocks_before(token)
        ):
            return
        # The rest of a statement the line rule already cut: reported once, on its first line.
        cut_short = token.line == self.continued_line and self.first is None
        if not cut_short:
            self._report("token", _span(token), token, expected)
        self._restore()
        self.previous = None
        if self.stopped:
            return
        if token.type == "RBRACE" and self.braces:
            try:
                self.state.feed_token(token)
            except UnexpectedToken:
                return
            self._track(token)
            self._mark_boundary()
            return
        start = token.start_pos or 0
        self._seek(max(resume_offset(self.text, start), token.end_pos or start))

    def _close_blocks_before(self, token: Token) -> bool:
        """A top-level declaration inside a block: the block was never closed; close it here.

        False when the blocks cannot be closed at the last boundary (the caller
        then recovers as from any other unexpected token).
        """
        first = self.first
        starter = first if first is not None and str(first) in TOP_LEVEL_WORDS else token
        start = starter.start_pos or 0
        if start <= self.closed_at:
            return False  # already closed blocks for this declaration once: do not loop
        open_braces = list(self.braces)
        self._restore()
        self._close_all()
        if self.braces:
            return False
        self.closed_at = start
        for brace in reversed(open_braces):
            self._report("unclosed", _span(brace), brace, frozenset(), before=starter)
        self._seek(start)
        self.previous = None
        self._mark_boundary()
        return True

    def _close_all(self) -> None:
        while self.braces:
            brace = self.braces[-1]
            try:
                self.state.feed_token(Token.new_borrow_pos("RBRACE", "}", brace))
            except UnexpectedToken:
                return
            self.braces.pop()

    def _bad_characters(self, error: UnexpectedCharacters) -> None:
        offset = error.pos_in_stream or 0
        char = self.text[offset : offset + 1]
        self._report_problem(
            SyntaxProblem(
                "character",
                Span(offset, offset + 1),
                found=char,
                expected=frozenset(error.allowed or ()),
                first=self.first,
                previous=self.previous,
            )
        )
        self._restore()
        self._seek(resume_offset(self.text, offset, skip_first=True))
        self.previous = None

    def _seek(self, offset: int) -> None:
        """Move the lexer to ``offset`` (forwards or back), keeping its line count right."""
        assert self.lexer.state is not None
        counter = self.lexer.state.line_ctr
        offset = max(0, min(offset, len(self.text)))
        if offset >= counter.char_pos:  # count only the newlines skipped over
            counter.line += self.text.count("\n", counter.char_pos, offset)
        else:
            counter.line -= self.text.count("\n", offset, counter.char_pos)
        line_start = self.text.rfind("\n", 0, offset) + 1
        counter.char_pos = offset
        counter.line_start_pos = line_start
        counter.column = offset - line_start + 1

    # ---- the end -----------------------------------------------------------------

    def _finish(self) -> Tree | None:
        last = self.previous
        if not self.stopped and not self._complete() and last is not None:
            self._report("file_end", _span(last), last, self._expected_now())
        if not self._complete():
            self._restore()
        if self.braces and not self.stopped:
            for brace in reversed(self.braces):
                self._report("unclosed", _span(brace), brace, frozenset(), before=brace)
        self._close_all()
        end = Token("$END", "", len(self.text), 1, 1)
        try:
            tree: Tree = self.state.feed_token(end, True)
        except UnexpectedToken:
            return None
        return tree

    # ---- reporting -------------------------------------------------------------------

    def _expected_now(self) -> frozenset[str]:
        return frozenset(self._accepts(self.state))

    def _expected_of(self, error: UnexpectedInput) -> frozenset[str]:
        state = getattr(error, "state", None)
        return frozenset(self._accepts(state)) if state is not None else frozenset()

    def _accepts(self, state: object) -> set[str]:
        probe = InteractiveParser(
            self.interactive.parser,
            state.copy(deepcopy_values=False),  # type: ignore[attr-defined]
            self.lexer,
        )
        return set(probe.accepts())

    def _report(
        self,
        kind: str,
        span: Span,
        token: Token,
        expected: frozenset[str],
        before: Token | None = None,
    ) -> None:
        self._report_problem(
            SyntaxProblem(
                kind,
                span,
                found=str(token),
                found_type=token.type,
                expected=expected,
                first=self.first,
                previous=before if before is not None else self.previous,
            )
        )

    def _report_problem(self, problem: SyntaxProblem) -> None:
        if len(self.problems) >= MAX_SYNTAX_ERRORS:
            self.problems.append(SyntaxProblem("too_many", problem.span))
            self.stopped = True
            return
        self.problems.append(problem)


def _span(token: Token) -> Span:
    start = token.start_pos or 0
    end = token.end_pos if token.end_pos is not None else start + len(str(token))
    return Span(start, max(start, end))


def _starts_declaration(token: Token, first: Token | None) -> bool:
    """True when ``token`` (or the statement it ends) is a top-level-only declaration."""
    if token.type in ("CONTRACT", "PACK", "IMPORT", "CONST"):
        return True
    return first is not None and first.type == "IDENT" and str(first) in TOP_LEVEL_WORDS


def resume_offset(text: str, start: int, skip_first: bool = False) -> int:
    """Where reading resumes after a mistake at ``start``: the next line, or the block's `}`.

    Braces opened after ``start`` are skipped with their contents; a `}` that
    closes a block opened before ``start`` stops the skip there, so the block
    still closes. Strings and comments are stepped over.
    """
    depth = 0
    index = start + 1 if skip_first else start
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\n" and depth == 0:
            return index + 1
        if char == '"':
            end = _string_end(text, index)
            index = end
            continue
        if char == "#":
            newline = text.find("\n", index)
            index = length if newline < 0 else newline
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    return length


def _string_end(text: str, start: int) -> int:
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in '"\n':
            return index + 1 if char == '"' else index
        index += 1
    return len(text)


def parse_text(parser: Lark, text: str) -> Parsed:
    """Parse ``text`` with the line rule and error recovery."""
    return ParseDriver(parser, text).run()
