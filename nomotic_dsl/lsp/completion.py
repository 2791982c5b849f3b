"""Completion: what may come at the cursor, asked of the parser itself.

Input: an ``Analysis`` (the document), an offset, and an analysis whose names
to offer when the document does not parse right now (the last one that did).
Output: ``CompletionItem``s, each with the edit that replaces the word being
typed. The text before the word is fed to the compiler's LALR parser (Lark's
interactive mode); the terminals it accepts next say which keywords fit, and
the tokens just before say which names do: after `count`, the count metrics;
after `use`, the packs and invariants in scope; after a contract's
`archetype`, the archetypes; inside `drift thresholds { }`, the drift keys;
where a value goes, the constants; after `over N`, the units; inside
`import "`, the standard library and the files beside the document. When the
text before the cursor does not parse, the line is parsed again inside the
blocks that enclose it, and failing that every keyword and name is offered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark.exceptions import LarkError
from lsprotocol import types

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.compiler.syntax.keywords import KEYWORDS
from nomotic_dsl.compiler.syntax.parser import nomo_parser
from nomotic_dsl.ir.spec import INVARIANT_TYPES
from nomotic_dsl.lsp import vocabulary
from nomotic_dsl.lsp.analysis import ARCHETYPE, CONSTANT, INVARIANT, PACK, Analysis, analyse
from nomotic_dsl.lsp.describe import constant_value
from nomotic_dsl.lsp.lexer import COMMENT, STRING, Token, keyword_terminals, tokenize
from nomotic_dsl.lsp.syntax_tree import walk

# How much text before the cursor is parsed: beyond it, only the enclosing blocks and the line.
MAX_PREFIX_CHARS = 100_000
# Beyond this size, a document that does not parse is not compiled again without its line.
MAX_RECOMPILE_CHARS = 20_000
_WORD_TYPES = frozenset({"IDENT", "NUMBER", "UNIT_NUMBER", "PERCENT"})
_VALUE_TERMINALS = frozenset({"NUMBER", "PERCENT"})
Kind = types.CompletionItemKind


@dataclass(slots=True)
class _Place:
    """Where the cursor is, as the parser sees it."""

    accepted: frozenset[str]
    tokens: list[Any]  # Lark tokens fed before the cursor (types from the contextual lexer)
    blocks: list[str]  # keyword of each enclosing block's header, outermost first
    parser: Any = None


@dataclass(slots=True)
class _Items:
    """Completion items collected so far, one per label, with the edit range."""

    index: Any
    span: Span
    items: dict[str, types.CompletionItem] = field(default_factory=dict)

    def add(
        self,
        label: str,
        kind: types.CompletionItemKind,
        rank: int,
        *,
        detail: str | None = None,
        documentation: str | None = None,
        insert: str | None = None,
        snippet: bool = False,
        filter_text: str | None = None,
    ) -> None:
        if label in self.items:
            return
        self.items[label] = types.CompletionItem(
            label=label,
            kind=kind,
            detail=detail,
            documentation=None
            if documentation is None
            else types.MarkupContent(kind=types.MarkupKind.Markdown, value=documentation),
            sort_text=f"{rank}_{label}",
            filter_text=filter_text,
            insert_text_format=types.InsertTextFormat.Snippet
            if snippet
            else types.InsertTextFormat.PlainText,
            text_edit=types.TextEdit(
                range=self.index.range(self.span), new_text=label if insert is None else insert
            ),
        )


def complete(
    analysis: Analysis, offset: int, names: Analysis | None = None
) -> list[types.CompletionItem]:
    """The completions at ``offset`` of the document."""
    if analysis.too_large:
        return []
    text = analysis.text
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    scope = _scope(analysis, names, line_start, offset)
    line_tokens = tokenize(text, line_start, offset)
    last = line_tokens[-1] if line_tokens else None
    if last is not None and last.type == COMMENT:
        return []
    if last is not None and last.type == STRING and (not last.closed or last.end > offset):
        return _in_string(analysis, scope, last, offset)
    word_start = offset
    if (
        last is not None
        and last.end == offset
        and (last.type in _WORD_TYPES or last.text.isalpha())
    ):
        word_start = last.start
    partial = text[word_start:offset]
    items = _Items(analysis.index, Span(word_start, offset))
    place = _place(text, word_start)
    if place is None:
        _everything(items, scope)
    else:
        _keywords(items, place)
        _names(items, place, scope, partial)
        _snippets(items, place)
    return list(items.items.values())


def _scope(analysis: Analysis, names: Analysis | None, line_start: int, offset: int) -> Analysis:
    """Whose names to offer: the document's when it parses, else the last text that did.

    With neither, the document without the line being typed (its open blocks
    closed) usually parses, and its declarations are the ones in scope.
    """
    if analysis.module is not None:
        return analysis
    if names is not None and names.module is not None:
        return names
    text = analysis.text
    if len(text) > MAX_RECOMPILE_CHARS:
        return analysis
    line_end = text.find("\n", offset)
    rest = "" if line_end < 0 else text[line_end:]
    without = text[:line_start] + rest
    closing = "\n" + "}" * len(_open_headers(without, len(without)))
    for candidate in (without, without + closing):
        attempt = analyse(candidate, analysis.path, name=analysis.name)
        if attempt.module is not None:
            return attempt
    return analysis


# ---- where the cursor is ------------------------------------------------------------------


def _feed(prefix: str) -> _Place | None:
    parser = nomo_parser().parse_interactive(prefix)
    tokens: list[Any] = []
    try:
        for token in parser.iter_parse():
            tokens.append(token)
        accepted = _accepts(parser)
    except (LarkError, ValueError, IndexError):
        return None
    return _Place(accepted, tokens, _blocks(tokens), parser)


_ACCEPTS: dict[tuple[int, ...], frozenset[str]] = {}


def _accepts(parser: Any) -> frozenset[str]:
    """The terminals the parser accepts next; they depend on its state stack alone."""
    stack = tuple(parser.parser_state.state_stack)
    known = _ACCEPTS.get(stack)
    if known is None:
        known = frozenset(parser.accepts())
        if len(_ACCEPTS) > 4096:
            _ACCEPTS.clear()
        _ACCEPTS[stack] = known
    return known


def _blocks(tokens: list[Any]) -> list[str]:
    """The header keyword of each open block (`CONTRACT`, `TRUST`, `THRESHOLDS`...)."""
    words = keyword_terminals()
    stack: list[str] = []
    for index, token in enumerate(tokens):
        if token.type == "LBRACE":
            header = next(
                (t.type for t in reversed(tokens[max(0, index - 3) : index]) if t.type in words),
                "",
            )
            stack.append(header)
        elif token.type == "RBRACE" and stack:
            stack.pop()
    return stack


def _place(text: str, offset: int) -> _Place | None:
    """The parser's view just before ``offset``; None when even the line cannot be read."""
    if offset <= MAX_PREFIX_CHARS:
        found = _feed(text[:offset])
        if found is not None:
            return found
    # Read the line again inside the headers of the blocks that enclose it.
    line_start = text.rfind("\n", 0, offset) + 1
    headers = _open_headers(text, line_start)
    synthetic = "".join(header + "\n" for header in headers) + text[line_start:offset]
    return _feed(synthetic)


