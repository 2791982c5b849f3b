"""Anti-rollback by agent and by name (issue 16, finding 5), pinned agents and names.

A validly signed old revision must not come back under another bundle name
for the same agent; a deleted state file must not reset the counters; a
runtime can pin the agent and bundle name it expects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.compiler.generate import BundleContents
from nomotic_dsl.compiler.seal import assemble_bundle
from nomotic_dsl.runtime.bundle import BundleError, load_bundle, verify_bundle
from nomotic_dsl.runtime.bundle.rollback import STATE_FORMAT, RollbackState

from .conftest import make_contents

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "customer_support" / "policy.nomo"
TRACE = ROOT / "examples" / "customer_support" / "trace.jsonl"


def _agent_contents(
    name: str, agent: str | None = "support-bot", sources: int = 1
) -> BundleContents:
    return make_contents(name=name, sources=sources, agent=agent)


def _bundle(tmp_path: Path, key: SigningKey, contents: BundleContents, revision: int) -> Path:
    path = tmp_path / f"{contents.name}-{revision}-{len(contents.sources)}.nomob"
    path.write_bytes(assemble_bundle(contents, key, revision=revision))
    return path


def test_an_old_revision_for_the_same_agent_under_another_name_is_refused(
    tmp_path: Path, old_key: SigningKey, marker: Path
) -> None:
    state = tmp_path / "state.json"
    RollbackState.initialise(state)
    keys = [old_key.verify_key]
    load_bundle(_bundle(tmp_path, old_key, _agent_contents("support-bot"), 5), keys, rollback=state)
    canary_marked = make_contents(marker, name="support-bot-canary", agent="support-bot")
    with pytest.raises(
        BundleError, match=r"revision 1 of agent 'support-bot'.*older than revision 5"
    ):
        load_bundle(_bundle(tmp_path, old_key, canary_marked, 1), keys, rollback=state)
    assert not marker.exists()
    # The same revision with other content is refused too: a canary needs a higher one.
    with pytest.raises(BundleError, match="already accepted with different content"):
        load_bundle(_bundle(tmp_path, old_key, canary_marked, 5), keys, rollback=state)
    load_bundle(_bundle(tmp_path, old_key, canary_marked, 6), keys, rollback=state)
    assert marker.exists()
    # Now the agent is at 6: the main bundle's revision 5 is older for the agent.
    with pytest.raises(BundleError, match="older than revision 6"):
        load_bundle(
            _bundle(tmp_path, old_key, _agent_contents("support-bot"), 5), keys, rollback=state
        )
    recorded = json.loads(state.read_text())
    assert recorded["format"] == STATE_FORMAT
    assert recorded["agents"]["support-bot"]["revision"] == 6
    assert recorded["agents"]["support-bot"]["name"] == "support-bot-canary"
    assert recorded["names"]["support-bot"]["revision"] == 5


def test_bundles_without_an_agent_are_kept_apart_by_name(
    tmp_path: Path, old_key: SigningKey
) -> None:
    state = tmp_path / "state.json"
    keys = [old_key.verify_key]
    first = _bundle(tmp_path, old_key, _agent_contents("alpha", None), 3)
    load_bundle(first, keys, rollback=state, initialise_rollback=True)
    load_bundle(_bundle(tmp_path, old_key, _agent_contents("beta", None), 1), keys, rollback=state)
    with pytest.raises(BundleError, match="revision 2 of 'alpha' is older"):
        load_bundle(
            _bundle(tmp_path, old_key, _agent_contents("alpha", None), 2), keys, rollback=state
        )


def test_a_missing_state_file_is_refused_unless_initialised(
    tmp_path: Path, old_key: SigningKey
) -> None:
    state = tmp_path / "state.json"
    bundle = _bundle(tmp_path, old_key, _agent_contents("support-bot"), 2)
    with pytest.raises(BundleError, match="does not exist; a missing state is refused"):
        load_bundle(bundle, [old_key.verify_key], rollback=state)
    assert not state.exists()
    load_bundle(bundle, [old_key.verify_key], rollback=state, initialise_rollback=True)
    assert state.exists()
    # Deleting the file after a deployment does not reset the counter to "nothing accepted".
    state.unlink()
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(bundle, [old_key.verify_key], rollback=state)
    RollbackState.initialise(state)
    with pytest.raises(BundleError, match="already exists"):
        RollbackState.initialise(state)


def test_writes_leave_no_temporary_files_and_replace_the_file_whole(
    tmp_path: Path, old_key: SigningKey
) -> None:
    state = tmp_path / "state.json"
    RollbackState.initialise(state)
    inode = state.stat().st_ino
    load_bundle(
        _bundle(tmp_path, old_key, _agent_contents("support-bot"), 1),
        [old_key.verify_key],
        rollback=state,
    )
    assert state.stat().st_ino != inode  # a rename, not an overwrite in place
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".state.json"))
    assert leftovers == []


def test_a_version_1_state_file_is_read_and_rewritten(tmp_path: Path, old_key: SigningKey) -> None:
    state = tmp_path / "state.json"
    old = {"accepted": {"support-bot": {"manifest_sha256": "0" * 64, "revision": 4}}}
    state.write_text(json.dumps({**old, "format": "nomo-rollback/1"}))
    keys = [old_key.verify_key]
    with pytest.raises(BundleError, match="revision 3 of 'support-bot' is older than revision 4"):
        load_bundle(
            _bundle(tmp_path, old_key, _agent_contents("support-bot"), 3), keys, rollback=state
        )
    load_bundle(_bundle(tmp_path, old_key, _agent_contents("support-bot"), 5), keys, rollback=state)
    rewritten = json.loads(state.read_text())
    assert rewritten["format"] == STATE_FORMAT
    assert rewritten["agents"]["support-bot"]["revision"] == 5


@pytest.mark.parametrize(
    "content",
    ['{"format": "nomo-rollback/9", "names": {}, "agents": {}}', '{"format": "nomo-rollback/2"}',
     '{"format":"nomo-rollback/2","names":{"a":{"revision":true,"manifest_sha256":""}},"agents":{}}',
     "[" * 10_000],
)  # fmt: skip
def test_a_malformed_state_file_refuses(tmp_path: Path, old_key: SigningKey, content: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    with pytest.raises(BundleError, match="anti-rollback state"):
        load_bundle(
            _bundle(tmp_path, old_key, _agent_contents("support-bot"), 1),
            [old_key.verify_key],
            rollback=state,
        )


def test_expect_agent_and_expect_name_pin_the_manifest(tmp_path: Path, old_key: SigningKey) -> None:
    keys = [old_key.verify_key]
    bundle = _bundle(tmp_path, old_key, _agent_contents("support-bot-canary"), 1)
    assert verify_bundle(bundle, keys, expect_agent="support-bot").manifest.revision == 1
    with pytest.raises(BundleError, match="not the expected agent 'billing-bot'"):
        load_bundle(bundle, keys, expect_agent="billing-bot")
    with pytest.raises(BundleError, match="not the expected 'support-bot'"):
        load_bundle(bundle, keys, expect_name="support-bot")
    no_agent = _bundle(tmp_path, old_key, _agent_contents("plain", None), 1)
    with pytest.raises(BundleError, match="bundle is for no agent"):
        verify_bundle(no_agent, keys, expect_agent="support-bot")
    # The expected id goes through the same normalisation as stored ids (NFC).
    accented = _bundle(tmp_path, old_key, _agent_contents("accent", "caf\u00e9"), 1)
    assert verify_bundle(accented, keys, expect_agent="cafe\u0301").manifest.agent_id == "caf\u00e9"


def _nomo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_cli_refuses_the_renamed_rollback_and_pins_agent_and_name(tmp_path: Path) -> None:
    key = tmp_path / "k"
    assert _nomo("keygen", str(key)).returncode == 0
    main = tmp_path / "main.nomob"
    canary = tmp_path / "canary.nomob"
    common = ["--key", f"{key}.key"]
    assert _nomo("build", str(POLICY), *common, "-o", str(main), "--revision", "5").returncode == 0
    built = _nomo(
        "build", str(POLICY), *common, "-o", str(canary), "--revision", "1",
        "--name", "support-bot-canary",
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    state = tmp_path / "state.json"
    run = ["--trust", f"{key}.pub", "--trace", str(TRACE), "--state", str(state)]
    missing = _nomo("run", str(main), *run)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    first = _nomo("run", str(main), *run, "--init-state")
    assert first.returncode == 1 and "observations" in first.stdout  # the trace has violations
    refused = _nomo("run", str(canary), *run)
    assert refused.returncode == 1
    assert (
        "revision 1 of agent 'support-bot'" in refused.stderr
        and "rollback refused" in refused.stderr
    )
    verify = ["--trust", f"{key}.pub"]
    checked = _nomo("verify", str(canary), *verify, "--state", str(state))
    assert checked.returncode == 1 and "older than revision 5" in checked.stderr
    pinned = _nomo("verify", str(canary), *verify, "--expect-name", "support-bot")
    assert pinned.returncode == 1 and "not the expected 'support-bot'" in pinned.stderr
    agent = _nomo("verify", str(canary), *verify, "--expect-agent", "support-bot")
    assert agent.returncode == 0 and "for agent support-bot" in agent.stdout
    other = _nomo("run", str(main), *run, "--expect-agent", "billing-bot")
    assert other.returncode == 1 and "not the expected agent 'billing-bot'" in other.stderr
    assert "Traceback" not in refused.stderr + pinned.stderr + other.stderr
    usage = _nomo("verify", str(main), *verify, "--init-state")
    assert usage.returncode == 2 and "--init-state needs --state" in usage.stderr
