"""Agent ids: the one rule for what names an agent, used by the store, the CLI and the HTTP API.

Input: a string given as an agent id (a command-line argument, a URL path
segment, a request body field, a contract's ``agent_id``). Output: the id in
its one stored form (Unicode NFC), or ``AgentIdError`` naming the first
character or shape that makes it unusable. Stage: shared by every side; the
contract store refuses to store an id that is not already in this form.

An agent id is 1 to ``MAX_AGENT_ID_LENGTH`` characters after NFC
normalisation and holds none of:

- ``/`` (ids travel as one URL path segment, and a slash would make an id no
  GET can reach), and it is not ``.`` or ``..`` (clients and proxies resolve
  such dot segments away, so those ids could be stored but never read back);
- control characters (``Cc``), format characters (``Cf``: zero-width
  spaces and joiners, bidirectional overrides and isolates, the BOM, soft
  hyphen), surrogates, private-use and unassigned code points, line and
  paragraph separators, and spaces other than U+0020;
- other characters that render as nothing (variation selectors, the
  combining grapheme joiner, Hangul fillers, Mongolian free variation
  selectors, Khmer inherent vowels);
- a space at the start or the end.

So two ids that look the same are the same id: NFC makes ``é`` typed as one
code point or as ``e`` plus a combining accent one id, and the invisible and
bidirectional characters that would make look-alike twins are refused.
"""

from __future__ import annotations

import unicodedata

from nomotic_dsl.ir.canonical import LONE_SURROGATE

MAX_AGENT_ID_LENGTH = 200

# Categories that never belong in a name a person reads: control, format
# (zero-width and bidi characters), surrogate, private use, unassigned, line
# and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Code points outside those categories that still render as nothing.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
_DOT_SEGMENTS = frozenset({".", ".."})


class AgentIdError(ValueError):
    """An agent id that cannot be stored or looked up; ``str()`` says why."""


def normalize_agent_id(value: object) -> str:
    """``value`` as a stored agent id (NFC); AgentIdError when it is not a usable id."""
    if not isinstance(value, str):
        raise AgentIdError(f"an agent id must be a string, not {type(value).__name__}")
    if not value:
        raise AgentIdError("an agent id must not be empty")
    if len(value) > 4 * MAX_AGENT_ID_LENGTH:
        # Refused before normalising, so a huge input costs nothing.
        raise AgentIdError(f"an agent id must be at most {MAX_AGENT_ID_LENGTH} characters")
    _refuse_surrogates(value)
    normal = unicodedata.normalize("NFC", value)
    if len(normal) > MAX_AGENT_ID_LENGTH:
        raise AgentIdError(
            f"an agent id must be at most {MAX_AGENT_ID_LENGTH} characters, not {len(normal)}"
        )
    if normal in _DOT_SEGMENTS:
        raise AgentIdError(f"{normal!r} is not an agent id (a dot segment cannot be read back)")
    if "/" in normal:
        raise AgentIdError("an agent id must not contain '/'")
    if normal[0] == " " or normal[-1] == " ":
        raise AgentIdError("an agent id must not start or end with a space")
    for index, char in enumerate(normal):
        problem = _char_problem(char)
        if problem:
            raise AgentIdError(
                f"an agent id must not contain {problem} (U+{ord(char):04X} at position {index})"
            )
    return normal


def check_agent_id(value: object) -> str:
    """``value`` unchanged when it is already a stored agent id; AgentIdError otherwise.

    For ids that are part of signed or stored data (a contract's ``agent_id``),
    where normalising would change the data: the caller must normalise first.
    """
    normal = normalize_agent_id(value)
    if normal != value:
        raise AgentIdError(
            f"agent id {value!r} is not in Unicode NFC form (its stored form is {normal!r})"
        )
    return normal


def _refuse_surrogates(value: str) -> None:
    found = LONE_SURROGATE.search(value)
    if found is not None:
        raise AgentIdError(
            f"an agent id must not contain a lone surrogate (U+{ord(found.group()):04X} "
            f"at position {found.start()})"
        )


def _char_problem(char: str) -> str:
    code = ord(char)
    if char == " ":
        return ""
    category = unicodedata.category(char)
    if category == "Cc":
        return "a control character"
    if category == "Cf":
        if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069 or code in (0x200E, 0x200F):
            return "a bidirectional control character"
        return "an invisible format character"
    if category in _REFUSED_CATEGORIES:
        return "an unassigned, private-use or separator code point"
    if category == "Zs":
        return "a space other than U+0020"
    if code in _INVISIBLE:
        return "an invisible character"
    return ""
