"""Loading sealed bundles: what is accepted, what is refused, and that refusal runs nothing."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.compiler.seal import assemble_bundle
from nomotic_dsl.ir.canonical import canonical_json
from nomotic_dsl.runtime.bundle import BundleError, load_bundle, load_bundle_bytes
from nomotic_dsl.runtime.bundle import evaluator as evaluator_module
from nomotic_dsl.runtime.bundle.archive import entry_info, read_archive
from nomotic_dsl.runtime.bundle.rollback import RollbackState
from nomotic_dsl.runtime.interpreter import CompiledInvariants, Observation

from .conftest import make_contents, small_specs

NOW = 1_700_000_000
SPECS = "policies/0/specs.json"
EVALUATOR = "policies/0/policy_evaluator.py"


def _observations() -> list[Observation]:
    return [
        Observation(timestamp=NOW + index, action_type=action, target=target)
        for index, (action, target) in enumerate(
            [("read", "a"), ("read", "b"), ("write", "c"), ("write", "a")]
        )
    ]


def test_a_valid_bundle_loads_and_evaluates_like_the_interpreter(
    write_bundle: Callable[..., Path], old_key: SigningKey, marker: Path
) -> None:
    path = write_bundle(make_contents(marker))
    loaded = load_bundle(path, [old_key.verify_key], now=NOW)
    assert marker.read_text() == "imported\n"
    assert loaded.invariants == small_specs()
    assert loaded.contract is None and loaded.manifest.name == "demo-agent"
    reference = CompiledInvariants.compile(small_specs())
    state = {"actions": [o.to_dict() for o in _observations()]}
    assert [r.to_dict() for r in loaded.evaluate(state)] == [
        r.to_dict() for r in reference.evaluate(state)
    ]
    monitor = loaded.monitor()
    statuses = [[r.status for r in monitor.observe(o)] for o in _observations()]
    assert statuses[-1] == ["violated", "violated"]
    assert loaded.module.__file__ == "<bundle:demo-agent>/policies/0/policy_evaluator.py"


def test_two_loads_get_separate_module_namespaces(
    write_bundle: Callable[..., Path], old_key: SigningKey
) -> None:
    path = write_bundle()
    first = load_bundle(path, [old_key.verify_key])
    second = load_bundle(path, [old_key.verify_key])
    assert first.module is not second.module
    assert first.module.__dict__ is not second.module.__dict__


def test_building_twice_gives_identical_bytes(old_key: SigningKey, new_key: SigningKey) -> None:
    first = assemble_bundle(make_contents(), [old_key, new_key], revision=3, expires=NOW + 10)
    second = assemble_bundle(make_contents(), [new_key, old_key], revision=3, expires=NOW + 10)
    assert first == second
    assert first != assemble_bundle(
        make_contents(), [old_key, new_key], revision=4, expires=NOW + 10
    )


def test_a_bundle_signed_by_old_and_new_keys_loads_with_either_trusted(
    write_bundle: Callable[..., Path], old_key: SigningKey, new_key: SigningKey
) -> None:
    path = write_bundle(signing_keys=[old_key, new_key])
    for trusted in ([old_key.verify_key], [new_key.verify_key]):
        assert load_bundle(path, trusted).verified.verified_key_ids
    both = load_bundle(path, [old_key.verify_key, new_key.verify_key])
    assert len(both.verified.verified_key_ids) == 2


def test_an_untrusted_key_is_refused_and_nothing_runs(
    write_bundle: Callable[..., Path], new_key: SigningKey, marker: Path
) -> None:
    path = write_bundle(make_contents(marker))
    with pytest.raises(BundleError, match="no signature from a trusted key"):
        load_bundle(path, [new_key.verify_key])
    assert not marker.exists()


def test_bundle_bytes_load_like_the_file_and_refusal_runs_nothing(
    write_bundle: Callable[..., Path], old_key: SigningKey, new_key: SigningKey, marker: Path
) -> None:
    path = write_bundle(make_contents(marker))
    data = path.read_bytes()
    with pytest.raises(BundleError, match="no signature from a trusted key"):
        load_bundle_bytes(data, [bytes(new_key.verify_key)])
    middle = len(data) // 2
    tampered = data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]
    with pytest.raises(BundleError):
        load_bundle_bytes(tampered, [old_key.verify_key])
    with pytest.raises(BundleError, match="not the expected"):
        load_bundle_bytes(data, [old_key.verify_key], expect_name="another")
    assert not marker.exists()
    loaded = load_bundle_bytes(data, [bytes(old_key.verify_key)], now=NOW)
    assert marker.read_text() == "imported\n"
    assert loaded.digest == load_bundle(path, [old_key.verify_key]).digest


def raw_archive(members: dict[str, bytes]) -> bytes:
    """The bundle encoding of ``members`` without the layout check, to build hostile bundles."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            archive.writestr(entry_info(name), members[name])
    return buffer.getvalue()


