"""Key files: format, permissions, refusal to overwrite, and clear loading errors."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from nomotic_dsl.runtime.bundle.errors import KeyFileError
from nomotic_dsl.runtime.bundle.keys import (
    key_id,
    load_signing_key,
    load_verify_key,
    write_key_pair,
)


def test_key_pair_files_have_the_documented_format(tmp_path: Path) -> None:
    files = write_key_pair(tmp_path / "signer")
    secret_text = files.secret_path.read_text()
    public_text = files.public_path.read_text()
    assert files.secret_path.name == "signer.key" and files.public_path.name == "signer.pub"
    for text in (secret_text, public_text):
        assert text.endswith("\n") and len(text) == 65
        bytes.fromhex(text.strip())
    assert stat.S_IMODE(files.secret_path.stat().st_mode) == 0o600
    signing_key = load_signing_key(files.secret_path)
    verify_key = load_verify_key(files.public_path)
    assert bytes(signing_key.verify_key) == bytes(verify_key)
    assert files.key_id == hashlib.sha256(bytes(verify_key)).hexdigest()[:16] == key_id(verify_key)


def test_existing_key_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    first = write_key_pair(tmp_path / "signer")
    before = first.secret_path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_pair(tmp_path / "signer")
    assert first.secret_path.read_bytes() == before
    second = write_key_pair(tmp_path / "signer", force=True)
    assert second.secret_path.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signer.key", "signer.pub"]


def test_a_public_key_where_a_secret_key_is_expected_is_named(tmp_path: Path) -> None:
    files = write_key_pair(tmp_path / "signer")
    with pytest.raises(KeyFileError, match="public key file"):
        load_signing_key(files.public_path)
    with pytest.raises(KeyFileError, match="secret key file"):
        load_verify_key(files.secret_path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [("abcd\n", "expected 64 hex characters, found 4"), ("zz" * 32 + "\n", "not a hex string")],
)
def test_malformed_key_files_are_refused_without_echoing_them(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    with pytest.raises(KeyFileError, match=reason) as caught:
        load_signing_key(path)
    assert content.strip() not in str(caught.value)


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_verify_key(tmp_path / "absent.pub")
