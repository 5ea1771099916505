"""How the worker, the CLI and the API reach a Temporal cluster or Temporal Cloud."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from temporalio.service import TLSConfig

from tada.adapters.temporal import tls_config
from tada.settings import Settings


def test_the_local_dev_server_needs_no_tls():
    assert tls_config(Settings()) is False


def test_an_api_key_implies_tls():
    assert tls_config(Settings(temporal_api_key=SecretStr("key"))) is True


def test_tls_alone():
    assert tls_config(Settings(temporal_tls=True)) is True


def test_mtls_reads_the_client_certificate_and_key(tmp_path):
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    config = tls_config(Settings(temporal_tls_cert=cert, temporal_tls_key=key))
    assert isinstance(config, TLSConfig)
    assert config.client_cert == cert.read_bytes()
    assert config.client_private_key == key.read_bytes()


def test_a_certificate_without_its_key_is_refused(tmp_path):
    cert = tmp_path / "client.pem"
    cert.write_bytes(b"x")
    with pytest.raises(ValidationError, match="TADA_TEMPORAL_TLS_KEY"):
        Settings(temporal_tls_cert=cert)
