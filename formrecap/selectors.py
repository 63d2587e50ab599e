"""Reads. Credential resolution is the only place that looks across tenants."""

import time
from datetime import datetime

from django.core.cache import cache
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from classifier.models import Prediction

from .credentials import hash_api_secret
from .models import ApiKey, FormSession, Site, Tenant


def api_key_resolve(*, secret: str) -> ApiKey | None:
    """The active key for a secret, or None. Looks across tenants: this is how a tenant is found."""
    return (
        ApiKey.all_tenants.select_related("tenant").filter(hashed_secret=hash_api_secret(secret), revoked_at__isnull=True).first()
    )


def site_resolve_public_key(*, site_key: str) -> Site | None:
    """The site for a public site key (active or not), or None. Looks across tenants like api_key_resolve."""
    if not site_key.isprintable():
        return None
    return Site.all_tenants.filter(site_key=site_key).first()


# Every batch names its site: a per-process copy saves the lookup (a database round trip) on the hot path.
# Saving or deleting a site drops it here at once; other processes see the change within the TTL.
INGEST_SITE_TTL_SECONDS = 5.0
_ingest_sites: dict[str, tuple[float, Site | None]] = {}


def site_for_ingest(*, site_key: str) -> Site | None:
    """site_resolve_public_key (with the tenant) through a per-process cache of INGEST_SITE_TTL_SECONDS."""
    now = time.monotonic()
    cached = _ingest_sites.get(site_key)
    if cached is not None and cached[0] > now:
        return cached[1]
    site = Site.all_tenants.select_related("tenant").filter(site_key=site_key).first() if site_key.isprintable() else None
    if len(_ingest_sites) > 10_000:  # random keys must not grow it without bound
        _ingest_sites.clear()
    _ingest_sites[site_key] = (now + INGEST_SITE_TTL_SECONDS, site)
    return site


def ingest_sites_forget(**_) -> None:
    _ingest_sites.clear()


CORS_ORIGINS_CACHE_KEY = "formrecap:cors-origins"
CORS_ORIGINS_CACHE_SECONDS = 60


def origin_allowed_by_any_site(*, origin: str) -> bool:
    """For CORS preflights, which carry no site key. Cached briefly: preflights are frequent, sites rarely change."""
    origins = cache.get(CORS_ORIGINS_CACHE_KEY)
    if origins is None:
        origins = sorted(
            {o for allowed in Site.all_tenants.filter(is_active=True).values_list("allowed_origins", flat=True) for o in allowed}
        )
        cache.set(CORS_ORIGINS_CACHE_KEY, origins, CORS_ORIGINS_CACHE_SECONDS)
    return origin in origins


def site_list(*, tenant: Tenant) -> QuerySet[Site]:
    return Site.objects.for_tenant(tenant).order_by("name")


def form_session_list(
    *,
    tenant: Tenant,
    site_id: int | None = None,
    status: str | None = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    predicted_class: int | None = None,
    custom_reason_id: int | None = None,
) -> QuerySet[FormSession]:
    """The tenant's sessions, newest first; each carries ``predictions_newest_first`` (one query for a page).

    ``predicted_class`` (a code 1-6) keeps the sessions whose latest prediction has that class, ``custom_reason_id``
    those whose latest prediction carries that custom reason (another tenant's reason id matches nothing).
    """
    predictions = (
        Prediction.objects.for_tenant(tenant).select_related("model_version", "custom_reason").order_by("-created_at", "-id")
    )
    sessions = (
        FormSession.objects.for_tenant(tenant)
        .select_related("site")
        .prefetch_related(Prefetch("predictions", queryset=predictions, to_attr="predictions_newest_first"))
        .order_by("-started_at", "-id")
    )
    if site_id is not None:
        sessions = sessions.filter(site_id=site_id)
    if status is not None:
        sessions = sessions.filter(status=status)
    if started_after is not None:
        sessions = sessions.filter(started_at__gte=started_after)
    if started_before is not None:
        sessions = sessions.filter(started_at__lt=started_before)
    if predicted_class is not None:
        latest_code = Subquery(predictions.filter(session=OuterRef("pk")).values("code")[:1])
        sessions = sessions.annotate(latest_predicted_code=latest_code).filter(latest_predicted_code=predicted_class)
    if custom_reason_id is not None:
        latest_reason = Subquery(predictions.filter(session=OuterRef("pk")).values("custom_reason_id")[:1])
        sessions = sessions.annotate(latest_custom_reason=latest_reason).filter(latest_custom_reason=custom_reason_id)
    return sessions


def form_session_events(*, session: FormSession) -> list[dict]:
    """All raw events of a session in batch order."""
    return [event for chunk in session.chunks.order_by("seq") for event in chunk.events]


def visitor_other_sessions(*, site: Site, session: FormSession) -> QuerySet[FormSession]:
    """The same visitor's other sessions on the site: same first-party id, or same identify() reference.

    Empty for a visitor the snippet knows nothing about (opted out, GPC/DNT respected, no storage).
    """
    same_visitor = Q()
    if session.anonymous_id:
        same_visitor |= Q(anonymous_id=session.anonymous_id)
    if session.visitor_ref:
        same_visitor |= Q(visitor_ref=session.visitor_ref)
    if not same_visitor:
        return FormSession.objects.for_tenant(site.tenant).none()
    return FormSession.objects.for_tenant(site.tenant).filter(same_visitor, site=site).exclude(pk=session.pk)
