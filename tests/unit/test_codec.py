"""codec.py: AES-256-GCM payload encryption with key ids, rotation and clear refusals."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from codec import ENCODING, KEY_ID, CodecKeyError, EncryptionCodec, Keyring, key_id, new_key

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email": "p@example.nl"}')


def keyring(*texts: str) -> Keyring:
    env = {"BLANCO_CODEC_KEY": texts[0], "BLANCO_CODEC_OLD_KEYS": ",".join(texts[1:])}
    return Keyring.from_env(env, dev_key_file=Path("/nonexistent"))


async def test_a_payload_round_trips_and_is_not_readable_on_the_way() -> None:
    codec = EncryptionCodec(keyring(new_key()))
    (sealed,) = await codec.encode([PLAIN])
    assert sealed.metadata["encoding"] == ENCODING and b"example" not in sealed.data
    assert (await codec.decode([sealed])) == [PLAIN]


async def test_old_keys_still_decrypt_after_rotation() -> None:
    old, new = new_key(), new_key()
    (sealed,) = await EncryptionCodec(keyring(old)).encode([PLAIN])
    rotated = EncryptionCodec(keyring(new, old))
    assert await rotated.decode([sealed]) == [PLAIN]
    (resealed,) = await rotated.encode([PLAIN])
    assert resealed.metadata[KEY_ID] == key_id(base64.b64decode(new)).encode()
    with pytest.raises(ValueError, match="key rotation"):
        await EncryptionCodec(keyring(new)).decode([sealed])


async def test_tampering_is_detected_and_plain_payloads_pass() -> None:
    codec = EncryptionCodec(keyring(new_key()))
    (sealed,) = await codec.encode([PLAIN])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"\x00")
    with pytest.raises(InvalidTag):
        await codec.decode([tampered])
    assert await codec.decode([PLAIN]) == [PLAIN]  # written before encryption existed


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BLANCO_CODEC_KEY is not set"),
        ({"BLANCO_CODEC_KEY": "not base64!"}, "not base64"),
        ({"BLANCO_CODEC_KEY": base64.b64encode(b"short").decode()}, "32 bytes"),
        ({"BLANCO_CODEC_KEY": new_key(), "BLANCO_CODEC_OLD_KEYS": "x"}, "OLD_KEYS"),
    ],
)
def test_without_a_good_key_nothing_starts(env: dict[str, str], message: str) -> None:
    with pytest.raises(CodecKeyError, match=message):
        Keyring.from_env(env, dev_key_file=Path("/nonexistent"))


def test_the_dev_key_file_of_make_run_is_used_when_the_environment_has_none(
    tmp_path: Path,
) -> None:
    key = new_key()
    (tmp_path / "dev-codec.key").write_text(key + "\n")
    ring = Keyring.from_env({}, dev_key_file=tmp_path / "dev-codec.key")
    assert ring.current == base64.b64decode(key)
