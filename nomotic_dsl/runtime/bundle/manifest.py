"""The bundle manifest: what a bundle claims to hold, and the bytes that get signed.

Input: member contents and bundle metadata (or manifest bytes read back).
Output: a frozen ``Manifest`` and its canonical JSON bytes. Stage: sealed bundle.

Format 2 (``nomo-bundle/2``) holds one or more *policies*: policy ``i`` is the
three members ``policies/<i>/contract.json``, ``policies/<i>/specs.json`` and
``policies/<i>/policy_evaluator.py``. The manifest's ``agents`` lists the
agent ids of the contracts, sorted, and policy ``i`` is the contract of
``agents[i]``; a bundle without a contract has ``agents`` empty and exactly
one policy (``policies/0/``) whose ``contract.json`` is ``null``.
``agent_id`` is the only agent's id when there is exactly one, else null.

The manifest is canonical JSON (``nomotic_dsl.ir.canonical``): keys sorted, no
whitespace, so one manifest has exactly one byte form and a signature over
those bytes covers its meaning. A manifest read back that is not in canonical
form is refused, because two byte forms of one manifest would let a bundle
change without its digest changing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nomotic_dsl.ir.agent_id import AgentIdError, check_agent_id
from nomotic_dsl.ir.canonical import canonical_json, has_lone_surrogate
from nomotic_dsl.runtime.bundle.errors import BundleError

FORMAT_VERSION = "nomo-bundle/2"
MANIFEST_NAME = "manifest.json"
SIGNATURES_NAME = "signatures.json"
# The three files of one policy, under policies/<index>/.
CONTRACT_NAME = "contract.json"
SPECS_NAME = "specs.json"
EVALUATOR_NAME = "policy_evaluator.py"
POLICY_FILES: tuple[str, ...] = (CONTRACT_NAME, EVALUATOR_NAME, SPECS_NAME)
POLICIES_DIR = "policies/"
SOURCES_DIR = "sources/"
# At most this many contracts in one bundle (three members each).
MAX_POLICIES = 256

_MANIFEST_KEYS = frozenset(
    {
        "format",
        "name",
        "agent_id",
        "agents",
        "revision",
        "not_before",
        "expires",
        "compiler_version",
        "source_digest",
        "members",
    }
)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
# Revisions and times are signed 64-bit integers: any larger number is refused
# before it is compared or printed.
MAX_REVISION = 2**63 - 1
MAX_TIME = 2**63 - 1
# Envelope and member JSON nests a few levels deep; deeper is refused before
# any code walks it.
MAX_JSON_DEPTH = 64
_MAX_MEMBER_ENTRIES = 1024
_MAX_MEMBER_NAME = 512
_MAX_SHORT_TEXT = 128


def policy_member(index: int, file: str) -> str:
    """The member name of one of policy ``index``'s files: ``policies/<index>/<file>``."""
    return f"{POLICIES_DIR}{index}/{file}"


def policy_members(count: int) -> tuple[str, ...]:
    """Every member name of ``count`` policies, policy by policy."""
    return tuple(policy_member(index, file) for index in range(count) for file in POLICY_FILES)


@dataclass(frozen=True, slots=True)
class MemberDigest:
    """The SHA-256 (hex) and size in bytes of one member."""

    sha256: str
    size: int

    @classmethod
    def of(cls, content: bytes) -> MemberDigest:
        """Digest a member's content."""
        return cls(hashlib.sha256(content).hexdigest(), len(content))

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"sha256": ..., "size": ...}``."""
        return {"sha256": self.sha256, "size": self.size}


@dataclass(frozen=True, slots=True)
class Manifest:
    """Bundle metadata and the digest of every member except signatures.json."""

    name: str
    agent_id: str | None
    revision: int
    not_before: int | None
    expires: int | None
    compiler_version: str
    source_digest: str
    members: tuple[tuple[str, MemberDigest], ...]
    # Agent ids of the bundle's contracts, sorted; empty for a bundle without one.
    agents: tuple[str, ...] = ()
    format: str = FORMAT_VERSION

    @property
    def policy_count(self) -> int:
        """How many policies the bundle holds: one per contract, or one without a contract."""
        return max(1, len(self.agents))

    def required_members(self) -> tuple[str, ...]:
        """The policy members the manifest must list (``sources/`` members come on top)."""
        return policy_members(self.policy_count)

    def member_names(self) -> tuple[str, ...]:
        """Names of the listed members, sorted."""
        return tuple(name for name, _ in self.members)

    def digest_of(self, name: str) -> MemberDigest | None:
        """The listed digest of a member, or None when the manifest does not list it."""
        return dict(self.members).get(name)

    def source_names(self) -> tuple[str, ...]:
        """The listed ``sources/`` members, sorted."""
        return tuple(name for name in self.member_names() if name.startswith(SOURCES_DIR))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as stored in manifest.json."""
        return {
            "format": self.format,
            "name": self.name,
            "agent_id": self.agent_id,
            "agents": list(self.agents),
            "revision": self.revision,
            "not_before": self.not_before,
            "expires": self.expires,
            "compiler_version": self.compiler_version,
            "source_digest": self.source_digest,
            "members": {name: digest.to_dict() for name, digest in self.members},
        }

    def to_bytes(self) -> bytes:
        """The canonical bytes: what manifest.json holds and what signatures cover."""
        return canonical_json(self.to_dict())

    def sha256(self) -> str:
        """SHA-256 of the canonical bytes; identifies this exact manifest."""
        return hashlib.sha256(self.to_bytes()).hexdigest()


