"""Payload encryption: nothing Temporal stores — workflow inputs, signals, activity results,
memos, summaries, failure messages — reaches it in plain form (AES-256-GCM, `cryptography`).

The key comes from BLANCO_CODEC_KEY (base64 of 32 bytes). Every encrypted payload names its
key by id (the first 8 bytes of the key's SHA-256, hex), so keys can rotate: put the new key
in BLANCO_CODEC_KEY and the old ones in BLANCO_CODEC_OLD_KEYS (comma-separated) until no
workflow needs them. `make run` writes a dev key to `.data/dev-codec.key` on first start;
without either, the worker, the API and the starter refuse to start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
DEV_KEY_FILE = Path(".data/dev-codec.key")


class CodecKeyError(Exception):
    """No usable key: the message says what to set."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def parse_key(text: str, name: str = "BLANCO_CODEC_KEY") -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CodecKeyError(f"{name} is not base64") from None
    if len(key) != 32:
        raise CodecKeyError(f"{name} must be 32 bytes (base64 of 32 random bytes), not {len(key)}")
    return key


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Keyring:
    current: bytes
    older: tuple[bytes, ...] = ()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] = os.environ, dev_key_file: Path = DEV_KEY_FILE
    ) -> Keyring:
        """BLANCO_CODEC_KEY, else the dev key `make run` wrote; else refuse, clearly."""
        text = env.get("BLANCO_CODEC_KEY", "").strip()
        if not text and dev_key_file.exists():
            text = dev_key_file.read_text().strip()
        if not text:
            raise CodecKeyError(
                "BLANCO_CODEC_KEY is not set: payloads would reach Temporal unencrypted. Set it "
                "to base64 of 32 random bytes (python -c 'import codec; print(codec.new_key())'); "
                "`make run` creates a dev key by itself."
            )
        older = tuple(
            parse_key(part, "BLANCO_CODEC_OLD_KEYS")
            for part in env.get("BLANCO_CODEC_OLD_KEYS", "").split(",")
            if part.strip()
        )
        return cls(parse_key(text), older)

    def by_id(self) -> dict[str, bytes]:
        return {key_id(key): key for key in (self.current, *self.older)}


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Keyring) -> None:
        self._current_id = key_id(keys.current).encode()
        self._current = AESGCM(keys.current)
        self._ciphers = {kid.encode(): AESGCM(key) for kid, key in keys.by_id().items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._current_id}, data=nonce + sealed
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption, or by a client without it
        cipher = self._ciphers.get(payload.metadata.get(KEY_ID, b""))
        if cipher is None:
            raise ValueError("payload encrypted with a key that is not configured (key rotation)")
        data = payload.data
        return Payload.FromString(cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None))
