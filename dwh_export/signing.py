"""Batch signatures behind a small interface, so the national PKI (НУЦ РК, GOST 34.310) can
replace Ed25519 without touching the batch builder or the receiver's pipeline.

A signature covers the batch's header line; the header carries the SHA-256 of every other
line (`content_hash`), so it commits to the whole batch.
"""

import base64
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class Signer(Protocol):
    algorithm: str
    key_id: str

    def sign(self, data: bytes) -> bytes: ...


class Verifier(Protocol):
    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool: ...


class Ed25519Signer:
    algorithm = "Ed25519"

    def __init__(self, private_key: Ed25519PrivateKey, key_id: str):
        self._key = private_key
        self.key_id = key_id

    @classmethod
    def from_file(cls, path: Path, key_id: str, *, create: bool = True) -> "Ed25519Signer":
        """The key at `path` (PEM, PKCS#8). A deployment points DWH_EXPORT_KEY_PATH at its
        key; when the file is absent and `create` is set (development, tests) a new key is
        written there, readable by its owner only."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise FileNotFoundError(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key, key_id)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


class Ed25519Verifier:
    """Public keys by key id (several while a key is rotated)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]):
        self.keys = keys

    @classmethod
    def from_files(cls, specs: list[str]) -> "Ed25519Verifier":
        """Each spec is `key_id=path/to/public.pem`."""
        keys = {}
        for spec in specs:
            key_id, _eq, path = spec.partition("=")
            key = serialization.load_pem_public_key(Path(path).read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(f"{path}: not an Ed25519 public key")
            keys[key_id] = key
        return cls(keys)

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        key = self.keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def deployment_signer() -> Ed25519Signer:
    from .conf import config

    cfg = config()
    return Ed25519Signer.from_file(cfg.key_path, cfg.key_id)
