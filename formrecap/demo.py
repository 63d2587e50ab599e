"""The demo tenant: idempotent, so `make run` can seed it on every start."""

import base64
import hashlib
import hmac
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .credentials import API_SECRET_PREFIX, hash_api_secret, visible_prefix
from .models import ApiKey, Membership, Site, Tenant
from .services import normalise_origin, site_create

DEMO_TENANT_SLUG = "demo"
DEMO_SITE_NAME = "Demo site"
DEMO_KEY_NAME = "Demo key"


@dataclass(frozen=True)
class DemoCredentials:
    tenant: str
    site_key: str
    api_key: str
    admin_username: str
    admin_password: str

    def as_dict(self) -> dict:
        return asdict(self)


def demo_api_secret() -> str:
    """Derived from SECRET_KEY so every run prints the same key while the database keeps only its hash."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"formrecap-demo-api-key", hashlib.sha256).digest()
    return API_SECRET_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@transaction.atomic
def demo_seed(*, origins: list[str], username: str, password: str) -> DemoCredentials:
    tenant, _ = Tenant.objects.get_or_create(slug=DEMO_TENANT_SLUG, defaults={"name": "Demo Shop"})

    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"is_staff": True})
    user.is_staff = True
    # The embedded demo is one operator's own install: they also run its training pages and model comparisons,
    # which are superuser-only (they serve every tenant). A production install creates its operators instead.
    user.is_superuser = True
    user.set_password(password)
    user.save()
    Membership.all_tenants.get_or_create(tenant=tenant, user=user, defaults={"role": Membership.Role.OWNER})

    wanted_origins = {normalise_origin(o) for o in origins}
    site = Site.objects.for_tenant(tenant).filter(name=DEMO_SITE_NAME).first()
    if site is None:
        site = site_create(tenant=tenant, name=DEMO_SITE_NAME, allowed_origins=wanted_origins)
    elif not wanted_origins <= set(site.allowed_origins):
        site.allowed_origins = sorted(wanted_origins | set(site.allowed_origins))
        site.save(update_fields=["allowed_origins"])

    secret = demo_api_secret()
    hashed = hash_api_secret(secret)
    if not ApiKey.objects.for_tenant(tenant).filter(hashed_secret=hashed).exists():
        # SECRET_KEY changed (or first run): retire the old demo key, issue the derived one.
        ApiKey.objects.for_tenant(tenant).filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).update(revoked_at=timezone.now())
        ApiKey.objects.create(
            tenant=tenant,
            name=DEMO_KEY_NAME,
            prefix=visible_prefix(secret),
            hashed_secret=hashed,
            scopes=["read", "write"],
            created_by=user,
        )
    ApiKey.objects.for_tenant(tenant).filter(hashed_secret=hashed).update(revoked_at=None)

    return DemoCredentials(
        tenant=tenant.slug, site_key=site.site_key, api_key=secret, admin_username=username, admin_password=password
    )
