"""The compiler's input limits: every input is bounded in size, and so in time and memory.

Input: none (a table). Output: the constants each stage checks, each with the
diagnostic it gives when exceeded. Stage: shared; ``docs/language.md`` lists
them ("Limits"). A limit is a diagnostic, never an exception: text past a
limit is reported where it is, and the compile is refused.

Nesting needs no limit of its own: the grammar has no recursive construct, so
no `.nomo` file nests blocks deeper than ``contract { scope { } }``; the
parse tree's depth is fixed whatever the input.
"""

from __future__ import annotations

# One source file (NMO110). 4 Mi characters is four times the largest policy
# measured in bench/ and four times the HTTP API's default body limit.
MAX_SOURCE_CHARS = 4 * 1024 * 1024
MAX_SOURCE_LINES = 200_000

# Rules in one program, every file and contract counted (NMO111).
MAX_RULES = 100_000

# A number literal's characters, digits and point (NMO311). 40 digits is far
# more precision than a float holds, and far below the 308 digits at which a
# float overflows to infinity.
MAX_NUMBER_CHARS = 40

# Identifiers and quoted names (agent ids, actions, targets, terms, zones,
# archetypes): 255 characters, the longest file name most systems allow, since
# standard-library archetype and import names become file names (NMO112).
MAX_NAME_CHARS = 255
# Descriptions, certificates and other free text in a string (NMO112).
MAX_TEXT_CHARS = 4096
# An import path, all of it (each part is also a name: at most 255).
MAX_IMPORT_CHARS = 1024

# Diagnostics kept per file; the rest are counted in one NMO199 (errors) or
# NMO198 (only warnings) at the end of the file's list.
MAX_DIAGNOSTICS_PER_FILE = 200
# Syntax errors after which the parser stops reading a file (NMO109).
MAX_SYNTAX_ERRORS = 100

# The largest values a field holds; beyond them a value is "too large for its
# field" (NMO312), never infinity or an overflow.
MAX_WINDOW_ACTIONS = 1_000_000_000
MAX_WINDOW_SECONDS = 100 * 366 * 86400.0  # a century
MAX_COUNT = 1_000_000_000
MAX_VERSION = 2**31 - 1
# Any other number (ratios, rates, multipliers) must stay below this.
MAX_MAGNITUDE = 1e15

# Rendering: a source line longer than this is shown cut around the caret.
MAX_SHOWN_LINE_CHARS = 200
# did-you-mean compares a word with at most this many known names, and a set
# larger than that is searched for at most MAX_SUGGESTIONS words.
MAX_SUGGESTION_CANDIDATES = 500
MAX_SUGGESTIONS = 50