def _repack(path: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    members = read_archive(path.read_bytes())
    change(members)
    path.write_bytes(raw_archive(members))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m: m.__setitem__("signatures.json", b"[]"), "no signatures"),
        (lambda m: m.pop("signatures.json"), "no signatures.json"),
        (lambda m: m.pop("sources/policy0.nomo"), "missing member"),
        (lambda m: m.pop("policies/0/policy_evaluator.py"), "missing member"),
        (lambda m: m.__setitem__("sources/extra.nomo", b"rate < 1\n"), "does not list"),
        (lambda m: m.__setitem__("evil.py", b"import os\n"), "not part of the bundle layout"),
        (
            lambda m: m.__setitem__("sources/renamed.nomo", m.pop("sources/policy0.nomo")),
            "missing member",
        ),
        (
            lambda m: m.__setitem__(SPECS, m[SPECS].replace(b"lte", b"gte")),
            "specs.json does not match its SHA-256",
        ),
        (
            lambda m: m.__setitem__(EVALUATOR, m[EVALUATOR] + b"#\n"),
            "policy_evaluator.py is .* bytes, the manifest says",
        ),
        (
            lambda m: m.__setitem__("policies/1/specs.json", m[SPECS]),
            "does not list",
        ),
    ],
    ids=[
        "stripped",
        "no-signature-file",
        "removed-source",
        "removed-evaluator",
        "added-source",
        "added-python",
        "renamed",
        "changed-specs",
        "appended-code",
        "added-policy",
    ],
)
def test_changed_member_sets_are_refused_and_nothing_runs(
    write_bundle: Callable[..., Path],
    old_key: SigningKey,
    marker: Path,
    change: Callable[[dict[str, bytes]], None],
    reason: str,
) -> None:
    path = write_bundle(make_contents(marker))
    _repack(path, change)
    with pytest.raises(BundleError, match=reason):
        load_bundle(path, [old_key.verify_key])
    assert not marker.exists()


def test_flipping_any_single_byte_is_refused_before_any_code_is_compiled(
    write_bundle: Callable[..., Path],
    old_key: SigningKey,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_bundle(make_contents(marker))
    original = path.read_bytes()
    compiled: list[str] = []
    real_compile = evaluator_module.compile_evaluator

    def spy(source: str, filename: str) -> object:
        compiled.append(filename)
        return real_compile(source, filename)

    monkeypatch.setattr(evaluator_module, "compile_evaluator", spy)
    trusted = [old_key.verify_key]
    for position in range(len(original)):
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        path.write_bytes(bytes(tampered))
        with pytest.raises(BundleError):
            load_bundle(path, trusted, now=NOW)
    assert compiled == [] and not marker.exists()
    path.write_bytes(original)
    load_bundle(path, trusted, now=NOW)
    assert len(compiled) == 1 and marker.exists()


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ({"expires": NOW}, "expired at 2023-11-14T22:13:20Z"),
        ({"not_before": NOW + 1}, "not valid before"),
        ({"not_before": NOW - 10, "expires": NOW - 1}, "expired"),
    ],
)
def test_bundles_outside_their_validity_window_are_refused(
    write_bundle: Callable[..., Path],
    old_key: SigningKey,
    marker: Path,
    window: dict[str, int],
    reason: str,
) -> None:
    path = write_bundle(make_contents(marker), **window)
    with pytest.raises(BundleError, match=reason):
        load_bundle(path, [old_key.verify_key], now=NOW)
    assert not marker.exists()