def make_manifest(
    *,
    name: str,
    agents: tuple[str, ...] | list[str],
    revision: int,
    not_before: int | None,
    expires: int | None,
    compiler_version: str,
    members: Mapping[str, bytes],
) -> Manifest:
    """Describe ``members`` (name -> content); checks the metadata like a read-back would."""
    digests = tuple((member, MemberDigest.of(members[member])) for member in sorted(members))
    agent_ids = tuple(agents)
    manifest = Manifest(
        name=name,
        agent_id=agent_ids[0] if len(agent_ids) == 1 else None,
        agents=agent_ids,
        revision=revision,
        not_before=not_before,
        expires=expires,
        compiler_version=compiler_version,
        source_digest=sources_digest(members),
        members=digests,
    )
    _check_metadata(manifest.to_dict())
    return manifest


def sources_digest(members: Mapping[str, bytes]) -> str:
    """One digest over every source member, names and contents, in name order."""
    hasher = hashlib.sha256()
    for member in sorted(members):
        if member.startswith(SOURCES_DIR):
            hasher.update(canonical_json([member, hashlib.sha256(members[member]).hexdigest()]))
    return hasher.hexdigest()


def parse_manifest(content: bytes) -> Manifest:
    """Read manifest.json back; refuse anything malformed or not in canonical form."""
    data = load_json_member(content, MANIFEST_NAME)
    if not isinstance(data, dict):
        raise BundleError(f"{MANIFEST_NAME} must be a JSON object")
    _check_metadata(data)
    manifest = Manifest(
        format=data["format"],
        name=data["name"],
        agent_id=data["agent_id"],
        agents=tuple(data["agents"]),
        revision=data["revision"],
        not_before=data["not_before"],
        expires=data["expires"],
        compiler_version=data["compiler_version"],
        source_digest=data["source_digest"],
        members=_parse_members(data["members"]),
    )
    if manifest.to_bytes() != content:
        raise BundleError(f"{MANIFEST_NAME} is not in canonical form")
    return manifest


