"""Goldens: the exact bytes ``nomo run`` writes, and the generated module text, are pinned.

Decision lines, the hash chain, checkpoints and generated evaluators are
formats others verify byte for byte, so a faster runtime or code generator
must write the very same bytes. Each case records SHA-256 digests (and
counts) of what was written; ``--update-golden`` rewrites them. The traces
are the examples' and one made here from a fixed seed that reaches the
corners of the encoding: non-ASCII and escaped text, errors of every kind,
given drift scores, idle agents and sessions, tiny and whole numbers.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from nomotic_dsl.bench.targets import nomo_text
from nomotic_dsl.cli.main import cli
from nomotic_dsl.compiler.codegen import generate_module
from nomotic_dsl.compiler.generate import bundle_contents
from nomotic_dsl.compiler.pipeline import build_bundle, compile_file, compile_source
from nomotic_dsl.runtime.bundle.keys import verify_key_to_text
from tests.codegen.test_generated_quality import CASES
from tests.conftest import GoldenCheck
from tests.fleet.helpers import FLEET_POLICY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
KEY = SigningKey(bytes(range(32)))
SESSIONS = ("s1", "café", "日本語", 'q"uote', "back\\slash", "tab\tnew\nline", "\u2028sep", "😀")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _seeded_trace(seed: int = 7, count: int = 400) -> list[str]:
    """Lines of three agents, strays and broken lines, from a fixed seed."""
    rng = random.Random(seed)
    clock = 1_712_577_600.0
    lines: list[str] = []
    for _ in range(count):
        clock += rng.choice((0.0, 0.25, 1.0, 7.0, 45.0, 700.0))
        roll = rng.random()
        if roll < 0.04:
            lines.append(rng.choice(("{not json", "[1, 2]", '{"timestamp": 1}', '"text"', "")))
            continue
        line: dict[str, Any] = {
            "timestamp": int(clock) if rng.random() < 0.1 else clock,
            "action_type": rng.choice(("read", "reply", "escalate", "close", "delete", "write")),
            "target": rng.choice(("tickets", "knowledge_base", "prod_database", "wäre-house")),
        }
        agent = rng.choice(("alpha", "beta", "gamma", "alpha", "beta", None, "strängér"))
        if agent is not None:
            line["agent_id"] = agent
        if rng.random() < 0.6:
            line["session_id"] = rng.choice(SESSIONS)
        if rng.random() < 0.5:
            line["outcome"] = rng.choice(("allow", "deny", "escalate"))
        if rng.random() < 0.3:
            line["semantic"] = {
                "refund": rng.choice((0.0, 1e-7, 0.1, 0.5, 0.9, 1.0, 1, 0.3333333333333333))
            }
        if rng.random() < 0.08:
            line["drift"] = {rng.choice(("action", "target", "overall")): rng.choice((0.05, 0.5))}
        if rng.random() < 0.03:
            line["timestamp"] = clock - 5000.0  # earlier than the agent's previous one
        lines.append(json.dumps(line, ensure_ascii=rng.random() < 0.5))
    return lines


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "k.pub").write_text(verify_key_to_text(KEY.verify_key) + "\n", encoding="utf-8")
    return folder / "k.pub"


def _run(bundle: Path, pub: Path, trace: Path, *options: str) -> tuple[bytes, bytes]:
    """Run in the trace's folder, naming it by its file name: text output names the trace."""
    checkpoint = bundle.with_suffix(".checkpoint")
    args = ["run", str(bundle), "--trust", str(pub), "--trace", trace.name, *options]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(trace.parent)
        done = CliRunner().invoke(cli, [*args, "--checkpoint", str(checkpoint)])
    assert done.exit_code in (0, 1), done.output
    return done.stdout_bytes, checkpoint.read_bytes()


def _run_report(bundle: Path, pub: Path, trace: Path, *options: str) -> str:
    lines = []
    for output in ("jsonl", "json", "text"):
        out, checkpoint = _run(bundle, pub, trace, "--format", output, *options)
        lines.append(f"{output}: sha256 {_digest(out)}, {len(out.splitlines())} lines")
        if output == "jsonl":
            lines.append(f"jsonl end record: {out.splitlines()[-1].decode('utf-8')}")
            lines.append(f"checkpoint: sha256 {_digest(checkpoint)}, {len(checkpoint)} bytes")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("example", ["fleet", "customer_support", "data_pipeline"])
def test_nomo_run_bytes_of_the_examples(
    example: str, keys: Path, tmp_path: Path, golden: GoldenCheck
) -> None:
    bundle = tmp_path / "policy.nomob"
    build_bundle(ROOT / "examples" / example / "policy.nomo", KEY, bundle)
    trace = ROOT / "examples" / example / "trace.jsonl"
    golden(_run_report(bundle, keys, trace), GOLDEN / f"run_{example}.txt")


def test_nomo_run_bytes_of_a_seeded_trace(keys: Path, tmp_path: Path, golden: GoldenCheck) -> None:
    policy = tmp_path / "fleet.nomo"
    policy.write_text(FLEET_POLICY, encoding="utf-8")
    bundle = tmp_path / "fleet.nomob"
    build_bundle(policy, KEY, bundle)
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(_seeded_trace()) + "\n", encoding="utf-8")
    options = ("--drift-window", "6", "--min-drift-observations", "3")
    report = _run_report(bundle, keys, trace, *options)
    idle = _run_report(
        bundle, keys, trace, *options, "--agent-idle", "600", "--session-idle", "300"
    )
    golden(report + "with --agent-idle 600 --session-idle 300:\n" + idle, GOLDEN / "run_seeded.txt")


def test_generated_module_text(golden: GoldenCheck) -> None:
    lines = []
    for policy in sorted((ROOT / "examples").glob("*/policy.nomo")):
        result = compile_file(policy)
        assert result.ok, result.render()
        contents = bundle_contents(result.contracts, result.invariants, result.sources, result.root)
        for member in contents.policies:
            source = member.evaluator_source.encode("utf-8")
            name = f"{policy.parent.name}/{member.agent_id}"
            lines.append(f"{name}: sha256 {_digest(source)}, {len(source)} bytes")
    for case, specs in sorted(CASES.items()):
        data = generate_module(specs, module_name=case, source_digest="0").source.encode("utf-8")
        lines.append(f"{case}: sha256 {_digest(data)}, {len(data)} bytes")
    many = compile_source(nomo_text(2_000), "bench.nomo")
    assert many.ok
    source = generate_module(many.invariants, module_name="bench", source_digest="0").source
    data = source.encode("utf-8")
    lines.append(f"2,000 rules: sha256 {_digest(data)}, {len(data)} bytes")
    golden("\n".join(lines) + "\n", GOLDEN / "generated_modules.txt")
