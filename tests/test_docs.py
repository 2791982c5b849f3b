"""The docs are executable: every policy block compiles as it claims, every command sample runs.

Fenced blocks in README.md, docs/*.md and examples/README.md carry a label:

- ```` ```nomo ```` a policy. It must compile with no diagnostic at all, or, with
  ``error=NMO207`` (codes comma-separated), fail with exactly those error codes;
  ``warning=NMO401`` allows those warnings. ``file=NAME`` also writes it into the
  doc's sandbox directory, for the commands of later blocks to read.
- ```` ```console ```` commands and what they print: each line starting with
  ``$ `` runs in bash (in the doc's sandbox, or in the repository with
  ``cwd=repo``), stdout and stderr together, and must print the lines that
  follow it. A line that is only ``...`` stands for any number of lines, and
  ``...`` inside a line for any text. ``links=examples`` (folders, comma
  separated) puts a link to those folders of the repository into the sandbox,
  so a sample can build from the shipped examples and write what it builds
  beside them without touching the repository. ``unchecked="why"`` exempts a
  block, and must say why (for example, another issue is changing that
  command's output).
- ```` ```console server=api ```` (docs/http.md): the same, against a real
  ``nomo serve`` (token ``change-me``, ``$H`` set to its header); each command
  ends its output with the status code (``curl -w '\n%{http_code}\n'``) and
  its JSON answer is compared as data, ``...`` standing for any value, any
  further members or items, or any text inside a string.
- ```` ```sh ```` commands to type, ```` ```python ````, ```` ```json ```` and
  ```` ```text ```` (diagrams, layouts, formats), and editor configuration
  (```` ```lua ````, ```` ```toml ````, ```` ```elisp ````, docs/editors.md), CI
  configuration (```` ```yaml ````, docs/ci.md): not run here (the README's Python and the contracts lifecycle have their own
  tests; the editor set-ups are read by the editors, which the suite does not
  run).

- ```` ```nomotest ```` policy tests (docs/testing.md): parsed and run by
  ``tests/policytest/test_docs.py``, which also checks the outputs that doc
  shows in its ```` ```text ```` blocks.

A block with no label fails: it would be unchecked without anyone deciding so.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nomotic_dsl.compiler.pipeline import compile_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "README.md"]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
LABELS = frozenset(
    {"nomo", "nomotest", "console", "sh", "python", "json", "text", "yaml", "lua", "toml", "elisp"}
)


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its label, its attributes and its text."""

    doc: Path
    line: int
    label: str
    attrs: dict[str, str] = field(hash=False)
    body: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """``nomo file=a.nomo error=NMO207`` -> ("nomo", {"file": ..., "error": ...})."""
    words = shlex.split(info)
    if not words:
        return "", {}
    attrs = {}
    for word in words[1:]:
        key, _, value = word.partition("=")
        attrs[key] = value
    return words[0], attrs


def blocks_of(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        label, attrs = parse_info(match.group(1))
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(doc, line, label, attrs, match.group(2)))
    return found


ALL = [block for doc in DOCS for block in blocks_of(doc)]


def _id(block: Block) -> str:
    return block.where


def test_the_docs_have_blocks_of_every_kind() -> None:
    labels = {block.label for block in ALL}
    assert {"nomo", "console"} <= labels
    assert len([b for b in ALL if b.label == "nomo"]) >= 15
    assert len([b for b in ALL if b.label == "console"]) >= 5


@pytest.mark.parametrize("block", ALL, ids=_id)
def test_every_block_is_labelled(block: Block) -> None:
    assert block.label in LABELS, (
        f"{block.where}: label the block ({', '.join(sorted(LABELS))}), so it is checked "
        "or deliberately not"
    )
    if "unchecked" in block.attrs:
        assert block.attrs["unchecked"].strip(), f"{block.where}: unchecked needs a reason"


# ---- policies ---------------------------------------------------------------------------


def _sandbox(doc: Path, base: Path, upto: int | None = None) -> Path:
    """The doc's sandbox: every ``file=`` block of the doc (before line ``upto``) written out."""
    directory = base / doc.stem
    directory.mkdir(parents=True, exist_ok=True)
    for block in blocks_of(doc):
        if upto is not None and block.line >= upto:
            break
        name = block.attrs.get("file")
        if name:
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.body, encoding="utf-8")
    return directory


NOMO = [block for block in ALL if block.label == "nomo"]


