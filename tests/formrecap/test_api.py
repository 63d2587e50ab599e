"""Tenant-scoped API: authentication, scopes, and foreign tenants' ids answering 404."""

import pytest
from rest_framework.test import APIClient

from formrecap.models import ApiKey
from formrecap.services import api_key_create, api_key_revoke
from tests.factories import FormSessionFactory, TraceChunkFactory

# Every tenant-scoped object endpoint, as (url template, fixture holding the object).
OBJECT_ENDPOINTS = [("/api/v1/sites/{id}/", "site"), ("/api/v1/sessions/{id}/", "form_session")]
LIST_ENDPOINTS = ["/api/v1/sites/", "/api/v1/sessions/"]


@pytest.fixture
def form_session(site):
    session = FormSessionFactory(site=site, status="abandoned", visitor_ref="crm-1")
    TraceChunkFactory(session=session, seq=0, events=[{"type": "focus", "field": "email", "ts": 0}])
    TraceChunkFactory(session=session, seq=1, events=[{"type": "exit", "ts": 900}])
    return session


@pytest.mark.parametrize(("template", "fixture"), OBJECT_ENDPOINTS)
def test_own_object_is_returned(api_client, request, template, fixture):
    obj = request.getfixturevalue(fixture)
    response = api_client.get(template.format(id=obj.pk))
    assert response.status_code == 200 and response.json()["id"] == obj.pk


@pytest.mark.parametrize(("template", "fixture"), OBJECT_ENDPOINTS)
def test_foreign_tenants_id_is_404(other_api_client, request, template, fixture):
    obj = request.getfixturevalue(fixture)
    response = other_api_client.get(template.format(id=obj.pk))
    assert response.status_code == 404


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_lists_hold_only_own_rows(api_client, other_api_client, form_session, other_site, url):
    FormSessionFactory(site=other_site)
    mine = api_client.get(url).json()
    theirs = other_api_client.get(url).json()
    mine = mine["results"] if isinstance(mine, dict) else mine
    theirs = theirs["results"] if isinstance(theirs, dict) else theirs
    assert {row["id"] for row in mine}.isdisjoint({row["id"] for row in theirs})
    assert len(mine) == 1 and len(theirs) == 1


def test_session_filter_by_foreign_site_is_empty(other_api_client, form_session):
    response = other_api_client.get("/api/v1/sessions/", {"site": form_session.site_id})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_session_detail_has_events_in_batch_order(api_client, form_session):
    body = api_client.get(f"/api/v1/sessions/{form_session.pk}/").json()
    assert [e["type"] for e in body["events"]] == ["focus", "exit"]
    assert body["status"] == "abandoned" and body["visitor_ref"] == "crm-1"
    assert body["session_id"] == str(form_session.session_uuid)


def test_session_filters(api_client, site):
    FormSessionFactory(site=site, status="abandoned")
    FormSessionFactory(site=site, status="submitted")
    assert api_client.get("/api/v1/sessions/", {"status": "submitted"}).json()["count"] == 1
    assert api_client.get("/api/v1/sessions/", {"site": site.pk}).json()["count"] == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "lost"}, "status"), ({"site": "abc"}, "site"), ({"started_after": "yesterday"}, "started_after")],
)
def test_bad_filters_are_400_naming_the_field(api_client, params, field):
    response = api_client.get("/api/v1/sessions/", params)
    assert response.status_code == 400 and field in response.json()


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer sk_wrong", "invalid or revoked API key"),
        ("Token sk_x", "Authorization header must be 'Bearer sk_…'"),
        ("Bearer pk_public", "API secret must start with sk_"),
    ],
)
def test_missing_or_bad_credentials_are_401(db, url, header, message):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(url)
    assert response.status_code == 401 and response.json()["detail"].startswith(message.rstrip("…"))


def test_revoked_key_is_401(tenant, api_client, issued_key):
    api_key_revoke(tenant=tenant, api_key_id=issued_key.api_key.pk)
    assert api_client.get("/api/v1/sites/").status_code == 401


def test_key_without_read_scope_is_403(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(tenant=tenant, name='w', scopes=['write']).secret}")
    response = client.get("/api/v1/sites/")
    assert response.status_code == 403 and "scope" in response.json()["detail"]


def test_secret_is_stored_only_as_a_hash(tenant):
    issued = api_key_create(tenant=tenant, name="k")
    row = ApiKey.all_tenants.filter(pk=issued.api_key.pk).values().get()
    assert issued.secret.startswith("sk_") and len(issued.secret) > 40
    assert all(issued.secret not in str(value) for value in row.values())
    assert row["prefix"] == issued.secret[:11]
    import hashlib

    assert row["hashed_secret"] == hashlib.sha256(issued.secret.encode()).hexdigest()


def test_last_used_at_is_recorded(api_client, issued_key):
    assert issued_key.api_key.last_used_at is None
    api_client.get("/api/v1/sites/")
    issued_key.api_key.refresh_from_db()
    assert issued_key.api_key.last_used_at is not None


def test_openapi_schema_lists_the_endpoints(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/ingest/", "/api/v1/sessions/", "/api/v1/sessions/{session_id}/", "/api/v1/sites/"} <= set(paths)


def test_site_id_beyond_bigint_is_400(api_client):
    response = api_client.get("/api/v1/sessions/", {"site": "9" * 20})
    assert response.status_code == 400 and "site" in response.json()


def test_openapi_documents_bearer_keys_and_docs_render_offline(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    docs = APIClient().get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in docs and "swagger-ui" in docs


def test_session_date_filters(api_client, site):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    old = FormSessionFactory(site=site, started_at=now - timedelta(days=3))
    new = FormSessionFactory(site=site, started_at=now)
    cutoff = (now - timedelta(days=1)).isoformat()
    after = api_client.get("/api/v1/sessions/", {"started_after": cutoff}).json()["results"]
    before = api_client.get("/api/v1/sessions/", {"started_before": cutoff}).json()["results"]
    assert [s["id"] for s in after] == [new.pk] and [s["id"] for s in before] == [old.pk]
