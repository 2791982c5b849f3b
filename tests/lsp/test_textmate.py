"""The TextMate grammar is current, and colours what the compiler's lexer sees.

The grammar is tokenized the way VS Code does it: vscode-textmate with
vscode-oniguruma, run by node, installed with `npm ci` from
`editors/tokenize/package-lock.json` into a cache folder keyed by the lock
file's digest (so a second run installs nothing). Every comment, string,
number, percent, duration and keyword the compiler's tokenizer finds in the
examples and the standard library must get its scope.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nomotic_dsl.compiler.semantics.values import DURATION_UNITS
from nomotic_dsl.compiler.syntax.keywords import KEYWORDS
from nomotic_dsl.ir.spec import INVARIANT_TYPES
from nomotic_dsl.lsp.lexer import COMMENT, STRING, is_keyword, tokenize
from nomotic_dsl.resources import stdlib_dir

ROOT = Path(__file__).resolve().parents[2]
EDITORS = ROOT / "editors"
HARNESS = EDITORS / "tokenize"
GRAMMAR = EDITORS / "textmate" / "nomo.tmLanguage.json"
FILES = sorted(ROOT.glob("examples/*/policy.nomo")) + sorted(stdlib_dir().rglob("*.nomo"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "nomo_tm_generate", EDITORS / "textmate" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_grammars_are_current() -> None:
    generator = _generator()
    text = generator.rendered()
    for path in generator.OUTPUTS:
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} is stale: run `python editors/textmate/generate.py`"
        )
    done = subprocess.run(
        [sys.executable, str(EDITORS / "textmate" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_grammar_names_every_keyword_type_and_unit() -> None:
    repository = json.loads(GRAMMAR.read_text(encoding="utf-8"))["repository"]
    keywords = repository["keyword"]["patterns"][0]["match"]
    for word in KEYWORDS:
        if word not in INVARIANT_TYPES:
            assert f"|{word}|" in keywords.replace("(?:", "|").replace(")", "|")
    types = repository["type"]["match"]
    assert all(kind in types for kind in INVARIANT_TYPES)
    durations = repository["number"]["patterns"][0]["match"]
    assert all(unit in durations for unit in DURATION_UNITS)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run vscode-textmate (CI machines have them)")
    lock = (HARNESS / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nomotic-dsl"
    target = cache / f"textmate-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (target / "node_modules" / "vscode-textmate").is_dir():
        staging = cache / f"{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HARNESS / name, staging / name)
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        try:
            staging.rename(target)
        except OSError:  # another run installed the same lock meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return target / "node_modules"


def _scopes(node_modules: Path, files: list[Path]) -> dict[str, list[list[dict]]]:
    done = subprocess.run(
        ["node", str(HARNESS / "tokenize.js"), str(GRAMMAR), *map(str, files)],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _scope_at(lines: list[list[dict]], line: int, column: int) -> list[str]:
    at = 0
    for token in lines[line]:
        if at <= column < at + len(token["text"]):
            return token["scopes"]
        at += len(token["text"])
    return []


def _expected(kind: str, text: str) -> str | None:
    if kind == COMMENT:
        return "comment.line.number-sign.nomo"
    if kind == STRING:
        return "string.quoted.double.nomo"
    if kind == "PERCENT":
        return "constant.numeric.percent.nomo"
    if kind == "UNIT_NUMBER":
        return (
            "constant.numeric.multiplier.nomo"
            if text.endswith("x")
            else "constant.numeric.duration.nomo"
        )
    if kind == "NUMBER":
        return "constant.numeric.nomo"
    if is_keyword(kind):
        return "keyword.control.nomo" if text not in INVARIANT_TYPES else None
    return None


def test_examples_get_the_scopes_of_their_tokens(node_modules: Path) -> None:
    scopes = _scopes(node_modules, FILES)
    checked: dict[str, int] = {}
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        lines = scopes[str(path)]
        for token in tokenize(text):
            expected = _expected(token.type, token.text)
            if expected is None:
                continue
            line = text.count("\n", 0, token.start)
            column = token.start - (text.rfind("\n", 0, token.start) + 1)
            found = _scope_at(lines, line, column)
            assert expected in found, f"{path.name}:{line + 1}:{column + 1} {token.text!r}: {found}"
            checked[expected] = checked.get(expected, 0) + 1
    # Every category really occurs in the shipped files.
    assert checked.keys() >= {
        "comment.line.number-sign.nomo",
        "string.quoted.double.nomo",
        "constant.numeric.percent.nomo",
        "constant.numeric.duration.nomo",
        "constant.numeric.multiplier.nomo",
        "constant.numeric.nomo",
        "keyword.control.nomo",
    }


def test_units_escapes_and_invariant_types(node_modules: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample.nomo"
    sample.write_text(
        "rate < 2x baseline over 15minutes\ncount distinct_targets <= 5 over 3d\n"
        'invariant x "a \\"b\\" c": drift action < 0.2 over 7y\n',
        encoding="utf-8",
    )
    lines = _scopes(node_modules, [sample])[str(sample)]

    def scope_of(line: int, text: str) -> list[str]:
        return next(token["scopes"] for token in lines[line] if token["text"] == text)

    assert "keyword.other.unit.nomo" in scope_of(0, "minutes")
    assert "constant.numeric.duration.nomo" in scope_of(0, "15")
    assert "support.type.invariant.nomo" in scope_of(0, "rate")
    assert "support.constant.metric.nomo" in scope_of(1, "distinct_targets")
    assert "constant.character.escape.nomo" in scope_of(2, '\\"')
    assert "entity.name.function.invariant.nomo" in scope_of(2, "x")
    assert "invalid.illegal.unit.nomo" in scope_of(2, "7y")
