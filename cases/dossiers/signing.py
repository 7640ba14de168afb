"""The corps' Ed25519 signing keys: made outside the database, rotated, published, used.

The key directory (EJ_SIGNING_KEY_DIR) holds one private key per `<key id>.pem` (PKCS#8,
mode 0600) and `keys.json`, the public record of every key with its validity. Rotation makes a
new key and closes the old one's validity; the old public key stays published, so a dossier
signed while it was valid still verifies. A key id is the first 16 hex digits of the SHA-256
of the raw public key.

What is signed: the exact bytes of manifest.json, which lists every other file with its
SHA-256 and names the signer, the key and the signing time in its `signed_by` block. The
signature travels beside it in manifest.sig.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
REGISTRY = "keys.json"
SIGNATURE = "manifest.sig"


class SigningKeyError(Exception):
    """No usable signing key, or a key directory that cannot be read."""


@dataclass(frozen=True)
class PublicKey:
    """A published key: who it signs for and when it was valid."""

    key_id: str
    public_key: str  # base64 of the 32 raw bytes
    signer: str
    valid_from: datetime
    valid_until: datetime | None

    def as_json(self) -> dict[str, Any]:
        """The key as `GET /api/v1/dossiers/signing-keys` and keys.json give it."""
        return {
            "key_id": self.key_id,
            "algorithm": ALGORITHM,
            "public_key": self.public_key,
            "public_key_pem": public_pem(self),
            "signer": self.signer,
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until) if self.valid_until else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PublicKey:
        """Read one published key; raise SigningKeyError when it is not one."""
        try:
            if raw.get("algorithm", ALGORITHM) != ALGORITHM:
                raise ValueError(f"algorithm {raw.get('algorithm')} is not {ALGORITHM}")
            until = raw.get("valid_until")
            return cls(
                key_id=str(raw["key_id"]),
                public_key=str(raw["public_key"]),
                signer=str(raw.get("signer") or "?"),
                valid_from=_parse(raw["valid_from"]),
                valid_until=_parse(until) if until else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SigningKeyError(f"not a published signing key: {exc}") from exc

    def valid_at(self, moment: datetime) -> bool:
        """Whether the key was the one in use at that moment."""
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def verifier(self) -> Ed25519PublicKey:
        """The cryptography object that checks signatures."""
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(self.public_key))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def key_id_of(public: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _registry(key_dir: Path) -> list[PublicKey]:
    path = key_dir / REGISTRY
    if not path.is_file():
        return []
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SigningKeyError(f"{path} cannot be read: {exc}") from exc
    return [PublicKey.from_json(entry) for entry in document.get("keys", [])]


def _write_registry(key_dir: Path, keys: list[PublicKey]) -> None:
    body = orjson.dumps({"keys": [k.as_json() for k in keys]}, option=orjson.OPT_INDENT_2)
    temporary = key_dir / f".{REGISTRY}.tmp"
    temporary.write_bytes(body + b"\n")
    temporary.replace(key_dir / REGISTRY)


@contextlib.contextmanager
def _locked(key_dir: Path) -> Iterator[None]:
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (key_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def published_keys(key_dir: Path) -> list[PublicKey]:
    """Every key the corps ever signed with, newest first."""
    return sorted(_registry(key_dir), key=lambda k: k.valid_from, reverse=True)


def init_key(
    key_dir: Path, signer: str, *, rotate: bool = False, now: datetime | None = None
) -> PublicKey:
    """Make a new signing key; with rotate, close the current key's validity at this moment."""
    now = now or datetime.now(UTC)
    with _locked(key_dir):
        keys = _registry(key_dir)
        current = [k for k in keys if k.valid_until is None]
        if current and not rotate:
            raise SigningKeyError(
                f"a signing key exists already ({current[0].key_id}); "
                "rotate it with `corps keys init --rotate`"
            )
        private = Ed25519PrivateKey.generate()
        key_id = key_id_of(private.public_key())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(key_dir / f"{key_id}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as fh:
            fh.write(pem)
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        new = PublicKey(key_id, base64.b64encode(raw).decode(), signer, now, None)
        closed = [
            PublicKey(k.key_id, k.public_key, k.signer, k.valid_from, k.valid_until or now)
            for k in keys
        ]
        _write_registry(key_dir, [*closed, new])
        return new


@dataclass(frozen=True)
class Signer:
    """The key a build signs with."""

    key: PublicKey
    private: Ed25519PrivateKey

    def signed_by(self, at: datetime) -> dict[str, Any]:
        """The manifest's `signed_by` block: covered by the signature itself."""
        return {
            "algorithm": ALGORITHM,
            "key_id": self.key.key_id,
            "signer": self.key.signer,
            "signed_at": _iso(at),
        }

    def sign(self, manifest: bytes) -> bytes:
        """manifest.sig: the signature over the exact manifest.json bytes."""
        signature = base64.b64encode(self.private.sign(manifest)).decode()
        return orjson.dumps(
            {
                "algorithm": ALGORITHM,
                "key_id": self.key.key_id,
                "signed_file": "manifest.json",
                "signature": signature,
            },
            option=orjson.OPT_INDENT_2,
        )


def current_signer(key_dir: Path, *, make_if_missing: str | None = None) -> Signer:
    """The key in use; make_if_missing (a signer name) makes one where none exists (dev, test)."""
    current = [k for k in _registry(key_dir) if k.valid_until is None]
    if not current and make_if_missing is not None:
        with contextlib.suppress(SigningKeyError):  # another process made it first
            init_key(key_dir, make_if_missing)
        current = [k for k in _registry(key_dir) if k.valid_until is None]
    if not current:
        raise SigningKeyError(
            f"the corps has no signing key in {key_dir}; an administrator runs `corps keys init`"
        )
    key = current[0]
    try:
        private = serialization.load_pem_private_key(
            (key_dir / f"{key.key_id}.pem").read_bytes(), password=None
        )
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"the private key {key.key_id} cannot be read: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey) or key_id_of(private.public_key()) != key.key_id:
        raise SigningKeyError(f"{key.key_id}.pem is not the key keys.json publishes")
    return Signer(key, private)


@dataclass(frozen=True)
class SignatureCheck:
    """What checking manifest.sig found."""

    ok: bool
    reason: str
    signer: str | None = None
    key_id: str | None = None
    signed_at: str | None = None


def check_signature(
    manifest_bytes: bytes, signature_bytes: bytes | None, keys: list[PublicKey]
) -> SignatureCheck:
    """Check manifest.sig against the given public keys, with a reason a person can act on."""
    if signature_bytes is None:
        return SignatureCheck(False, f"the bundle is not signed ({SIGNATURE} is missing)")
    try:
        sig = orjson.loads(signature_bytes)
        signature = base64.b64decode(sig["signature"], validate=True)
        key_id = str(sig["key_id"])
        signed_by = orjson.loads(manifest_bytes).get("signed_by") or {}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return SignatureCheck(False, f"{SIGNATURE} cannot be read ({exc})")
    if sig.get("algorithm") != ALGORITHM:
        return SignatureCheck(False, f"{SIGNATURE} uses {sig.get('algorithm')}, not {ALGORITHM}")
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        known = ", ".join(k.key_id for k in keys) or "none"
        return SignatureCheck(
            False,
            f"signed with key {key_id}, which is not one of the given public keys ({known})",
            key_id=key_id,
        )
    try:
        key.verifier().verify(signature, manifest_bytes)
    except (InvalidSignature, ValueError):
        return SignatureCheck(
            False,
            f"the signature does not match manifest.json: it was changed after signing, "
            f"or signed by another key than {key_id}",
            key_id=key_id,
        )
    signed_at = signed_by.get("signed_at")
    if signed_by.get("key_id") != key_id or not signed_at:
        return SignatureCheck(False, "manifest.json does not name the key that signed it")
    try:
        moment = _parse(signed_at)
    except ValueError:
        return SignatureCheck(False, f"manifest.json's signing time {signed_at!r} is not a date")
    if not key.valid_at(moment):
        return SignatureCheck(
            False,
            f"signed at {signed_at}, outside the validity of key {key_id} "
            f"({_iso(key.valid_from)} to {_iso(key.valid_until) if key.valid_until else 'now'})",
            key_id=key_id,
        )
    return SignatureCheck(
        True,
        f"signed by {key.signer} with key {key_id} at {signed_at}",
        signer=key.signer,
        key_id=key_id,
        signed_at=signed_at,
    )


def parse_keys(raw: bytes) -> list[PublicKey]:
    """Public keys from the signing-keys document, keys.json, one key record, or a PEM key."""
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            public = serialization.load_pem_public_key(raw)
        except ValueError as exc:
            raise SigningKeyError(f"not a PEM public key: {exc}") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise SigningKeyError("the PEM key is not an Ed25519 key")
        data = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return [PublicKey(key_id_of(public), base64.b64encode(data).decode(), "?", epoch, None)]
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SigningKeyError(f"not a key file (JSON or PEM): {exc}") from exc
    entries = document.get("keys", [document]) if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise SigningKeyError("not a key file: no list of keys")
    return [PublicKey.from_json(entry) for entry in entries]


def load_keys(source: str, *, timeout_s: float = 20.0) -> list[PublicKey]:
    """Public keys from a file path or, fetched once, an http(s) URL."""
    if source.startswith(("http://", "https://")):
        from urllib.error import URLError
        from urllib.request import urlopen

        try:
            with urlopen(source, timeout=timeout_s) as response:  # noqa: S310 (http(s) only)
                return parse_keys(response.read(1 << 20))
        except (URLError, OSError) as exc:
            raise SigningKeyError(f"the keys could not be fetched from {source}: {exc}") from exc
    path = Path(source)
    if not path.is_file():
        raise SigningKeyError(f"no such key file: {source}")
    return parse_keys(path.read_bytes())


def public_pem(key: PublicKey) -> str:
    """The key as a PEM public key (SubjectPublicKeyInfo), for tools other than ours."""
    return (
        key.verifier()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
