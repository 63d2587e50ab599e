"""Core services: origins, sites."""

import pytest
from django.core.exceptions import ValidationError

from formrecap.models import Site
from formrecap.services import normalise_origin, site_create


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://Shop.Example.com:443/", "https://shop.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
    ],
)
def test_origins_are_normalised(raw, origin):
    assert normalise_origin(raw) == origin


@pytest.mark.parametrize(
    "raw", ["ftp://x", "https://a:abc", "https://a:99999", "https://[::1", "http://a b.com", "https://x.com/path", "shop.com", ""]
)
def test_non_origins_are_refused(raw):
    with pytest.raises(ValidationError, match="is not an origin|without a path"):
        normalise_origin(raw)


def test_site_create_generates_a_public_key_and_keeps_explicit_timeout(tenant):
    site = site_create(
        tenant=tenant, name="Shop", allowed_origins=["https://a.com", "https://A.com/"], abandonment_timeout_seconds=120
    )
    assert site.site_key.startswith("pk_") and site.allowed_origins == ["https://a.com"]
    assert site.abandonment_timeout_seconds == 120


def test_timeout_under_a_minute_is_invalid(tenant):
    site = Site(tenant=tenant, name="x", site_key="pk_x", abandonment_timeout_seconds=5)
    with pytest.raises(ValidationError, match="abandonment_timeout_seconds"):
        site.full_clean()
