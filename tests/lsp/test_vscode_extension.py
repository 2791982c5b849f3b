"""editors/vscode is a valid extension: its manifest points at real files, and it starts `nomo lsp`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nomotic_dsl.compiler.syntax.parser import nomo_parser

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editors" / "vscode"
MANIFEST = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))


def test_manifest_contributes_the_language_and_grammar() -> None:
    assert MANIFEST["engines"]["vscode"].startswith("^1.")
    assert (EXTENSION / MANIFEST["main"]).is_file()
    [language] = MANIFEST["contributes"]["languages"]
    assert language["id"] == "nomo" and language["extensions"] == [".nomo"]
    assert (EXTENSION / language["configuration"]).is_file()
    [grammar] = MANIFEST["contributes"]["grammars"]
    path = EXTENSION / grammar["path"]
    assert path.read_text(encoding="utf-8") == (
        ROOT / "editors" / "textmate" / "nomo.tmLanguage.json"
    ).read_text(encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    default = MANIFEST["contributes"]["configuration"]["properties"]["nomo.server.command"]
    assert default["default"] == ["nomo", "lsp"]


def test_dependencies_are_locked() -> None:
    lock = json.loads((EXTENSION / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in MANIFEST["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_language_configuration_matches_the_grammar() -> None:
    configuration = json.loads(
        (EXTENSION / "language-configuration.json").read_text(encoding="utf-8")
    )
    [comment] = [t for t in nomo_parser().terminals if t.name == "COMMENT"]
    line_comment = configuration["comments"]["lineComment"]
    assert re.fullmatch(comment.pattern.to_regexp(), f"{line_comment} a remark")
    assert configuration["brackets"] == [["{", "}"]]
    word = re.compile(configuration["wordPattern"])
    assert word.fullmatch("customer-experience") and word.fullmatch("15m")
    assert word.fullmatch("60%") and not word.fullmatch("a b")


def test_extension_starts_nomo_lsp(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to load the extension (CI machines have it)")
    # Stand-ins for the editor's API and the client library: record what the extension asks.
    modules = tmp_path / "node_modules"
    (modules / "vscode").mkdir(parents=True)
    (modules / "vscode" / "index.js").write_text(
        "module.exports = { workspace: { getConfiguration: () => "
        "({ get: (key, fallback) => fallback }) } };\n",
        encoding="utf-8",
    )
    (modules / "vscode-languageclient").mkdir()
    (modules / "vscode-languageclient" / "node.js").write_text(
        "class LanguageClient { constructor(id, name, server, client) {"
        " globalThis.started = { id, name, server, client }; }"
        " start() { return Promise.resolve(); } stop() { return Promise.resolve(); } }\n"
        "module.exports = { LanguageClient };\n",
        encoding="utf-8",
    )
    script = (
        f"const ext = require({json.dumps(str(EXTENSION / 'extension.js'))});"
        "const context = { subscriptions: [] };"
        "ext.activate(context).then(() => {"
        " process.stdout.write(JSON.stringify({ ...globalThis.started,"
        " subscriptions: context.subscriptions.length })); });"
    )
    done = subprocess.run(
        [node, "-e", script],
        env={"NODE_PATH": str(modules), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)
    assert started["server"]["run"] == {"command": "nomo", "args": ["lsp"]}
    assert started["client"]["documentSelector"] == [{"language": "nomo"}]
    assert started["subscriptions"] == 1
