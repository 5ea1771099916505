"""CDN ranges shipped as data: Cloudflare's published IPv4 and IPv6 ranges."""

from __future__ import annotations

import pytest

from tada.domain.cdn import cdn_for, providers


@pytest.mark.parametrize(
    "address", ["104.16.1.1", "172.67.0.1", "188.114.97.3", "2606:4700::6810:101", "2a06:98c1::1", "::ffff:104.16.1.1"]
)
def test_cloudflare_addresses(address):
    provider = cdn_for(address)
    assert provider is not None and provider.id == "cloudflare"


@pytest.mark.parametrize("address", ["23.94.10.5", "2a01:4f8::1", "127.0.0.1", "not an address", ""])
def test_other_addresses(address):
    assert cdn_for(address) is None


def test_the_data_names_its_source_date_and_ncii_process():
    (cloudflare,) = providers()
    assert cloudflare.range_sources == ["https://www.cloudflare.com/ips-v4", "https://www.cloudflare.com/ips-v6"]
    assert cloudflare.captured.year >= 2025
    assert cloudflare.abuse_form == "https://abuse.cloudflare.com"
    assert "Non-Consensual" in cloudflare.abuse_category
    assert str(cloudflare.network_of("104.16.1.1")) == "104.16.0.0/13"
