"""Ed25519 key files for sealing bundles and contracts (PyNaCl).

Input: a key file path or key bytes. Output: ``SigningKey`` / ``VerifyKey``
objects, key ids, and key files written safely. Stage: sealed bundle (also used
by contract sealing).

File format, one line of lowercase hex plus a newline:
- secret key file (``PREFIX.key``): the 32-byte Ed25519 seed, 64 hex chars,
  written with mode 0600 atomically, never over an existing file unless forced;
- public key file (``PREFIX.pub``): the 32-byte verify key, 64 hex chars.

Both files have the same length, so a comment-free format cannot tell them
apart by shape alone; the loaders therefore look at the file name suffix and
refuse a ``.pub`` where a secret key is expected (and a ``.key`` where a public
key is expected). Secret bytes never appear in an error message.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from nomotic_dsl.runtime.bundle.errors import KeyFileError

SECRET_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
KEY_HEX_LENGTH = 64
KEY_ID_LENGTH = 16
# A key file is one short line; anything larger is refused before it is read.
MAX_KEY_FILE_BYTES = 4096
_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class KeyPairFiles:
    """Where ``write_key_pair`` put a new key pair, and its key id."""

    secret_path: Path
    public_path: Path
    key_id: str


def key_id(verify_key: VerifyKey) -> str:
    """First 16 hex chars of sha256 over the 32 verify-key bytes."""
    return hashlib.sha256(bytes(verify_key)).hexdigest()[:KEY_ID_LENGTH]


def generate_signing_key() -> SigningKey:
    """A fresh random Ed25519 signing key."""
    return SigningKey.generate()


def signing_key_to_text(signing_key: SigningKey) -> str:
    """The secret key file content: seed hex plus newline."""
    return bytes(signing_key).hex() + "\n"


def verify_key_to_text(verify_key: VerifyKey) -> str:
    """The public key file content: verify key hex plus newline."""
    return bytes(verify_key).hex() + "\n"


def parse_key_hex(text: str, what: str) -> bytes:
    """Decode one line of 64 hex chars; the message never quotes the content."""
    stripped = text.strip()
    if len(stripped) != KEY_HEX_LENGTH:
        raise KeyFileError(
            f"{what}: expected {KEY_HEX_LENGTH} hex characters, found {len(stripped)} "
            "(a key file is one line of hex)"
        )
    if not _KEY_HEX.fullmatch(stripped):
        raise KeyFileError(
            f"{what}: not a hex string (expected {KEY_HEX_LENGTH} characters 0-9, a-f)"
        )
    return bytes.fromhex(stripped)


def signing_key_from_text(text: str, what: str = "secret key") -> SigningKey:
    """A signing key from secret key file content."""
    seed = parse_key_hex(text, what)
    try:
        return SigningKey(seed)
    except (CryptoError, ValueError, TypeError):
        raise KeyFileError(f"{what}: not a usable Ed25519 secret key") from None


def verify_key_from_text(text: str, what: str = "public key") -> VerifyKey:
    """A verify key from public key file content."""
    raw = parse_key_hex(text, what)
    try:
        return VerifyKey(raw)
    except (CryptoError, ValueError, TypeError):
        raise KeyFileError(f"{what}: not a usable Ed25519 public key") from None


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Read a secret key file (``.key``); a ``.pub`` file is refused by name."""
    key_path = Path(path)
    if key_path.suffix == PUBLIC_SUFFIX:
        raise KeyFileError(
            f"{key_path}: this is a public key file ({PUBLIC_SUFFIX}); "
            f"signing needs the secret key file ({SECRET_SUFFIX})"
        )
    return signing_key_from_text(_read_key_file(key_path, "secret key"), f"{key_path}")


def load_verify_key(path: str | os.PathLike[str]) -> VerifyKey:
    """Read a public key file (``.pub``); a ``.key`` file is refused by name."""
    key_path = Path(path)
    if key_path.suffix == SECRET_SUFFIX:
        raise KeyFileError(
            f"{key_path}: this is a secret key file ({SECRET_SUFFIX}); "
            f"trust the public key file ({PUBLIC_SUFFIX}) instead"
        )
    return verify_key_from_text(_read_key_file(key_path, "public key"), f"{key_path}")


def load_verify_keys(paths: list[str] | list[Path] | tuple[Path, ...]) -> tuple[VerifyKey, ...]:
    """Read several public key files, in the order given."""
    return tuple(load_verify_key(path) for path in paths)


def write_key_pair(prefix: str | os.PathLike[str], *, force: bool = False) -> KeyPairFiles:
    """Generate a key pair and write ``PREFIX.key`` (0600) and ``PREFIX.pub``.

    Refuses to replace either file unless ``force``; both are written through a
    temporary file and an atomic rename, so a crash never leaves half a key.
    """
    base = Path(prefix)
    secret_path = base.with_name(base.name + SECRET_SUFFIX)
    public_path = base.with_name(base.name + PUBLIC_SUFFIX)
    if not force:
        for existing in (secret_path, public_path):
            if existing.exists():
                raise KeyFileError(f"{existing} already exists (use --force to replace it)")
    signing_key = generate_signing_key()
    write_private_file(secret_path, signing_key_to_text(signing_key).encode("ascii"), 0o600)
    write_private_file(
        public_path, verify_key_to_text(signing_key.verify_key).encode("ascii"), 0o644
    )
    return KeyPairFiles(secret_path, public_path, key_id(signing_key.verify_key))


def write_private_file(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` atomically with ``mode`` set before any byte lands."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        _remove_quietly(temp_name)
        raise


def _read_key_file(path: Path, what: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise KeyFileError(f"{path}: a {what} file must be a regular file")
        raw = os.read(fd, MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: a {what} file is one line of hex, not {len(raw)}+ bytes")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: {what} file is not ASCII hex") from None


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        return
