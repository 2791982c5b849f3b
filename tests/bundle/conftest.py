"""Shared fixtures for bundle tests: keys, hand-made specs and a stand-in evaluator.

The stand-in evaluator is ordinary Python written here (never in the package)
that offers what a generated module offers (SPECS, evaluate, Monitor) by
calling the reference interpreter. When given a marker path, importing it
writes that file, which is how the tamper tests prove nothing ran.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.compiler.generate import BundleContents, PolicyContents
from nomotic_dsl.compiler.seal import assemble_bundle
from nomotic_dsl.ir import BehavioralContract, InvariantBuilder, InvariantSpec

STAND_IN_TEMPLATE = '''\
"""Stand-in for a generated evaluator (tests only)."""
from nomotic_dsl.runtime.interpreter import BehavioralState, CompiledInvariants, coerce_state
MARKER = {marker!r}
if MARKER:
    with open(MARKER, "a", encoding="utf-8") as _marker:
        _marker.write("imported\\n")
SPECS = {specs!r}
_COMPILED = CompiledInvariants.compile(SPECS)


def evaluate(state):
    return _COMPILED.evaluate(coerce_state(state))


class Monitor:
    def __init__(self):
        self._actions = []
        self._drift = None

    def set_drift(self, scores):
        self._drift = scores

    def observe(self, observation):
        self._actions.append(observation)
        return _COMPILED.evaluate(BehavioralState(actions=tuple(self._actions), drift=self._drift))
'''


def small_specs() -> tuple[InvariantSpec, ...]:
    """Two invariants: at most 2 distinct targets over 3 actions; writes under half of reads."""
    return (
        InvariantBuilder("few-targets").count("distinct_targets").lte(2).window(3).build(),
        InvariantBuilder("write-read").ratio("write", "read").lt(0.5).build(),
    )


def stand_in_source(specs: tuple[InvariantSpec, ...], marker: Path | None = None) -> str:
    """Evaluator source carrying ``specs``; writes ``marker`` when imported."""
    return STAND_IN_TEMPLATE.format(
        marker=str(marker) if marker else "", specs=[spec.to_dict() for spec in specs]
    )


def make_contents(
    marker: Path | None = None,
    *,
    name: str = "demo-agent",
    sources: int = 1,
    agent: str | None = None,
) -> BundleContents:
    """Contents of a small bundle: no contract, or a contract for ``agent`` carrying the specs."""
    specs = small_specs()
    contract = (
        None
        if agent is None
        else BehavioralContract(agent_id=agent, invariants=[s.to_dict() for s in specs]).to_dict()
    )
    return BundleContents(
        name=name,
        policies=(PolicyContents(agent, contract, specs, stand_in_source(specs, marker)),),
        sources=tuple(
            (f"policy{index}.nomo", "count distinct_targets <= 2 over 3 actions\n")
            for index in range(sources)
        ),
    )


@pytest.fixture(scope="session")
def old_key() -> SigningKey:
    return SigningKey(bytes(range(32)))


@pytest.fixture(scope="session")
def new_key() -> SigningKey:
    return SigningKey(bytes(range(32, 64)))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "evaluator-imported.marker"


@pytest.fixture
def write_bundle(tmp_path: Path, old_key: SigningKey) -> Callable[..., Path]:
    """Build a bundle file in tmp_path; keyword arguments go to assemble_bundle."""

    def write(
        contents: BundleContents | None = None, name: str = "b.nomob", **options: object
    ) -> Path:
        options.setdefault("signing_keys", old_key)
        keys = options.pop("signing_keys")
        data = assemble_bundle(contents or make_contents(), keys, **options)  # type: ignore[arg-type]
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write