def _open_headers(text: str, end: int) -> list[str]:
    """The header line of every block still open at ``end`` (``contract "x" {``)."""
    starts: list[int] = []
    start = max(0, end - MAX_PREFIX_CHARS)
    for token in tokenize(text, start, end):
        if token.type == "LBRACE":
            starts.append(token.start)
        elif token.type == "RBRACE" and starts:
            starts.pop()
    headers = []
    for brace in starts:
        line_start = text.rfind("\n", 0, brace) + 1
        headers.append(text[line_start : brace + 1])
    return headers


# ---- what fits there ------------------------------------------------------------------------


# Blocks whose settings take a plain number: the grammar lets any value follow a
# setting's name, `5 per minute` included, but a rate is never a setting.
_NUMBER_BLOCKS = frozenset({"TRUST", "THRESHOLDS"})


def _keywords(items: _Items, place: _Place) -> None:
    words = keyword_terminals()
    in_settings = bool(place.blocks) and place.blocks[-1] in _NUMBER_BLOCKS
    for terminal in sorted(place.accepted):
        spelling = words.get(terminal)
        if spelling is None or (terminal == "PER" and in_settings):
            continue
        items.add(spelling, Kind.Keyword, 5)
        for phrase in vocabulary.phrases_after(place.parser, spelling):
            items.add(phrase, Kind.Keyword, 5)


