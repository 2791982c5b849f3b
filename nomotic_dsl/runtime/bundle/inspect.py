"""What a bundle holds, for people and pipelines, without running any of it.

Input: a bundle file and, optionally, trusted verify keys. Output: a JSON-clean
description (members, digests, signatures, revision, validity, contract
summary, invariants) and its text rendering. Stage: bundle tooling behind
``nomo inspect``. The generated module is shown by digest and size only; it is
never compiled, let alone run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from nacl.signing import VerifyKey

from nomotic_dsl.runtime.bundle.archive import read_archive
from nomotic_dsl.runtime.bundle.errors import BundleError, refusing_malformed
from nomotic_dsl.runtime.bundle.keys import key_id
from nomotic_dsl.runtime.bundle.loader import TrustSource, read_bundle_file, trusted_keys_from
from nomotic_dsl.runtime.bundle.manifest import Manifest
from nomotic_dsl.runtime.bundle.signing import ManifestSignature, verify_signatures
from nomotic_dsl.runtime.bundle.verify import (
    VerifiedPolicy,
    check_digests,
    check_member_set,
    format_time,
    read_envelope,
    read_policies,
)

_CONTRACT_SUMMARY_FIELDS = ("agent_id", "version", "archetype", "certificate_id", "contract_id")


def describe_bundle(
    path: str | os.PathLike[str], trusted_keys: Iterable[TrustSource] = ()
) -> dict[str, Any]:
    """Check structure and digests, then describe the bundle; signatures checked if keys given."""
    data = read_bundle_file(path)
    with refusing_malformed("bundle"):
        return _describe(data, trusted_keys)


def _describe(data: bytes, trusted_keys: Iterable[TrustSource]) -> dict[str, Any]:
    members = read_archive(data)
    manifest, signatures = read_envelope(members)
    check_member_set(manifest, members)
    check_digests(manifest, members)
    trusted = trusted_keys_from(list(trusted_keys))
    policies = [_policy(policy) for policy in read_policies(manifest, members)]
    only = policies[0] if len(policies) == 1 else None
    return {
        "name": manifest.name,
        "agent_id": manifest.agent_id,
        "agents": list(manifest.agents),
        "revision": manifest.revision,
        "format": manifest.format,
        "compiler_version": manifest.compiler_version,
        "source_digest": manifest.source_digest,
        "manifest_sha256": manifest.sha256(),
        "validity": _validity(manifest),
        "members": [
            {"name": name, "sha256": digest.sha256, "size": digest.size}
            for name, digest in manifest.members
        ],
        "signatures": _signatures(manifest, signatures, trusted),
        # The only policy's contract and invariants; null when the bundle holds several.
        "contract": None if only is None else only["contract"],
        "invariants": None if only is None else only["invariants"],
        "policies": policies,
    }


def _policy(policy: VerifiedPolicy) -> dict[str, Any]:
    return {
        "agent_id": policy.agent_id,
        "directory": policy.member("").rstrip("/"),
        "contract": _contract_summary(policy.contract),
        "invariants": [spec.to_dict() for spec in policy.specs],
    }


def render_description(description: Mapping[str, Any]) -> str:
    """The text form of ``describe_bundle``."""
    validity = description["validity"]
    lines = [
        f"bundle {description['name']} revision {description['revision']} "
        f"({description['format']}, compiler {description['compiler_version']})",
        f"valid from {validity['not_before_time'] or 'any time'} "
        f"until {validity['expires_time'] or 'no expiry'}",
        "members:",
        *(f"  {m['sha256']}  {m['size']:>8}  {m['name']}" for m in description["members"]),
        "signatures:",
        *(f"  key {s['key_id']}: {s['status']}" for s in description["signatures"]),
    ]
    several = len(description["policies"]) > 1
    if several:
        lines.append(f"contracts ({len(description['policies'])}):")
    for policy in description["policies"]:
        indent = "  " if several else ""
        contract = policy["contract"]
        lines.append(
            f"{indent}contract: none"
            if contract is None
            else f"{indent}contract: "
            + ", ".join(f"{field}={contract[field]}" for field in contract)
        )
        lines.append(f"{indent}invariants ({len(policy['invariants'])}):")
        lines.extend(
            f"{indent}  {spec['invariant_id']}: "
            f"{spec['description'] or spec['type'] + ' ' + spec['metric']}"
            for spec in policy["invariants"]
        )
    return "\n".join(lines)


def _validity(manifest: Manifest) -> dict[str, Any]:
    return {
        "not_before": manifest.not_before,
        "expires": manifest.expires,
        "not_before_time": None
        if manifest.not_before is None
        else format_time(manifest.not_before),
        "expires_time": None if manifest.expires is None else format_time(manifest.expires),
    }


def _signatures(
    manifest: Manifest, signatures: tuple[ManifestSignature, ...], trusted: list[VerifyKey]
) -> list[dict[str, str]]:
    by_id = {key_id(key): key for key in trusted}
    described = []
    for signature in signatures:
        key = by_id.get(signature.key_id)
        if key is None:
            status = "not checked (key not trusted here)"
        else:
            try:
                verify_signatures(manifest.to_bytes(), (signature,), [key])
                status = "verified"
            except BundleError:
                status = "INVALID"
        described.append({"key_id": signature.key_id, "status": status})
    return described


def _contract_summary(contract: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if contract is None:
        return None
    summary = {
        field: contract.get(field) for field in _CONTRACT_SUMMARY_FIELDS if field in contract
    }
    summary["invariants"] = len(contract.get("invariants") or ())
    return summary