def test_the_validity_window_bounds_are_half_open(
    write_bundle: Callable[..., Path], old_key: SigningKey
) -> None:
    path = write_bundle(not_before=NOW, expires=NOW + 1)
    assert load_bundle(path, [old_key.verify_key], now=NOW).manifest.expires == NOW + 1


def test_a_lower_revision_is_refused_after_a_higher_one_was_accepted(
    write_bundle: Callable[..., Path], old_key: SigningKey, marker: Path, tmp_path: Path
) -> None:
    state = tmp_path / "accepted.json"
    newer = write_bundle(name="v5.nomob", revision=5)
    load_bundle(newer, [old_key.verify_key], rollback=state, initialise_rollback=True)
    older = write_bundle(make_contents(marker), name="v4.nomob", revision=4)
    with pytest.raises(BundleError, match="revision 4 of 'demo-agent' is older than revision 5"):
        load_bundle(older, [old_key.verify_key], rollback=state)
    assert not marker.exists()
    assert RollbackState(state).accepted()["demo-agent"].revision == 5
    load_bundle(newer, [old_key.verify_key], rollback=state)
    other_name = write_bundle(make_contents(name="other-agent"), name="o.nomob", revision=1)
    load_bundle(other_name, [old_key.verify_key], rollback=state)


def test_the_same_revision_with_different_content_is_refused(
    write_bundle: Callable[..., Path], old_key: SigningKey, tmp_path: Path
) -> None:
    state = tmp_path / "accepted.json"
    RollbackState.initialise(state)
    load_bundle(write_bundle(name="a.nomob", revision=2), [old_key.verify_key], rollback=state)
    changed = write_bundle(make_contents(sources=2), name="b.nomob", revision=2)
    with pytest.raises(BundleError, match="already accepted with different content"):
        load_bundle(changed, [old_key.verify_key], rollback=state)


def test_a_corrupt_rollback_state_refuses_instead_of_resetting(
    write_bundle: Callable[..., Path], old_key: SigningKey, tmp_path: Path
) -> None:
    state = tmp_path / "accepted.json"
    state.write_text("{not json")
    with pytest.raises(BundleError, match="cannot be read"):
        load_bundle(write_bundle(), [old_key.verify_key], rollback=state)


def test_specs_that_differ_from_the_module_are_refused(old_key: SigningKey, tmp_path: Path) -> None:
    contents = make_contents()
    policy = contents.policies[0]
    lying = type(contents)(
        name=contents.name,
        policies=(replace(policy, specs=policy.specs[:1]),),
        sources=contents.sources,
    )
    path = tmp_path / "lying.nomob"
    path.write_bytes(assemble_bundle(lying, old_key))
    with pytest.raises(BundleError, match=r"SPECS differ from specs\.json"):
        load_bundle(path, [old_key.verify_key])


def test_a_trusted_signature_that_does_not_verify_is_refused(
    write_bundle: Callable[..., Path], old_key: SigningKey, new_key: SigningKey
) -> None:
    path = write_bundle(signing_keys=[old_key, new_key])

    def break_one(members: dict[str, bytes]) -> None:
        forged = [
            {"key_id": entry["key_id"], "signature": "00" * 64} if index == 0 else entry
            for index, entry in enumerate(json.loads(members["signatures.json"]))
        ]
        members["signatures.json"] = canonical_json(forged)

    _repack(path, break_one)
    with pytest.raises(BundleError, match="does not match the manifest"):
        load_bundle(path, [old_key.verify_key, new_key.verify_key])
