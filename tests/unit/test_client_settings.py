"""client.connect_settings: Temporal's address, namespace and credentials come from the SDK's
own environment configuration, so Temporal Cloud (API key or mTLS) needs no code change."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from client import connect_settings

CLOUD = "blanco.a1b2c.tmprl.cloud:7233"


def test_without_settings_the_local_dev_server() -> None:
    settings = connect_settings({})
    assert settings["target_host"] == "localhost:7233"
    assert settings["namespace"] == "default"
    assert "tls" not in settings and "api_key" not in settings


def test_self_hosted_address_and_namespace() -> None:
    settings = connect_settings(
        {"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "dealers"}
    )
    assert (settings["target_host"], settings["namespace"]) == ("temporal:7233", "dealers")


def test_temporal_cloud_with_an_api_key_turns_tls_on() -> None:
    settings = connect_settings(
        {"TEMPORAL_ADDRESS": CLOUD, "TEMPORAL_NAMESPACE": "blanco.a1b2c", "TEMPORAL_API_KEY": "k"}
    )
    assert settings["api_key"] == "k"
    assert settings["tls"] is True


@pytest.mark.parametrize("with_ca", [False, True])
def test_temporal_cloud_with_mtls_reads_the_certificate_files(
    tmp_path: Path, with_ca: bool
) -> None:
    cert, key, ca = tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    ca.write_bytes(b"CA")
    env = {
        "TEMPORAL_ADDRESS": CLOUD,
        "TEMPORAL_NAMESPACE": "blanco.a1b2c",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
    }
    if with_ca:
        env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] = str(ca)
    tls = connect_settings(env)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key) == (b"CERT", b"KEY")
    assert tls.server_root_ca_cert == (b"CA" if with_ca else None)
