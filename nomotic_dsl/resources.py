"""Where the grammar and the standard library live, installed or in a checkout.

The design card keeps ``grammar/`` and ``stdlib/`` at the top of the repository.
The wheel carries them under ``nomotic_dsl/_data/`` (see ``pyproject.toml``);
a source checkout or an editable install reads them from the repository root.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory holding ``grammar`` or ``stdlib``.

    The packaged copy wins, so an installed wheel never reads files from a
    neighbouring checkout.
    """
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"nomotic_dsl cannot find its {name!r} directory; the installation is incomplete"
    )


def grammar_dir() -> Path:
    """The directory of ``.lark`` grammar files."""
    return data_dir("grammar")


def stdlib_dir() -> Path:
    """The directory of the ``.nomo`` standard library."""
    return data_dir("stdlib")
