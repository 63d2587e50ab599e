"""Request bodies on every JSON endpoint: one size cap (413 in JSON naming it), chunked bodies read, never HTML."""

import io
import json

import pytest

CLASSIFY_BATCH = "/api/v1/classify/batch/"
INGEST = "/api/v1/ingest/"
SITE_ORIGIN = "https://shop.example.com"


def terse_trace(retries: int) -> str:
    return "focus:email, " + "input:email(x8), blur:email(invalid_format), " * retries + "exit"


def chunked_post(client, path: str, body: bytes, **extra):
    """A POST as gunicorn hands a chunked request to Django: de-chunked input, no Content-Length."""
    return client.generic(
        "POST", path, b"", content_type="application/json",
        CONTENT_TYPE="application/json", HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, **extra},
    )  # fmt: skip


@pytest.fixture
def no_content_length(monkeypatch):
    """Django's test client always sets CONTENT_LENGTH; drop it as a server does for a chunked request."""
    from django.test.client import RequestFactory

    base = RequestFactory._base_environ

    def without_length(self, **request):
        environ = base(self, **request)
        if environ.get("HTTP_TRANSFER_ENCODING") == "chunked":
            environ.pop("CONTENT_LENGTH", None)
        return environ

    monkeypatch.setattr(RequestFactory, "_base_environ", without_length)


def test_a_thousand_traces_over_django_s_form_limit_are_classified(api_client, active_embedded_model, settings):
    body = json.dumps({"traces": [terse_trace(70)] * 1000}).encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # 2.5 MiB: Django's cap for bodies it reads itself
    response = api_client.post(CLASSIFY_BATCH, body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) == 1000


def test_a_body_over_the_api_cap_is_a_json_413_naming_the_cap(api_client, settings):
    settings.FORMRECAP_API_MAX_BODY_BYTES = 4096
    response = api_client.post(CLASSIFY_BATCH, json.dumps({"traces": [terse_trace(200)]}), content_type="application/json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "request body is larger than 4096 bytes (FORMRECAP_API_MAX_BODY_BYTES)"


def test_a_form_body_over_django_s_limit_is_a_json_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client.post("/api/v1/recovery/rules/", "name=" + "x" * 2000, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert "larger than 1000 bytes" in response.json()["detail"]


def test_a_chunked_body_without_content_length_is_read(api_client, active_embedded_model, no_content_length):
    response = chunked_post(api_client, CLASSIFY_BATCH, json.dumps({"traces": [terse_trace(2), "exit"]}).encode())
    assert response.status_code == 200, response.content[:300]
    assert [result["class"] for result in response.json()["results"]][0] == "validation_error"


def test_a_chunked_ingest_batch_is_stored(client, site, make_batch, no_content_length):
    response = chunked_post(client, INGEST, json.dumps(make_batch()).encode(), HTTP_ORIGIN=SITE_ORIGIN)
    assert response.status_code == 202, response.content[:300]


def test_a_chunked_body_over_the_cap_is_a_json_413(api_client, settings, no_content_length):
    settings.FORMRECAP_API_MAX_BODY_BYTES = 4096
    response = chunked_post(api_client, CLASSIFY_BATCH, json.dumps({"traces": [terse_trace(200)]}).encode())
    assert response.status_code == 413 and response.json()["detail"].startswith("request body is larger than 4096 bytes")


def test_a_chunked_body_the_server_did_not_de_chunk_is_a_json_411(api_client, no_content_length):
    # A server that passes chunked framing through (wsgiref, runserver) leaves no way to know where the body ends.
    response = chunked_post(api_client, CLASSIFY_BATCH, b"5\r\nhello\r\n0\r\n\r\n", **{"wsgi.input_terminated": False})
    assert response.status_code == 411 and response["Content-Type"] == "application/json"
    assert "Content-Length" in response.json()["detail"]