@pytest.mark.parametrize("block", NOMO, ids=_id)
def test_every_policy_block_compiles_as_it_claims(block: Block, tmp_path: Path) -> None:
    directory = _sandbox(block.doc, tmp_path, upto=block.line)
    path = directory / block.attrs.get("file", "block.nomo")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.body, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        result = compile_file(path.relative_to(directory))
    finally:
        os.chdir(cwd)
    errors = sorted({d.code for d in result.diagnostics if d.is_error})
    warnings = sorted({d.code for d in result.diagnostics if not d.is_error})
    wanted_errors = sorted(filter(None, block.attrs.get("error", "").split(",")))
    wanted_warnings = sorted(filter(None, block.attrs.get("warning", "").split(",")))
    shown = result.render()
    assert errors == wanted_errors, (
        f"{block.where}: errors {errors}, expected {wanted_errors}\n{shown}"
    )
    assert warnings == wanted_warnings, f"{block.where}: warnings {warnings}\n{shown}"
    assert result.ok == (not wanted_errors)


# ---- command samples -------------------------------------------------------------------------


def _commands(body: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$ `` line of a console block.

    A command continues on the next line after a trailing backslash, or while
    a single-quoted argument is still open (a JSON body written over lines).
    """
    runs: list[tuple[str, list[str]]] = []
    continuing = False
    for line in body.splitlines():
        if continuing:
            command = runs[-1][0] + "\n" + line
            runs[-1] = (command, [])
            continuing = _continues(command)
        elif line.startswith("$ "):
            runs.append((line[2:], []))
            continuing = _continues(line[2:])
        elif runs:
            runs[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"a console block must start with `$ `: {line!r}")
    return runs


def _continues(command: str) -> bool:
    return command.endswith("\\") or command.count("'") % 2 == 1


def expected_pattern(lines: list[str]) -> re.Pattern[str]:
    """The regular expression a sample's lines stand for (``...`` lines and ``...`` inside)."""
    parts = []
    for line in lines:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = [re.escape(piece) for piece in line.rstrip().split("...")]
            parts.append(".*?".join(pieces) + r"[ \t]*\n")
    return re.compile("".join(parts), re.S)


def test_the_sample_matcher_elides_lines_and_text() -> None:
    pattern = expected_pattern(["a", "...", "z ... end"])
    assert pattern.fullmatch("a\nb\nc\nz middle end\n")
    assert pattern.fullmatch("a\nz  end\n")
    assert not pattern.fullmatch("a\nz middle\n")


MARK = "@@nomo-docs-sample@@"


def run_samples(commands: list[str], cwd: Path) -> list[str]:
    """Run a block's commands in one bash session (so `echo $?` sees the command before it)."""
    script = []
    for command in commands:
        script.append(f"{command} 2>&1")
        script.append(f"__status=$?; printf '%s\\n' '{MARK}'; (exit $__status)")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "100",
    }
    env.pop("SOURCE_DATE_EPOCH", None)
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = done.stdout.split(MARK + "\n")[: len(commands)]
    return [
        "\n".join(line.rstrip() for line in out.splitlines()) + ("\n" if out.strip() else "")
        for out in outputs
    ]


CONSOLE = [b for b in ALL if b.label == "console" and "server" not in b.attrs]


@pytest.mark.slow
@pytest.mark.parametrize("block", CONSOLE, ids=_id)
def test_every_command_sample_prints_what_the_doc_shows(block: Block, tmp_path: Path) -> None:
    if "unchecked" in block.attrs:
        pytest.skip(f"{block.where}: {block.attrs['unchecked']}")
    cwd = ROOT if block.attrs.get("cwd") == "repo" else _sandbox(block.doc, tmp_path, block.line)
    for folder in filter(None, block.attrs.get("links", "").split(",")):
        assert (ROOT / folder).is_dir(), f"{block.where}: links={folder}: no such folder"
        (cwd / folder).symlink_to(ROOT / folder, target_is_directory=True)
    runs = _commands(block.body)
    outputs = run_samples([command for command, _ in runs], cwd)
    for (command, lines), actual in zip(runs, outputs, strict=True):
        pattern = expected_pattern(lines)
        assert pattern.fullmatch(actual), (
            f"{block.where}: `$ {command}` printed:\n{actual}\nthe doc shows:\n" + "\n".join(lines)
        )


def test_the_code_table_in_language_md_is_the_registry() -> None:
    from nomotic_dsl.compiler.diagnostics import CODES

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (NMO\d{3}) \| (error|warning) \| (.*) \|$", text, flags=re.M)
    assert [(code, severity, summary) for code, severity, summary in rows] == [
        (info.code, info.severity, info.summary) for info in CODES.values()
    ]


# ---- HTTP samples: JSON answers compared as data, `...` standing for what varies --------------

ANY, MORE = "\u0000any\u0000", "\u0000more\u0000"


