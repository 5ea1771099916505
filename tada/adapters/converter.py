"""The one data converter of the worker, the CLI, the API and the tests.

Pydantic payloads, encrypted by :class:`tada.adapters.codec.EncryptionCodec` when keys
are configured. Failure messages and stack traces are then moved into an
encrypted payload too (they can name a URL or an address), so the history keeps
only "Encoded failure" in the clear.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import structlog
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from tada.adapters.codec import EncryptionCodec
from tada.adapters.keys import PayloadKey, configured_keys
from tada.settings import Settings

UNENCRYPTED_WARNING = "payloads are not encrypted: set TADA_PAYLOAD_KEYS"

log = structlog.get_logger(__name__)
_warned = False


def converter_for(keys: Sequence[PayloadKey]) -> DataConverter:
    """pydantic_data_converter, with the codec when there are keys."""
    if not keys:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter(settings: Settings) -> DataConverter:
    """The converter for ``settings``: raises PayloadKeyError when the keys configured are unusable."""
    return converter_for(configured_keys(settings))


def warn_if_unencrypted(settings: Settings) -> bool:
    """Log (once a process) that payloads go to Temporal in the clear; True when they do."""
    global _warned
    if configured_keys(settings):
        return False
    if not _warned:
        _warned = True
        log.warning(UNENCRYPTED_WARNING)
    return True
