"""The seal stage: bundle contents -> a signed, deterministic bundle archive.

Input: ``GeneratedPolicy`` (the contents) and the request's ``BuildOptions``
(signing keys, revision, validity window). Output: ``SealedBundle`` holding
the archive bytes. The format (manifest, signatures, archive) is the
runtime's, in ``nomotic_dsl.runtime.bundle``: this stage writes exactly what
the runtime verifies, and nothing here runs generated code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from nomotic_dsl._version import __version__
from nomotic_dsl.compiler.generate import BundleContents, GeneratedPolicy
from nomotic_dsl.runtime.bundle.archive import write_archive
from nomotic_dsl.runtime.bundle.errors import BundleError
from nomotic_dsl.runtime.bundle.keys import load_signing_key, write_private_file
from nomotic_dsl.runtime.bundle.manifest import (
    MANIFEST_NAME,
    SIGNATURES_NAME,
    Manifest,
    make_manifest,
)
from nomotic_dsl.runtime.bundle.signing import sign_manifest, signatures_to_bytes

KeySource = SigningKey | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class SealedBundle:
    """The seal stage's output: the bundle bytes, or None when the program has errors."""

    generated: GeneratedPolicy
    data: bytes | None

    @property
    def ok(self) -> bool:
        """True when a bundle was sealed."""
        return self.data is not None


def seal_policy(generated: GeneratedPolicy) -> SealedBundle:
    """Seal the generated contents with the request's keys and manifest options."""
    if generated.contents is None:
        return SealedBundle(generated, None)
    options = generated.lowered.loaded.request.build
    data = assemble_bundle(
        generated.contents,
        list(options.signing_keys),
        revision=options.revision,
        not_before=options.not_before,
        expires=options.expires,
    )
    return SealedBundle(generated, data)


def assemble_bundle(
    contents: BundleContents,
    signing_keys: KeySource | Sequence[KeySource],
    *,
    revision: int = 1,
    not_before: int | None = None,
    expires: int | None = None,
) -> bytes:
    """Seal ``contents``: manifest, signatures, deterministic archive bytes."""
    members = contents.members()
    manifest = make_manifest(
        name=contents.name,
        agents=contents.agents,
        revision=revision,
        not_before=not_before,
        expires=expires,
        compiler_version=__version__,
        members=members,
    )
    manifest_bytes = manifest.to_bytes()
    signatures = sign_manifest(manifest_bytes, signing_keys_from(signing_keys))
    members[MANIFEST_NAME] = manifest_bytes
    members[SIGNATURES_NAME] = signatures_to_bytes(signatures)
    return write_archive(members)


def unsigned_manifest(
    contents: BundleContents,
    *,
    revision: int = 1,
    not_before: int | None = None,
    expires: int | None = None,
) -> Manifest:
    """The manifest a bundle of ``contents`` gets (signatures do not change it)."""
    return make_manifest(
        name=contents.name,
        agents=contents.agents,
        revision=revision,
        not_before=not_before,
        expires=expires,
        compiler_version=__version__,
        members=contents.members(),
    )


def write_bundle_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bundle bytes atomically (temporary file, then rename)."""
    try:
        write_private_file(Path(path), data, 0o644)
    except OSError as exc:
        raise BundleError(f"cannot write bundle {path}: {exc.strerror or exc}") from None


def signing_keys_from(keys: KeySource | Sequence[KeySource]) -> list[SigningKey]:
    """Signing keys given as objects or secret key file paths."""
    items: Sequence[KeySource] = (
        [keys] if isinstance(keys, SigningKey | str | os.PathLike) else keys
    )
    return [key if isinstance(key, SigningKey) else load_signing_key(key) for key in items]
