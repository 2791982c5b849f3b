"""The keywords of .nomo: every word the grammar spells out, read from the grammar itself.

Input: ``grammar/nomo.lark``. Output: ``KEYWORDS``, sorted. The one keyword
list: did-you-mean hints (``parse_errors``), the formatter's quoting of names
that would read as keywords (``fmt``) and the editor tooling all use it, so a
keyword added to the grammar is known everywhere at once.
"""

from __future__ import annotations

import re
from functools import cache

from nomotic_dsl.compiler.syntax.parser import grammar_text

_QUOTED_WORD = re.compile(r'"([A-Za-z][A-Za-z0-9_\-]*)"')


@cache
def keywords() -> tuple[str, ...]:
    """Every word the grammar reserves somewhere, sorted."""
    return tuple(sorted(set(_QUOTED_WORD.findall(grammar_text()))))


KEYWORDS: tuple[str, ...] = keywords()
