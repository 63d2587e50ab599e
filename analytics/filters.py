"""The dashboards' filter bar: which tenant, site, form and days, resolved against what the operator may see.

A tenant or site the operator may not see answers 404 (as for any foreign id); malformed dates a 400 naming them.
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest

from formrecap.admin_tenancy import member_tenant_ids
from formrecap.models import Site, Tenant

from .selectors import Scope

DEFAULT_DAYS = 30
MAX_DAYS = 400


def visible_tenants(request: HttpRequest) -> list[Tenant]:
    tenants = Tenant.objects.order_by("name")
    return list(tenants if request.user.is_superuser else tenants.filter(pk__in=member_tenant_ids(request)))


def _positive_int(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404(f"no {name} {raw!r}")
    return int(raw)


def _day(request: HttpRequest, name: str) -> date | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD, got {raw[:40]!r}") from None


def scope_from_request(request: HttpRequest) -> tuple[Scope, list[Tenant], list[Site]]:
    """The scope the query string asks for, the tenants to choose among, and the chosen tenant's sites."""
    tenants = visible_tenants(request)
    if not tenants:
        raise Http404("you are not a member of any tenant")
    tenant_id = _positive_int(request, "tenant")
    tenant = tenants[0] if tenant_id is None else next((t for t in tenants if t.pk == tenant_id), None)
    if tenant is None:
        raise Http404("no such tenant")
    sites = list(Site.objects.for_tenant(tenant).order_by("name"))
    site_id = _positive_int(request, "site")
    if site_id is not None and site_id not in {site.pk for site in sites}:
        raise Http404("no such site")
    today = datetime.now(Scope(tenant, date.today(), date.today()).zone).date()
    end = _day(request, "end") or today
    start = _day(request, "start") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest(f"start ({start}) is after end ({end})")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"at most {MAX_DAYS} days at a time (asked for {(end - start).days + 1})")
    form_id = request.GET.get("form", "").strip()[:128] or None
    return Scope(tenant=tenant, start=start, end=end, site_id=site_id, form_id=form_id), tenants, sites