def ellipsis_json(text: str) -> object:
    """JSON in which `...` stands for any value, any further members, or any further items."""
    out: list[str] = []
    stack: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = index + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[index : end + 1])
            index = end + 1
            continue
        if text.startswith("...", index):
            before = "".join(out).rstrip()[-1:]
            if stack and stack[-1] == "[":
                out.append(json.dumps(MORE))
            elif stack and before in "{,":
                out.append(f"{json.dumps(MORE)}: null")
            else:
                out.append(json.dumps(ANY))
            index += 3
            continue
        if char in "[{":
            stack.append(char)
        elif char in "]}":
            stack.pop()
        out.append(char)
        index += 1
    return json.loads("".join(out))


def json_mismatch(expected: object, actual: object, where: str = "$") -> str | None:
    """Where ``actual`` differs from an ``ellipsis_json`` sample, or None when it matches."""
    if expected == ANY:
        return None
    if isinstance(expected, str) and "..." in expected and isinstance(actual, str):
        pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
        return None if re.fullmatch(pattern, actual, re.S) else f"{where}: {actual!r}"
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = [key for key in expected if key != MORE]
        missing = [key for key in keys if key not in actual]
        if missing or (MORE not in expected and set(actual) != set(keys)):
            return f"{where}: keys {sorted(actual)}, the doc shows {keys}"
        for key in keys:
            found = json_mismatch(expected[key], actual[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        shown = [item for item in expected if item != MORE]
        if len(actual) < len(shown) or (MORE not in expected and len(actual) != len(shown)):
            return f"{where}: {len(actual)} items, the doc shows {len(shown)}"
        for index, item in enumerate(shown):
            found = json_mismatch(item, actual[index], f"{where}[{index}]")
            if found:
                return found
        return None
    numbers = isinstance(expected, float | int) and isinstance(actual, float | int)
    if numbers and abs(expected - actual) <= 1e-9 * max(1, abs(expected)):  # type: ignore[operator]
        return None
    return None if expected == actual else f"{where}: {actual!r}, the doc shows {expected!r}"


def test_the_json_sample_matcher() -> None:
    sample = ellipsis_json('{"a": "f64d...06", "b": [1, ...], "c": {"d": 1, ...}, "e": ..., ...}')
    assert (
        json_mismatch(
            sample, {"a": "f64d1106", "b": [1, 2], "c": {"d": 1, "x": 2}, "e": [], "z": 0}
        )
        is None
    )
    assert json_mismatch(sample, {"a": "x", "b": [1], "c": {"d": 1}, "e": 1}) is not None
    assert json_mismatch(ellipsis_json('{"a": 1}'), {"a": 1, "b": 2}) is not None


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real `nomo serve` on a free loopback port, token `change-me`, contracts sealed.

    It governs the fleet example's three agents (`--bundle`), so the
    `/v1/observations` samples get decisions.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nomo = [sys.executable, "-m", "nomotic_dsl"]
    subprocess.run([*nomo, "keygen", str(tmp_path / "api")], check=True, capture_output=True)
    bundle = tmp_path / "fleet.nomob"
    policy = ROOT / "examples" / "fleet" / "policy.nomo"
    subprocess.run(
        [*nomo, "build", str(policy), "--key", str(tmp_path / "api.key"), "-o", str(bundle)],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "NOMO_API_TOKEN": "change-me",
        "NOMO_API_SIGNING_KEY": str(tmp_path / "api.key"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nomotic_dsl",
            "serve",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "api.db"),
            "--bundle",
            str(bundle),
            "--trust",
            str(tmp_path / "api.pub"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)


HTTP_DOC = ROOT / "docs" / "http.md"


@pytest.mark.slow
def test_the_http_samples_answer_what_the_doc_shows(api_server: tuple[str, Path]) -> None:
    address, work = api_server
    blocks = [
        b for b in blocks_of(HTTP_DOC) if b.label == "console" and b.attrs.get("server") == "api"
    ]
    assert len(blocks) >= 6
    sandbox = _sandbox(HTTP_DOC, work)
    for block in blocks:
        runs = _commands(block.body)
        commands = [
            "H='Authorization: Bearer change-me'; " + command.replace("127.0.0.1:8000", address)
            for command, _ in runs
        ]
        for (command, lines), actual in zip(runs, run_samples(commands, sandbox), strict=True):
            *body, status = [line for line in lines if line.strip()] or [""]
            got = actual.rstrip("\n").split("\n")
            assert got[-1] == status, f"{block.where}: `$ {command}` answered {got[-1]}: {actual}"
            if not body:
                continue
            problem = json_mismatch(ellipsis_json("\n".join(body)), json.loads("\n".join(got[:-1])))
            assert problem is None, f"{block.where}: `$ {command}`: {problem}\n{actual}"


def test_nomo_compile_prints_exactly_compile_result_to_json(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nomotic_dsl.cli.main import cli

    policy = ROOT / "examples" / "customer_support" / "policy.nomo"
    printed = CliRunner().invoke(cli, ["compile", str(policy)])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == compile_file(policy).to_json()
