"""Temporal client and the search attributes tada keeps current."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from tada.adapters.converter import data_converter
from tada.domain.search import SEARCH_ATTRIBUTES
from tada.settings import Settings

_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS for a Temporal cluster or Temporal Cloud: mTLS with a client certificate, or plain
    TLS (an API key needs it); none for the local dev server."""
    if settings.temporal_tls_cert and settings.temporal_tls_key:  # tada/settings.py: both or neither
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return settings.temporal_tls or bool(settings.temporal_api_key)


async def connect(settings: Settings) -> Client:
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),  # encrypted when keys are configured
        tls=tls_config(settings),
        api_key=api_key or None,
    )


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register tada's search attributes where missing; returns the names added. Where the server
    does not let a worker do that (Temporal Cloud: they are created with the namespace), nothing:
    a start that needs a missing one then fails naming it."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
        missing = {name: _INDEXED[kind] for name, kind in SEARCH_ATTRIBUTES.items() if name not in known}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
    except RPCError as error:
        if error.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
            return []
        raise
    return sorted(missing)
