"""The suite's victim-data keys: one data key for the whole run (TADA_DATA_KEY, set by
tests/conftest.py before anything reads it), as the worker, the CLI and the API have it."""

from __future__ import annotations

from tada.adapters.data_crypto import DataCrypto
from tada.settings import Settings


def suite_crypto() -> DataCrypto:
    return DataCrypto.from_settings(Settings())
