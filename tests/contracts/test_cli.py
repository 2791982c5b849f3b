"""``nomo contract``: the command group against a store file, through click's runner."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nomotic_dsl.cli.main import cli
from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.runtime import priors as archetypes_module
from nomotic_dsl.runtime.bundle.keys import write_key_pair

PRIOR = ArchetypePrior(name="support", action_distribution={"read": 0.6, "reply": 0.4})


@pytest.fixture(autouse=True)
def fake_archetypes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archetypes_module, "get_archetype", {"support": PRIOR}.get)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "contracts.db")


def nomo(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def generate(db: str, agent: str = "bot") -> Result:
    return nomo("contract", "generate", "--agent", agent, "--archetype", "support", "--db", db)


def test_generate_from_archetype_then_show(db: str) -> None:
    result = generate(db)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stored bot v1")
    shown = nomo("contract", "show", "bot", "--db", db, "--format", "json")
    assert shown.exit_code == 0
    data = json.loads(shown.output)
    assert data["expected_action_distribution"] == {"read": 0.6, "reply": 0.4}
    assert data["version"] == 1 and data["created_at"] > 0
    text = nomo("contract", "show", "bot", "--db", db)
    assert "archetype: support" in text.output and "unsealed" in text.output


def test_generate_allocates_the_next_version(db: str) -> None:
    generate(db)
    second = nomo("contract", "generate", "--agent", "bot", "--db", db, "--format", "json")
    assert second.exit_code == 0
    assert json.loads(second.output)[0]["version"] == 2
    history = nomo("contract", "history", "bot", "--db", db, "--format", "json")
    assert [c["version"] for c in json.loads(history.output)] == [1, 2]
    lines = nomo("contract", "history", "bot", "--db", db).output.splitlines()
    assert [line.split()[0] for line in lines] == ["v1", "v2"]


def test_diff_between_versions(db: str) -> None:
    generate(db)
    nomo("contract", "generate", "--agent", "bot", "--archetype", "general", "--db", db)
    result = nomo("contract", "diff", "bot", "1", "2", "--db", db, "--format", "json")
    changes = json.loads(result.output)["changes"]
    assert changes["archetype"] == {"from": "support", "to": "general"}
    assert changes["expected_action_distribution"]["to"] == {}
    text = nomo("contract", "diff", "bot", "1", "2", "--db", db).output
    assert "archetype: support -> general" in text


def test_seal_and_verify(db: str, tmp_path: Path) -> None:
    generate(db)
    write_key_pair(tmp_path / "ops")
    write_key_pair(tmp_path / "other")
    unsealed = nomo("contract", "verify", "bot", "--trust", str(tmp_path / "ops.pub"), "--db", db)
    assert unsealed.exit_code == 1 and "not sealed" in unsealed.output
    sealed = nomo(
        "contract",
        "seal",
        "bot",
        "--key",
        str(tmp_path / "ops.key"),
        "--signed-by",
        "ops",
        "--db",
        db,
    )
    assert sealed.exit_code == 0, sealed.output
    ok = nomo("contract", "verify", "bot", "--trust", str(tmp_path / "ops.pub"), "--db", db)
    assert ok.exit_code == 0 and "seal valid" in ok.output
    wrong = nomo("contract", "verify", "bot", "--trust", str(tmp_path / "other.pub"), "--db", db)
    assert wrong.exit_code == 1 and "does not verify" in wrong.output
    again = nomo("contract", "seal", "bot", "--key", str(tmp_path / "ops.key"), "--db", db)
    assert again.exit_code == 1 and "already sealed" in again.output


def test_generate_with_key_seals_before_storing(db: str, tmp_path: Path) -> None:
    write_key_pair(tmp_path / "ops")
    result = nomo(
        "contract", "generate", "--agent", "bot", "--key", str(tmp_path / "ops.key"), "--db", db
    )
    assert result.exit_code == 0 and "sealed by key:" in result.output
    ok = nomo("contract", "verify", "bot", "--trust", str(tmp_path / "ops.pub"), "--db", db)
    assert ok.exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("contract", "show", "nobody"),
        ("contract", "show", "bot", "--version", "9"),
        ("contract", "history", "nobody"),
        ("contract", "diff", "bot", "1", "5"),
    ],
)
def test_unknown_agent_or_version_exits_1(db: str, args: tuple[str, ...]) -> None:
    generate(db)
    result = nomo(*args, "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith("error: ")


def test_misuse_exits_2(db: str) -> None:
    assert nomo("contract", "generate", "--db", db).exit_code == 2
    assert nomo("contract", "diff", "bot", "one", "2", "--db", db).exit_code == 2
    assert nomo("contract", "seal", "bot", "--db", db).exit_code == 2


def test_bad_key_file_exits_1(db: str, tmp_path: Path) -> None:
    generate(db)
    (tmp_path / "bad.key").write_text("not a key\n")
    result = nomo("contract", "seal", "bot", "--key", str(tmp_path / "bad.key"), "--db", db)
    assert result.exit_code == 1 and "hex" in result.output


def test_unusable_store_exits_1(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_text("this is not a database" * 100)
    result = nomo("contract", "show", "bot", "--db", str(tmp_path / "junk.db"))
    assert result.exit_code == 1 and "contract store" in result.output


POLICY = """
archetype office {
    actions { read 80%, write 20% }
}
contract "office-bot" {
    version 2
    archetype office
    trust { initial 0.6  floor 0.2  ceiling 0.9 }
    drift thresholds { action 0.2 }
    ratio write/read < 0.5 over 10 actions
}
"""


@pytest.mark.skipif(
    importlib.util.find_spec("nomotic_dsl.compiler.pipeline") is None,
    reason="the compiler pipeline has not landed",
)
def test_generate_from_a_nomo_file(db: str, tmp_path: Path) -> None:
    source = tmp_path / "office.nomo"
    source.write_text(POLICY)
    result = nomo("contract", "generate", str(source), "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    stored = json.loads(result.output)[0]
    assert (stored["agent_id"], stored["version"]) == ("office-bot", 2)
    assert stored["expected_action_distribution"] == {"read": 0.8, "write": 0.2}
    assert stored["invariants"][0]["metric"] == "write_to_read"
    conflict = nomo("contract", "generate", str(source), "--db", db)
    assert conflict.exit_code == 1 and "must be greater" in conflict.output
    bumped = nomo("contract", "generate", str(source), "--next-version", "--db", db)
    assert bumped.exit_code == 0 and "v3" in bumped.output
    broken = tmp_path / "broken.nomo"
    broken.write_text('contract "x" { version zero }')
    assert nomo("contract", "generate", str(broken), "--db", db).exit_code == 1
