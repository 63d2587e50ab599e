"""Writes for tenants, memberships, sites and API keys."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .credentials import hash_api_secret, new_api_secret, new_site_key, visible_prefix
from .models import ApiKey, Site, Tenant

_HOST_RE = re.compile(r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|[0-9a-f:.]+)$")


def tenant_create(*, name: str, slug: str | None = None) -> Tenant:
    return Tenant.objects.create(name=name, slug=slug or slugify(name))


def normalise_origin(origin: str) -> str:
    """``https://Shop.Example.com:443/`` → ``https://shop.example.com``; raises ValidationError if not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:  # "https://[::1", "https://a:99999"
        raise ValidationError(f"{origin!r} is not an origin like https://shop.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not _HOST_RE.match(parts.hostname):
        raise ValidationError(f"{origin!r} is not an origin like https://shop.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValidationError(f"{origin!r} must be scheme://host[:port] only, without a path")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{port}" if port and port != default_port else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{port}"


def site_create(
    *,
    tenant: Tenant,
    name: str,
    allowed_origins: Iterable[str],
    abandonment_timeout_seconds: int | None = None,
) -> Site:
    fields = {} if abandonment_timeout_seconds is None else {"abandonment_timeout_seconds": abandonment_timeout_seconds}
    return Site.objects.create(
        tenant=tenant,
        name=name,
        allowed_origins=sorted({normalise_origin(o) for o in allowed_origins}),
        site_key=new_site_key(),
        **fields,
    )


@dataclass(frozen=True)
class IssuedApiKey:
    """A freshly created key and its secret, which exists only in this object."""

    api_key: ApiKey
    secret: str


SITE_CLASSIFIER_FIELDS = ("classifier_backend", "escalation_backend", "escalation_threshold")


def site_classifier_update(*, tenant: Tenant, site_id: int, **fields) -> Site:
    """Change how a site's sessions are classified (its backend and the cascade's settings); the model's validators
    decide what is allowed. Raises Site.DoesNotExist for another tenant's site, ValidationError for bad values."""
    unknown = set(fields) - set(SITE_CLASSIFIER_FIELDS)
    if unknown:
        raise ValidationError({name: "not a classifier setting" for name in sorted(unknown)})
    with transaction.atomic():
        site = Site.objects.for_tenant(tenant).select_for_update().get(pk=site_id)
        for name, value in fields.items():
            setattr(site, name, value)
        site.full_clean(exclude=[f.name for f in Site._meta.fields if f.name not in fields])
        site.save(update_fields=list(fields))
    return site


def api_key_create(*, tenant: Tenant, name: str, scopes: Iterable[str] = ("read", "write"), created_by=None) -> IssuedApiKey:
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown:
        raise ValidationError(f"unknown scopes: {', '.join(sorted(unknown))}")
    secret = new_api_secret()
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=visible_prefix(secret),
        hashed_secret=hash_api_secret(secret),
        scopes=sorted(set(scopes)),
        created_by=created_by,
    )
    return IssuedApiKey(api_key=api_key, secret=secret)


def api_key_revoke(*, tenant: Tenant, api_key_id: int) -> ApiKey:
    with transaction.atomic():
        api_key = ApiKey.objects.for_tenant(tenant).select_for_update().get(pk=api_key_id)
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey, min_interval_seconds: int) -> None:
    """Record use, at most once per interval so that reads do not each cost a write."""
    now = timezone.now()
    if api_key.last_used_at and (now - api_key.last_used_at).total_seconds() < min_interval_seconds:
        return
    ApiKey.all_tenants.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