def _previous(place: _Place, back: int = 1) -> Any:
    return place.tokens[-back] if len(place.tokens) >= back else None


def _names(items: _Items, place: _Place, scope: Analysis | None, partial: str) -> None:
    accepted = place.accepted
    previous = _previous(place)
    kind = getattr(previous, "type", "")
    value = str(previous) if previous is not None else ""
    block = place.blocks[-1] if place.blocks else ""
    if "IDENT" in accepted:
        if kind == "USE":
            _declared(items, scope, PACK, Kind.Module, "pack")
            _declared(items, scope, INVARIANT, Kind.Function, "invariant")
        elif kind == "ARCHETYPE" and "CONTRACT" in place.blocks:
            _archetypes(items, scope)
        elif kind in ("IDENT", "DRIFT") and value in INVARIANT_TYPES and "OP" in accepted:
            _metrics(items, value, scope)
        elif kind == "DISTINCT":
            for subject in vocabulary.distinct_subjects():
                items.add(subject, Kind.EnumMember, 0, detail="count metric: distinct_" + subject)
        elif kind == "SINGLE":
            for subject in vocabulary.single_subjects():
                items.add(subject, Kind.EnumMember, 0, detail=f"distribution metric: {subject}_max")
        elif kind == "SLASH":
            _actions(items, scope)
        elif "RBRACE" in accepted and not accepted & _VALUE_TERMINALS and block == "TRUST":
            for key in vocabulary.trust_keys():
                items.add(key, Kind.Property, 0, detail="trust setting")
        elif "RBRACE" in accepted and not accepted & _VALUE_TERMINALS and block == "THRESHOLDS":
            for key in vocabulary.drift_keys():
                items.add(key, Kind.Property, 0, detail="drift key")
        elif accepted >= _VALUE_TERMINALS:
            _declared(items, scope, CONSTANT, Kind.Constant, "constant")
        if vocabulary.rule_starts() <= accepted:
            for name in INVARIANT_TYPES:
                items.add(name, Kind.Keyword, 3, detail="invariant type")
    if "STRING" in accepted:
        if kind == "IMPORT":
            _imports(items, scope, quoted=True)
        elif kind == "OF" or value == "semantic":
            _terms(items, scope, quoted=True)
    if kind == "OVER" and partial[:1].isdigit():
        _units(items, partial)


def _metrics(items: _Items, kind: str, scope: Analysis | None) -> None:
    for metric in vocabulary.metrics_by_type().get(kind, ()):
        items.add(
            metric,
            Kind.Field,
            0,
            detail=f"{kind} metric",
            documentation=vocabulary.metric_summary(kind, metric),
        )
    if kind == "ratio":
        actions = _scope_actions(scope)
        for numerator in actions:
            for denominator in actions:
                if numerator != denominator:
                    items.add(f"{numerator}/{denominator}", Kind.Field, 1, detail="ratio")
    elif kind == "semantic":
        _terms(items, scope, quoted=True)


def _units(items: _Items, partial: str) -> None:
    number = partial.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
    if not number:
        return
    for unit in vocabulary.duration_units():
        items.add(f"{number}{unit}", Kind.Unit, 0, detail="duration")
    items.add(f"{number} actions", Kind.Unit, 0, detail="count window")


def _declared(
    items: _Items, scope: Analysis | None, kind: str, item_kind: types.CompletionItemKind, what: str
) -> None:
    if scope is None:
        return
    for site in scope.declared(kind):
        detail = f"{what} from {site.file}" if site.file != scope.name else what
        documentation = None
        if kind == CONSTANT and isinstance(site.node, ast.ConstDecl):
            documentation = constant_value(site.node, scope)
        items.add(site.name, item_kind, 0, detail=detail, documentation=documentation)