def load_json_member(content: bytes, name: str) -> Any:
    """Parse a bundle member's JSON; every way it can be malformed is a BundleError.

    Refused: bytes that are not UTF-8, text that is not JSON, integers past
    Python's digit limit, nesting deeper than ``MAX_JSON_DEPTH`` (checked on
    the text first, so no parser or later walk ever recurses that deep), and
    strings holding lone surrogates (``"\\ud800"``), which no UTF-8 form has.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{name} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    depth = json_text_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise BundleError(f"{name} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text)
    except RecursionError:
        raise BundleError(f"{name} nests too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and the int digit limit
        raise BundleError(f"{name} is not valid JSON: {exc}") from None
    if has_lone_surrogate(value):
        raise BundleError(f"{name} holds a string with a lone surrogate (not valid Unicode)")
    return value


def json_text_depth(text: str) -> int:
    """The deepest bracket nesting of JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_metadata(data: Mapping[str, Any]) -> None:
    keys = set(data)
    if keys != _MANIFEST_KEYS:
        missing = sorted(_MANIFEST_KEYS - keys)
        unknown = sorted(keys - _MANIFEST_KEYS)
        raise BundleError(
            f"{MANIFEST_NAME} fields are wrong (missing: {', '.join(missing) or 'none'}; "
            f"unknown: {', '.join(unknown) or 'none'})"
        )
    _require(
        isinstance(data["format"], str) and _short_text(data["format"]),
        f"format must be a string of at most {_MAX_SHORT_TEXT} printable ASCII characters",
    )
    _require(
        isinstance(data["name"], str) and bool(_NAME.fullmatch(data["name"])),
        f"name {data['name']!r} must be 1-128 characters of letters, digits, . _ : @ -",
    )
    agent_id = data["agent_id"]
    if agent_id is not None:
        try:
            check_agent_id(agent_id)
        except AgentIdError as exc:
            raise BundleError(f"{MANIFEST_NAME}: agent_id: {exc}") from None
    _require(
        agent_id is None or isinstance(agent_id, str),
        "agent_id must be a string or null",
    )
    _check_agents(data["agents"], agent_id)
    _require(
        _is_whole(data["revision"]) and 0 <= data["revision"] <= MAX_REVISION,
        f"revision must be a whole number from 0 to {MAX_REVISION}",
    )
    for field_name in ("not_before", "expires"):
        value = data[field_name]
        _require(
            value is None or (_is_whole(value) and 0 <= value <= MAX_TIME),
            f"{field_name} must be Unix seconds (a whole number from 0 to {MAX_TIME}) or null",
        )
    if data["not_before"] is not None and data["expires"] is not None:
        _require(data["not_before"] < data["expires"], "not_before must be earlier than expires")
    _require(
        isinstance(data["compiler_version"], str)
        and bool(data["compiler_version"])
        and _short_text(data["compiler_version"]),
        f"compiler_version must be a non-empty string of at most {_MAX_SHORT_TEXT} printable "
        "ASCII characters",
    )
    _require(
        isinstance(data["source_digest"], str)
        and bool(_SHA256_HEX.fullmatch(data["source_digest"])),
        "source_digest must be 64 lowercase hex characters",
    )


def _check_agents(agents: Any, agent_id: Any) -> None:
    _require(isinstance(agents, list), "agents must be a list of agent ids")
    _require(
        len(agents) <= MAX_POLICIES,
        f"agents lists {len(agents)} contracts, more than the {MAX_POLICIES} a bundle may hold",
    )
    for index, agent in enumerate(agents):
        _require(isinstance(agent, str), f"agents[{index}] must be a string")
        try:
            check_agent_id(agent)
        except AgentIdError as exc:
            raise BundleError(f"{MANIFEST_NAME}: agents[{index}]: {exc}") from None
    _require(agents == sorted(set(agents)), "agents must be sorted and distinct")
    expected = agents[0] if len(agents) == 1 else None
    _require(
        agent_id == expected,
        "agent_id must be the only agent's id when agents lists exactly one, else null",
    )


def _parse_members(raw: Any) -> tuple[tuple[str, MemberDigest], ...]:
    _require(isinstance(raw, dict), "members must be an object")
    _require(
        len(raw) <= _MAX_MEMBER_ENTRIES, f"members lists more than {_MAX_MEMBER_ENTRIES} entries"
    )
    members: list[tuple[str, MemberDigest]] = []
    for name in sorted(raw):
        _require(
            len(name) <= _MAX_MEMBER_NAME and name.isascii() and name.isprintable(),
            f"member names must be printable ASCII of at most {_MAX_MEMBER_NAME} characters "
            f"(found {name[:40]!r})",
        )
        entry = raw[name]
        _require(
            isinstance(entry, dict) and set(entry) == {"sha256", "size"},
            f"members[{name!r}] must have exactly sha256 and size",
        )
        _require(
            isinstance(entry["sha256"], str) and bool(_SHA256_HEX.fullmatch(entry["sha256"])),
            f"members[{name!r}].sha256 must be 64 lowercase hex characters",
        )
        _require(
            _is_whole(entry["size"]) and 0 <= entry["size"] <= MAX_TIME,
            f"members[{name!r}].size must be a whole number from 0 to {MAX_TIME}",
        )
        members.append((name, MemberDigest(entry["sha256"], entry["size"])))
    return tuple(members)


def _short_text(value: str) -> bool:
    return len(value) <= _MAX_SHORT_TEXT and value.isascii() and value.isprintable()


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BundleError(f"{MANIFEST_NAME}: {message}")
