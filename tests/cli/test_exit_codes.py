"""One exit-code rule for every command, --format json everywhere, gates that never pass on nothing.

0 ok, 1 a problem in the input (a missing input file included), 2 misuse.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nomotic_dsl.cli.main import cli

CLEAN = "ratio write/read < 0.3 over 100 actions\n"
SPECS = json.dumps(
    [
        {
            "invariant_id": "d",
            "type": "drift",
            "metric": "action",
            "operator": "lt",
            "threshold": 0.2,
        }
    ]
)


def nomo(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    assert nomo("keygen", str(tmp_path / "k")).exit_code == 0
    return tmp_path / "k.key", tmp_path / "k.pub"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.nomo"
    path.write_text(CLEAN, encoding="utf-8")
    return path


@pytest.fixture
def bundle(tmp_path: Path, policy: Path, keys: tuple[Path, Path]) -> Path:
    out = tmp_path / "p.nomob"
    assert nomo("build", str(policy), "--key", str(keys[0]), "-o", str(out)).exit_code == 0
    return out


# ---- a missing input file is an input problem (1), never misuse (2) ---------------------


def _missing_file_commands(
    tmp: Path, policy: Path, keys: tuple[Path, Path], bundle: Path
) -> list[list[str]]:
    missing = str(tmp / "missing")
    specs = tmp / "specs.json"
    specs.write_text(SPECS, encoding="utf-8")
    trace = tmp / "trace.jsonl"
    trace.write_text('{"timestamp": 1, "action_type": "read", "target": "t"}\n', encoding="utf-8")
    pub = str(keys[1])
    return [
        ["run", missing, "--trace", str(trace)],
        ["run", str(bundle), "--trust", pub, "--trace", missing],
        ["run", str(bundle), "--trust", missing, "--trace", str(trace)],
        ["run", str(bundle), "--trust", pub, "--trace", str(trace), "--resume", missing],
        ["log", "verify", missing, "--bundle", str(bundle), "--trust", pub],
        ["log", "verify", str(trace), "--bundle", missing, "--trust", pub],
        ["serve", "--bundle", missing, "--trust", pub],
        ["check", missing],
        ["fmt", missing],
        ["compile", missing],
        ["explain", missing],
        ["build", missing, "--key", str(keys[0]), "-o", str(tmp / "o.nomob")],
        ["build", str(policy), "--key", missing, "-o", str(tmp / "o.nomob")],
        ["verify", missing, "--trust", str(keys[1])],
        ["verify", str(bundle), "--trust", missing],
        ["inspect", missing],
        ["evaluate", missing, str(specs)],
        ["evaluate", str(specs), missing],
        ["contract", "generate", missing],
    ]


def test_every_command_exits_1_on_a_missing_input_file(
    tmp_path: Path, policy: Path, keys: tuple[Path, Path], bundle: Path
) -> None:
    for args in _missing_file_commands(tmp_path, policy, keys, bundle):
        result = nomo(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "missing" in result.output and "Traceback" not in result.output, args


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["build"],
        ["verify"],
        ["evaluate", "x"],
        ["contract", "show"],
        ["check", "--format", "xml", "x.nomo"],
        ["keygen"],
        ["nonsense"],
    ],
)
def test_misuse_exits_2(args: list[str]) -> None:
    result = nomo(*args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output


# ---- gates that never pass on nothing -------------------------------------------------------


def test_check_of_a_folder_with_no_policy_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = nomo("check", str(empty))
    assert result.exit_code == 1
    assert "holds no .nomo file" in result.stdout and "1 error" in result.stdout
    as_json = json.loads(nomo("check", "--format", "json", str(empty)).stdout)
    assert as_json["errors"] == 1 and as_json["diagnostics"][0]["code"] == "NMO205"
    (empty / "p.nomo").write_text(CLEAN, encoding="utf-8")
    assert nomo("check", str(empty)).exit_code == 0


def test_check_json_counts_unreadable_files_as_errors(tmp_path: Path, policy: Path) -> None:
    undecodable = tmp_path / "latin1.nomo"
    undecodable.write_bytes(b"drift action < 0.2 # caf\xe9\n")
    result = nomo(
        "check", "--format", "json", str(policy), str(undecodable), str(tmp_path / "no.nomo")
    )
    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert document["errors"] == 2
    assert {d["code"] for d in document["diagnostics"]} == {"NMO205"}
    assert any("not UTF-8" in d["message"] for d in document["diagnostics"])


def test_build_of_an_empty_policy_fails_unless_allowed(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    empty = tmp_path / "empty.nomo"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    out = tmp_path / "e.nomob"
    refused = nomo("build", str(empty), "--key", str(keys[0]), "-o", str(out))
    assert refused.exit_code == 1 and "check nothing" in refused.output and not out.exists()
    allowed = nomo("build", str(empty), "--key", str(keys[0]), "-o", str(out), "--allow-empty")
    assert allowed.exit_code == 0 and out.is_file()


def test_build_refuses_a_bundle_already_outside_its_validity_window(
    tmp_path: Path, policy: Path, keys: tuple[Path, Path]
) -> None:
    out = tmp_path / "x.nomob"
    base = ["build", str(policy), "--key", str(keys[0]), "-o", str(out)]
    expired = nomo(*base, "--expires", "2020-01-01T00:00:00Z")
    assert expired.exit_code == 1 and "would be expired" in expired.output
    empty = nomo(*base, "--not-before", "2031-01-01", "--expires", "2030-01-01")
    assert empty.exit_code == 1 and "window is empty" in empty.output
    assert not out.exists()
    later = nomo(*base, "--not-before", "2031-01-01", "--expires", "2032-01-01")
    assert later.exit_code == 0, later.output  # valid later: fine to build now


def test_contract_show_never_creates_a_store(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    for args in (["show", "bot"], ["history", "bot"], ["diff", "bot", "1", "2"]):
        result = nomo("contract", *args, "--db", str(db))
        assert result.exit_code == 1 and "no contract store" in result.output
    assert not db.exists()


def test_contract_generate_warns_about_a_misspelt_archetype(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    result = nomo(
        "contract", "generate", "--agent", "bot", "--archetype", "sales-agnet", "--db", db
    )
    assert result.exit_code == 0
    assert "did you mean `sales-agent`?" in result.stderr
    clean = nomo("contract", "generate", "--agent", "b2", "--archetype", "sales-agent", "--db", db)
    assert clean.exit_code == 0 and "warning" not in clean.stderr


# ---- --format json on every command ---------------------------------------------------------


def test_json_on_keygen_build_verify_fmt(tmp_path: Path, policy: Path) -> None:
    made = json.loads(nomo("keygen", str(tmp_path / "j"), "--format", "json").stdout)
    assert made["ok"] and Path(made["public_key"]).is_file() and len(made["key_id"]) == 16
    out = tmp_path / "j.nomob"
    built = nomo(
        "build", str(policy), "--key", made["secret_key"], "-o", str(out), "--format", "json"
    )
    document = json.loads(built.stdout)
    assert built.exit_code == 0
    assert document["ok"] and document["bundle"] == str(out) and document["invariants"] == 1
    assert document["bytes"] == out.stat().st_size
    verified = json.loads(
        nomo("verify", str(out), "--trust", made["public_key"], "--format", "json").stdout
    )
    assert verified["valid"] and verified["signed_by"] == [made["key_id"]]
    other = json.loads(nomo("keygen", str(tmp_path / "o"), "--format", "json").stdout)
    refused = nomo("verify", str(out), "--trust", other["public_key"], "--format", "json")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["valid"] is False
    formatted = json.loads(nomo("fmt", "--check", "--format", "json", str(policy)).stdout)
    assert formatted["files"] == [{"file": str(policy), "status": "unchanged", "diagnostics": []}]


def test_json_on_run_and_log_verify(tmp_path: Path, keys: tuple[Path, Path], bundle: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"timestamp": 1, "action_type": "read", "target": "t"}\n', encoding="utf-8")
    base = ["run", str(bundle), "--trust", str(keys[1]), "--trace", str(trace)]
    ran = nomo(*base, "--format", "json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["observations"] == 1
    missing = nomo(*base[:-1], str(tmp_path / "none.jsonl"), "--format", "json")
    assert missing.exit_code == 1
    assert json.loads(missing.stdout) == {
        "ok": False,
        "error": f"cannot read --trace {tmp_path / 'none.jsonl'}: no such file "
        "(or give - for standard input)",
    }
    other = json.loads(nomo("keygen", str(tmp_path / "o"), "--format", "json").stdout)
    refused = nomo("run", str(bundle), "--trust", other["public_key"], "--trace", str(trace),
                   "--format", "json")  # fmt: skip
    assert refused.exit_code == 1 and json.loads(refused.stdout)["ok"] is False
    log = tmp_path / "log.jsonl"
    log.write_text(nomo(*base, "--format", "jsonl").stdout, encoding="utf-8")
    verify = ["log", "verify", str(log), "--bundle", str(bundle), "--trust", str(keys[1])]
    intact = nomo(*verify, "--format", "json")
    assert intact.exit_code == 0, intact.output
    document = json.loads(intact.stdout)
    assert document["intact"] and document["decisions"] == 1 and document["end_records"] == 1
    log.write_text(log.read_text(encoding="utf-8").replace('"line":1', '"line":2', 1))
    broken = nomo(*verify, "--format", "json")
    assert broken.exit_code == 1
    assert json.loads(broken.stdout) | {"error": ""} == {
        "intact": False,
        "log": str(log),
        "line": 1,
        "error": "",
    }


def test_json_on_contract_seal_and_verify(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    db = str(tmp_path / "c.db")
    assert nomo("contract", "generate", "--agent", "bot", "--db", db).exit_code == 0
    sealed = nomo("contract", "seal", "bot", "--key", str(keys[0]), "--db", db, "--format", "json")
    assert sealed.exit_code == 0 and json.loads(sealed.stdout)["signature"]
    verified = nomo(
        "contract", "verify", "bot", "--trust", str(keys[1]), "--db", db, "--format", "json"
    )
    assert verified.exit_code == 0 and json.loads(verified.stdout)["valid"] is True


def test_build_json_on_errors_prints_one_document(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    bad = tmp_path / "bad.nomo"
    bad.write_text("drift acton < 0.2\n", encoding="utf-8")
    result = nomo(
        "build", str(bad), "--key", str(keys[0]), "-o", str(tmp_path / "b"), "--format", "json"
    )
    document = json.loads(result.stdout)
    assert result.exit_code == 1 and document["ok"] is False
    assert document["diagnostics"][0]["code"] == "NMO403"


# ---- nomo serve on a busy port --------------------------------------------------------------


@pytest.mark.slow
def test_serve_on_a_busy_port_exits_1_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "nomotic_dsl",
                "serve",
                "--port",
                str(port),
                "--db",
                str(tmp_path / "s.db"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
