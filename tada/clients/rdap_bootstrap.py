"""The IANA RDAP bootstrap (RFC 9224): which RDAP server answers for a TLD or an address block.

TADA_RDAP_BOOTSTRAP says where the registries come from:

- unset: IANA itself, ``https://data.iana.org/rdap/``, plus whoisit's corrections
  for TLDs whose IANA entry is wrong or missing (.de, .io, .me, .us ...);
- a base URL (``https://mirror.example/rdap/``): ``dns.json``, ``ipv4.json`` and
  ``ipv6.json`` are fetched from it, as published by IANA;
- a directory holding those three files (a mirror for air-gapped deployments);
- a file: bootstrap data saved by whoisit (``whoisit.save_bootstrap_data()``).

The files are parsed by whoisit into a bootstrap of our own (not whoisit's
process-wide one), so two configurations can live in one process. A fetched file
is read up to ``MAX_BOOTSTRAP_BYTES``, decoded bytes counted, in bounded steps
(tada/clients/decoding.py): a compressed bomb or a chain of encodings fails the
load, never the worker's memory.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
from whoisit.bootstrap import BaseBootstrap
from whoisit.errors import BootstrapError

from tada.clients.safe_transport import read_limited

IANA_BOOTSTRAP_URL = "https://data.iana.org/rdap/"
#: The most of one bootstrap file read (IANA's largest, dns.json, is well under 1 MiB).
MAX_BOOTSTRAP_BYTES = 4 * 1024 * 1024

#: The registries tada queries by (domains and addresses), under their IANA file names.
REGISTRIES = {"dns": "dns.json", "ipv4": "ipv4.json", "ipv6": "ipv6.json"}

#: whoisit wants every IANA registry loaded; tada never looks up AS numbers or
#: object tags, so these stand in for them with no services at all.
_UNUSED = {"asn": {"services": [[[], []]]}, "object": {"services": [[[], []]]}}


class BootstrapUnavailable(Exception):
    """The bootstrap files could not be read or parsed."""


async def load_bootstrap(source: str | None, http: httpx.AsyncClient, *, allow_http: bool = False) -> BaseBootstrap:
    """A loaded whoisit bootstrap from ``source`` (see the module docstring)."""
    try:
        if source is None or source.startswith(("http://", "https://")):
            data = await _fetch(source or IANA_BOOTSTRAP_URL, http)
        else:
            data = await asyncio.to_thread(_read, Path(source).expanduser())
        bootstrap = BaseBootstrap()
        bootstrap.load_bootstrap_data(data, overrides=source is None, allow_insecure=allow_http, from_json=False)
        return bootstrap
    except (OSError, ValueError, BootstrapError, httpx.HTTPError) as error:
        raise BootstrapUnavailable(f"RDAP bootstrap not loaded from {source or IANA_BOOTSTRAP_URL}: {error}") from error


async def _fetch(base_url: str, http: httpx.AsyncClient) -> dict:
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    data: dict = {"timestamp": int(time.time()), **_UNUSED}
    for name, file_name in REGISTRIES.items():
        async with http.stream("GET", base_url + file_name, headers={"Accept": "application/json"}) as response:
            response.raise_for_status()
            data[name] = json.loads(await read_limited(response, MAX_BOOTSTRAP_BYTES))
    return data


def _read(path: Path) -> dict:
    if path.is_file():  # whoisit's own saved format: {"timestamp": ..., "asn": ..., "dns": ...}
        return json.loads(path.read_text(encoding="utf-8"))
    data: dict = {"timestamp": int(time.time()), **_UNUSED}
    for name, file_name in REGISTRIES.items():
        data[name] = json.loads((path / file_name).read_text(encoding="utf-8"))
    return data
