"""`nomo` never prints a traceback, whatever the input: fuzzed files through every reading command.

Inputs: random bytes, random text with BOMs, NULs and invisible characters,
undecodable bytes, deep nesting, and mutations of every shipped policy. Each
run must end with exit 0 or 1 (never 2: the arguments are right; never an
exception), with the problem described in words.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nomotic_dsl.cli.main import cli
from nomotic_dsl.compiler.diagnostics import CODES
from nomotic_dsl.compiler.pipeline import compile_source

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*(ROOT / "examples").rglob("*.nomo"), *(ROOT / "stdlib").rglob("*.nomo")])
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_NASTY = st.sampled_from(
    [
        "\ufeff",
        "\x00",
        "\u200b",
        "\u202e",
        "\r\n",
        "{" * 2000,
        "}" * 500,
        '"' * 3,
        "9" * 500,
        "0." + "1" * 400,
        "over 10 acitons",
        "drift action <\n",
        "\\",
        "#",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=20), _NASTY), max_size=12).map("".join)
BYTES = st.one_of(
    st.binary(max_size=300),
    TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.tuples(TEXT, st.binary(min_size=1, max_size=8)).map(
        lambda pair: pair[0].encode("utf-8", "surrogatepass") + b"\xff" + pair[1]
    ),
)


def nomo(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_no_traceback(result: Result, args: tuple[str, ...]) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"nomo {' '.join(args)} raised {result.exception!r}") from (
            result.exception
        )
    assert result.exit_code in (0, 1), (args, result.output)
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    prefix = tmp_path_factory.mktemp("keys") / "k"
    assert nomo("keygen", str(prefix)).exit_code == 0
    return f"{prefix}.key", f"{prefix}.pub"


@FUZZ
@given(data=BYTES)
def test_language_commands_on_random_files(
    data: bytes, tmp_path: Path, key_pair: tuple[str, str]
) -> None:
    path = tmp_path / "fuzz.nomo"
    path.write_bytes(data)
    out = tmp_path / "fuzz.nomob"
    commands: list[tuple[str, ...]] = [
        ("check", str(path)),
        ("check", "--format", "json", str(path)),
        ("fmt", "--check", str(path)),
        ("compile", str(path)),
        ("explain", str(path)),
        ("build", str(path), "--key", key_pair[0], "-o", str(out)),
    ]
    for args in commands:
        assert_no_traceback(nomo(*args), args)


@FUZZ
@given(specs=BYTES, state=BYTES)
def test_evaluate_on_random_files(specs: bytes, state: bytes, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_bytes(specs)
    (tmp_path / "b.json").write_bytes(state)
    args = ("evaluate", str(tmp_path / "s.json"), str(tmp_path / "b.json"))
    assert_no_traceback(nomo(*args), args)


def test_evaluate_on_deep_and_huge_json(tmp_path: Path) -> None:
    cases = {
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "digits.json": "1" * 10_000,
        "bom.json": "\ufeff[]",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        args = ("evaluate", str(tmp_path / name), str(tmp_path / name))
        assert_no_traceback(nomo(*args), args)


@FUZZ
@given(data=st.binary(max_size=600))
def test_bundle_commands_on_random_files(
    data: bytes, tmp_path: Path, key_pair: tuple[str, str]
) -> None:
    path = tmp_path / "fuzz.nomob"
    path.write_bytes(data)
    for args in (("inspect", str(path)), ("verify", str(path), "--trust", key_pair[1])):
        result = nomo(*args)
        assert_no_traceback(result, args)
        assert result.exit_code == 1


# ---- mutations of the shipped policies -------------------------------------------------------


@st.composite
def mutated_policies(draw: st.DrawFn) -> str:
    """A shipped policy with characters deleted, inserted, duplicated or swapped."""
    text = draw(st.sampled_from(SHIPPED)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "truncate"]))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.one_of(_NASTY, st.text(max_size=5))) + text[at:]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + 40] + text[at:]
        elif kind == "swap":
            other = draw(st.integers(0, len(text) - 1))
            first, second = sorted((at, other))
            text = text[:first] + text[second:] + text[first:second]
        else:
            text = text[:at]
    return text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_policies())
def test_mutated_policies_give_only_diagnostics(text: str) -> None:
    result = compile_source(text, "mutated.nomo")
    assert all(d.code in CODES for d in result.diagnostics)
    assert "NMO900" not in {d.code for d in result.diagnostics}
    assert result.ok == (not any(d.is_error for d in result.diagnostics))
    result.render()  # every diagnostic renders


@FUZZ
@given(text=mutated_policies())
def test_mutated_policies_through_the_cli(text: str, tmp_path: Path) -> None:
    path = tmp_path / "mutated.nomo"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for args in (("check", str(path)), ("fmt", "--check", str(path)), ("explain", str(path))):
        assert_no_traceback(nomo(*args), args)


# ---- real processes ------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_processes_print_no_traceback(tmp_path: Path) -> None:
    inputs = {
        "bytes.nomo": bytes(range(256)) * 4,
        "bom.nomo": b"\xef\xbb\xbfdrift action < 0.2\n",
        "nul.nomo": b'import "std/\x00x"\ndrift action <\n',
        "deep.nomo": b"{" * 50_000,
        "latin1.json": b"[\xe9]",
    }
    for name, data in inputs.items():
        (tmp_path / name).write_bytes(data)
    runs = [
        [
            "check",
            str(tmp_path / "bytes.nomo"),
            str(tmp_path / "bom.nomo"),
            str(tmp_path / "nul.nomo"),
        ],
        ["check", "--format", "json", str(tmp_path / "deep.nomo")],
        ["evaluate", str(tmp_path / "latin1.json"), str(tmp_path / "latin1.json")],
        ["fmt", str(tmp_path / "deep.nomo")],
    ]
    for args in runs:
        done = subprocess.run(
            [sys.executable, "-m", "nomotic_dsl", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout, args


def test_files_that_are_too_large_or_not_regular_are_never_read(tmp_path: Path) -> None:
    import os

    huge = tmp_path / "huge.nomo"
    with huge.open("wb") as stream:
        stream.truncate(64 * 1024 * 1024)  # sparse: refused from its size, never read
    fifo = tmp_path / "fifo.nomo"
    os.mkfifo(fifo)  # reading it would block
    result = nomo("check", "--format", "concise", str(huge), "/dev/zero")
    assert result.exit_code == 1
    assert "error[NMO110] cannot read 'huge.nomo'" in result.stdout.replace(str(tmp_path) + "/", "")
    assert "/dev/zero: not a regular file" in result.stdout
    compiled = nomo("compile", str(fifo))
    assert compiled.exit_code == 1 and "not a regular file" in compiled.stderr
