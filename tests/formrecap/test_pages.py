"""The landing page at / (never a debug page) and JSON 404s for API paths that do not exist."""

import pytest


def test_the_root_is_a_landing_page_with_the_ways_in(client, db):
    response = client.get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for link in ('href="/admin/"', 'href="/demo/"', 'href="/api/docs/"'):
        assert link in page
    for reason in ("validation error", "distraction", "comparison shopping", "accidental exit", "bot", "committed leave"):
        assert reason in page
    assert "http://testserver/snippet/v1/formrecap.js" in page  # the install tag names this host


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v2/sites/", "/api/v1/sites/abc/", "/api/v1/sessions/1.5/"])
def test_unknown_api_paths_are_a_json_404_for_every_method(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith(f"no API endpoint at {path}")


def test_a_missing_trailing_slash_is_named(api_client):
    response = api_client.get("/api/v1/sites")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail == "no API endpoint at /api/v1/sites: the endpoint is /api/v1/sites/ (with the trailing slash)"


@pytest.mark.parametrize("path", ["/api/v1/sites/%0A/", "/api/v1/sessions/1%0A/", "/api/v1/recovery/rules/%0A/rotate-secret/"])
def test_an_id_with_a_newline_is_a_json_404(api_client, path):
    # The catch-all's "." stops at a newline, so these once fell through to Django's HTML 404.
    response = api_client.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("no API endpoint at /api/v1/")


def test_a_bad_request_caught_by_django_under_the_api_is_json(api_client, settings):
    # Django answers some requests itself (a disallowed Host here): under /api/ in JSON, elsewhere its own page.
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    response = api_client.get("/api/v1/sites/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert not api_client.get("/", HTTP_HOST="evil.example")["Content-Type"].startswith("application/json")