def _archetypes(items: _Items, scope: Analysis | None) -> None:
    _declared(items, scope, ARCHETYPE, Kind.Class, "archetype")
    for name in vocabulary.stdlib_archetypes():
        items.add(name, Kind.Class, 1, detail="standard archetype")


def _scope_actions(scope: Analysis | None) -> list[str]:
    module = None if scope is None else scope.module
    if module is None:
        return []
    found: list[str] = []
    for node in walk(module):
        if isinstance(node, ast.ScopeEntry) and node.kind == "actions":
            found.extend(name.text for name in node.names if name.text not in found)
    return found


def _actions(items: _Items, scope: Analysis | None) -> None:
    for action in _scope_actions(scope):
        items.add(action, Kind.EnumMember, 0, detail="authorized action")


def _terms(items: _Items, scope: Analysis | None, quoted: bool) -> None:
    module = None if scope is None else scope.module
    if module is None:
        return
    for node in walk(module):
        if isinstance(node, ast.AnchorDecl):
            term = node.term.text
            label = f'"{term}"' if quoted else term
            items.add(label, Kind.Value, 0, detail="anchor term")


def _import_paths(scope: Analysis | None) -> list[tuple[str, str]]:
    found = [(path, "standard library") for path in vocabulary.stdlib_imports()]
    base = None if scope is None or scope.path is None else scope.path.parent
    if base is not None and base.is_dir():
        for path in _local_files(base, scope.path if scope else None):
            found.append((f"./{path}", "file beside this one"))
    return found


def _local_files(base: Path, own: Path | None) -> Iterable[str]:
    count = 0
    for path in sorted(base.glob("*.nomo")):
        if own is not None and path.resolve() == own:
            continue
        count += 1
        if count > 200:  # a directory of thousands of policies is not browsed here
            return
        yield path.stem


def _imports(items: _Items, scope: Analysis | None, quoted: bool) -> None:
    for path, where in _import_paths(scope):
        label = f'"{path}"' if quoted else path
        items.add(label, Kind.Module, 0, detail=where, filter_text=label)


def _in_string(
    analysis: Analysis, scope: Analysis | None, string: Token, offset: int
) -> list[types.CompletionItem]:
    place = _place(analysis.text, string.start)
    if place is None:
        return []
    previous = _previous(place)
    kind = getattr(previous, "type", "")
    items = _Items(analysis.index, Span(string.start, string.end if string.closed else offset))
    if kind == "IMPORT":
        _imports(items, scope, quoted=True)
    elif kind == "OF" or str(previous) == "semantic":
        _terms(items, scope, quoted=True)
    return list(items.items.values())


def _snippets(items: _Items, place: _Place) -> None:
    groups = (
        (vocabulary.rule_starts(), vocabulary.rule_snippets()),
        (vocabulary.top_level_starts(), vocabulary.declaration_snippets()),
        (vocabulary.contract_item_starts(), vocabulary.contract_snippets()),
    )
    for starts, snippets in groups:
        if not starts <= place.accepted:
            continue
        for snippet in snippets:
            items.add(
                snippet.label,
                Kind.Snippet,
                7,
                detail=snippet.detail,
                documentation=f"```nomo\n{vocabulary.snippet_example(snippet.body)}\n```",
                insert=snippet.body,
                snippet=True,
                filter_text=snippet.body.split(" ", 1)[0].split("$", 1)[0] or snippet.label,
            )


def _everything(items: _Items, scope: Analysis | None) -> None:
    """When nothing before the cursor can be read: every keyword and every name."""
    for word in KEYWORDS:
        items.add(word, Kind.Keyword, 5)
    for name in INVARIANT_TYPES:
        items.add(name, Kind.Keyword, 3, detail="invariant type")
    _declared(items, scope, CONSTANT, Kind.Constant, "constant")
    _declared(items, scope, PACK, Kind.Module, "pack")
    _declared(items, scope, ARCHETYPE, Kind.Class, "archetype")
