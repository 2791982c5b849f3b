"""The layout holds: no import cycles, and the runtime side never reaches the compiler side.

The import graph is computed from the source (every ``import`` and
``from ... import`` of a ``nomotic_dsl`` module, including function-local
ones and ``importlib.import_module("...")`` with a literal name). Sides:

- ``nomotic_dsl.ir``: the spec IR, the only records that cross; imports only itself;
- ``nomotic_dsl.compiler``: may import the IR and the runtime (for the bundle format);
- ``nomotic_dsl.runtime``: may import the IR; never the compiler, Lark or Jinja2;
- shells (``cli``, ``http``, ...) and the package facade may import anything.

A second test proves the same at run time, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nomotic_dsl"
SHARED = {"nomotic_dsl._version", "nomotic_dsl.resources"}
COMPILER_ONLY_LIBRARIES = ("lark", "jinja2")


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> nomotic_dsl modules it imports, module -> third-party top-level packages)."""
    modules = module_files()
    inner: dict[str, set[str]] = {}
    outer: dict[str, set[str]] = {}
    for module, path in modules.items():
        names = _imported_names(module, path)
        targets = {_resolve(name, modules) for name in names if name.startswith("nomotic_dsl")}
        inner[module] = {target for target in targets if target and target != module}
        outer[module] = {name.split(".")[0] for name in names if not name.startswith("nomotic_dsl")}
    return inner, outer


def side(module: str) -> str:
    if module in SHARED:
        return "shared"
    for name in ("ir", "compiler", "runtime"):
        if module == f"nomotic_dsl.{name}" or module.startswith(f"nomotic_dsl.{name}."):
            return name
    return "shell"


ALLOWED = {
    "shared": {"shared"},
    "ir": {"ir", "shared"},
    "runtime": {"runtime", "ir", "shared"},
    "compiler": {"compiler", "runtime", "ir", "shared"},
    "shell": {"shell", "compiler", "runtime", "ir", "shared"},
}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_computed_from_every_module() -> None:
    inner, _ = import_graph()
    assert "nomotic_dsl.compiler.pipeline" in inner
    assert "nomotic_dsl.compiler.lower" in inner["nomotic_dsl.compiler.pipeline"]
    assert "nomotic_dsl.ir.spec" in inner["nomotic_dsl.runtime.interpreter.measure"]


def test_no_import_cycles() -> None:
    inner, _ = import_graph()
    assert cycles(inner) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_import_goes_down_the_layers() -> None:
    inner, _ = import_graph()
    wrong = sorted(
        f"{module} ({side(module)}) imports {target} ({side(target)})"
        for module, targets in inner.items()
        for target in targets
        if side(target) not in ALLOWED[side(module)]
    )
    assert wrong == []


def test_the_runtime_and_the_ir_never_import_lark_or_jinja2() -> None:
    _, outer = import_graph()
    wrong = sorted(
        f"{module} imports {library}"
        for module, libraries in outer.items()
        if side(module) in ("runtime", "ir")
        for library in libraries
        if library in COMPILER_ONLY_LIBRARIES
    )
    assert wrong == []


RUNTIME_ONLY_SCRIPT = """
import json, sys, tempfile
from pathlib import Path
from nacl.signing import SigningKey

bundle_path, policy_path = sys.argv[1], sys.argv[2]
before = set(sys.modules)
from nomotic_dsl import load_bundle, generate_contract, CompiledInvariants, ContractStore
key = SigningKey(bytes(range(32)))
bundle = load_bundle(bundle_path, [key.verify_key])
monitor = bundle.monitor()
observation = {"timestamp": 1_700_000_000.0, "action_type": "read", "target": "tickets"}
monitor.observe(observation)
bundle.evaluate({"actions": [observation]})
contract = generate_contract("agent-1", "customer-experience")
assert contract.expected_action_distribution, "the prior was read"
store = ContractStore()
store.store(contract)
CompiledInvariants.compile(contract.invariants).evaluate({"actions": [observation]})
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""


def test_running_a_bundle_loads_no_compiler_module(tmp_path: Path) -> None:
    from nacl.signing import SigningKey

    from nomotic_dsl.compiler.pipeline import build_bundle

    key = SigningKey(bytes(range(32)))
    bundle = tmp_path / "support.nomob"
    build_bundle(ROOT / "examples" / "customer_support" / "policy.nomo", key, bundle)
    result = subprocess.run(
        [sys.executable, "-c", RUNTIME_ONLY_SCRIPT, str(bundle), "unused"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert any(name.startswith("nomotic_dsl.runtime.bundle") for name in loaded)
    forbidden = [
        name
        for name in loaded
        if name.split(".")[0] in COMPILER_ONLY_LIBRARIES or name.startswith("nomotic_dsl.compiler")
    ]
    assert forbidden == []


NOMO_RUN_SCRIPT = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from nomotic_dsl.cli.main import main
sys.argv = ["nomo", "run", *sys.argv[1:]]
main()
"""


def test_nomo_run_of_a_bundle_imports_no_compiler_module(tmp_path: Path) -> None:
    """``nomo run`` starts in the runtime's time: commands are imported when they run."""
    from nacl.signing import SigningKey

    from nomotic_dsl.compiler.pipeline import build_bundle
    from nomotic_dsl.runtime.bundle.keys import verify_key_to_text

    key = SigningKey(bytes(range(32)))
    bundle, trust, trace = tmp_path / "support.nomob", tmp_path / "k.pub", tmp_path / "t.jsonl"
    build_bundle(ROOT / "examples" / "customer_support" / "policy.nomo", key, bundle)
    trust.write_text(verify_key_to_text(key.verify_key) + "\n", encoding="utf-8")
    trace.write_text(
        '{"timestamp": 1712577605.0, "action_type": "read", "target": "tickets"}\n',
        encoding="utf-8",
    )
    arguments = [str(bundle), "--trust", str(trust), "--trace", str(trace), "--format", "jsonl"]
    result = subprocess.run(
        [sys.executable, "-c", NOMO_RUN_SCRIPT, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 2  # one decision and the end record
    (listing,) = [line for line in result.stderr.splitlines() if line.startswith("MODULES ")]
    loaded = json.loads(listing.removeprefix("MODULES "))
    assert "nomotic_dsl.cli.fleet" in loaded
    forbidden = [
        name
        for name in loaded
        if name.split(".")[0] in (*COMPILER_ONLY_LIBRARIES, "fastapi", "pygls", "uvicorn")
        or name.startswith(("nomotic_dsl.compiler", "nomotic_dsl.http", "nomotic_dsl.lsp"))
    ]
    assert forbidden == []
