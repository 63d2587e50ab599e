"""The ingest endpoint under the production application (formrecap.asgi): its own lean middleware stack
(formrecap/lean_handler.py) keeps the security headers and the database's 503, and drops what only pages need."""

import asyncio
import json

import pytest
from django.db import OperationalError

from formrecap.asgi import application
from formrecap.models import TraceChunk
from tests.conftest import SITE_ORIGIN

# The view runs on the bridge's own threads, with connections of their own: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def post(path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "server": ("testserver", 80)}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(application(scope, receive, send), 10))
    headers_sent = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    return sent[0]["status"], headers_sent, b"".join(message.get("body", b"") for message in sent[1:])


def ingest(batch: dict) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"content-type", b"text/plain;charset=UTF-8"), (b"origin", SITE_ORIGIN.encode())]
    return post("/api/v1/ingest/", json.dumps(batch).encode(), headers)


def test_a_batch_is_stored_with_the_security_headers_and_none_of_the_page_middleware(make_batch):
    batch = make_batch()
    status, headers, body = ingest(batch)
    assert status == 202, body
    assert TraceChunk.all_tenants.filter(session__session_uuid=batch["session_id"]).count() == 1
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware still runs
    assert headers["access-control-allow-origin"] == SITE_ORIGIN
    assert headers["content-length"] == str(len(body))  # without CommonMiddleware, set by the bridge
    # No cookie, CSP or frame options: the session, CSRF, CSP and clickjacking middleware are not on this path.
    assert not {"set-cookie", "content-security-policy", "x-frame-options"} & headers.keys()


def test_other_paths_keep_the_full_stack():
    status, headers, _body = post("/api/v1/sessions/", b"", [])
    assert status == 401
    assert "content-security-policy" in headers and headers["x-frame-options"] == "DENY"


def test_a_database_error_is_still_a_503_with_retry_after(make_batch, monkeypatch):
    def database_away(**_kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("formrecap.ingest.api.ingest_batch", database_away)
    status, headers, body = ingest(make_batch())
    assert status == 503
    assert headers["retry-after"] == "5"
    assert "database is unavailable" in json.loads(body)["detail"]
