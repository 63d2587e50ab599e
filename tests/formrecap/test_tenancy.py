"""The fail-closed manager: no tenant, no rows."""

import pytest

from formrecap.models import ApiKey, FormSession, Membership, Site, TraceChunk
from formrecap.tenancy import TenantScopeError
from tests.factories import FormSessionFactory, TraceChunkFactory

TENANT_OWNED = [Membership, Site, ApiKey, FormSession, TraceChunk]


@pytest.mark.parametrize("model", TENANT_OWNED, ids=lambda m: m.__name__)
@pytest.mark.parametrize("query", ["all", "count", "first", "exists", "filter"])
def test_unscoped_query_raises(db, model, query):
    with pytest.raises(TenantScopeError, match=f"{model.__name__}.objects needs a tenant"):
        getattr(model.objects, query)()


@pytest.mark.parametrize("model", TENANT_OWNED, ids=lambda m: m.__name__)
def test_for_tenant_refuses_none_and_unsaved(db, model, tenant):
    from formrecap.models import Tenant

    with pytest.raises(TenantScopeError):
        model.objects.for_tenant(None)
    with pytest.raises(TenantScopeError):
        model.objects.for_tenant(Tenant(name="unsaved"))


def test_for_tenant_returns_only_that_tenants_rows(site, other_site):
    mine = FormSessionFactory(site=site)
    FormSessionFactory(site=other_site)
    TraceChunkFactory(session=mine)
    TraceChunkFactory(session=FormSessionFactory(site=other_site))
    assert list(FormSession.objects.for_tenant(site.tenant)) == [mine]
    assert list(Site.objects.for_tenant(site.tenant)) == [site]
    assert [c.session_id for c in TraceChunk.objects.for_tenant(site.tenant)] == [mine.pk]


def test_create_needs_no_scope(tenant):
    site = Site.objects.create(tenant=tenant, name="x", site_key="pk_x")
    assert Site.objects.for_tenant(tenant).get() == site
