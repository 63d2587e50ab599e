"""The production ASGI application's body deadline (formrecap/asgi.py), driven by hand-made ASGI messages."""

import asyncio
import json

from formrecap.asgi import RequestBodyDeadline, application

HTTP_SCOPE = {"type": "http", "method": "POST", "path": "/api/v1/ingest/", "headers": []}


async def echo_body(scope, receive, send):
    """An app that answers 200 with the body it read."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def run(app, messages: list[dict], *, stall_after: bool) -> list[dict]:
    """Feed ``messages`` to ``app``, then stall forever (or report a disconnect); return what it sent."""
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        if stall_after:
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(HTTP_SCOPE, receive, send), 5))
    return sent


def test_a_stalled_body_is_answered_408_naming_the_deadline():
    app = RequestBodyDeadline(echo_body, seconds=0.2)
    sent = run(app, [{"type": "http.request", "body": b'{"site_key":', "more_body": True}], stall_after=True)
    assert sent[0]["status"] == 408
    detail = json.loads(sent[1]["body"])["detail"]
    assert "request body not received within 0.2 s" in detail
    assert "FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS" in detail


def test_a_body_in_time_reaches_the_app_whole():
    app = RequestBodyDeadline(echo_body, seconds=1)
    chunks = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]
    sent = run(app, chunks, stall_after=True)
    assert [sent[0]["status"], sent[1]["body"]] == [200, b"abcd"]


def test_django_behind_the_deadline_serves_a_request():
    # formrecap.asgi.application is what gunicorn runs: Django itself, wrapped.
    scope = {**HTTP_SCOPE, "method": "GET", "path": "/snippet/v1/formrecap.js", "server": ("testserver", 80)}
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # no disconnect: Django stops listening once it has answered

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(application(scope, receive, send), 10))
    assert sent[0]["status"] == 200


def test_a_worker_loads_the_urlconf_and_the_broker_transport_when_it_boots():
    # Otherwise each fresh worker imports them during its first requests, while visitors wait.
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, formrecap.asgi; print('formrecap.urls' in sys.modules, 'kombu.transport.redis' in sys.modules)"
    env = {**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "CELERY_TASK_ALWAYS_EAGER": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
