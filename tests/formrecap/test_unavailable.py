"""A database that is away for a moment answers 503 with Retry-After (JSON under /api/), never 500."""

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from formrecap.models import TraceChunk
from tests.conftest import SITE_ORIGIN


def database_away(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_an_ingest_batch_while_the_database_is_away_is_503_with_retry_after(site, make_batch, monkeypatch, error):
    def away(**kwargs):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr("formrecap.ingest.api.ingest_batch", away)
    body = json.dumps(make_batch())
    response = Client().generic("POST", "/api/v1/ingest/", data=body, content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "database is unavailable" in response.json()["detail"]

    monkeypatch.undo()  # back: the snippet's retry of the same batch is stored
    response = Client().generic("POST", "/api/v1/ingest/", data=body, content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN)
    assert response.status_code == 202 and TraceChunk.objects.for_tenant(site.tenant).count() == 1


def test_an_api_read_while_the_database_is_away_is_503(api_client, monkeypatch):
    monkeypatch.setattr("formrecap.api.site_list", database_away)
    response = api_client.get("/api/v1/sites/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("application/json")


def test_a_page_while_the_database_is_away_is_a_plain_503(admin_client, monkeypatch):
    monkeypatch.setattr("formrecap.admin.SiteAdmin.get_queryset", database_away)
    response = admin_client.get("/admin/formrecap/site/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "database is unavailable" in response.content.decode()
