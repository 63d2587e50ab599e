"""ASGI entry point for gunicorn's ``asgi`` worker (the production server): slow clients cost a socket, not a worker.

The event loop reads each request body while other requests run; Django runs a view only once its body is in, on
one of a fixed pool of threads (formrecap/wsgi_bridge.py). A body that has not fully arrived within
FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS of the request's start is answered 408 and the connection closed, so a
client that stalls mid-upload holds nothing for long.
"""

import asyncio
import os

from django.core.wsgi import get_wsgi_application
from django.urls import reverse

from formrecap.lean_handler import INGEST_MIDDLEWARE, LeanWSGIHandler
from formrecap.wsgi_bridge import BufferedWsgiBridge, send_json

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formrecap.settings")


class BodyDeadlineExpired(Exception):
    """The request body did not arrive in time (raised inside the app's receive, caught by the wrapper)."""


class RequestBodyDeadline:
    """ASGI middleware: the whole request body must arrive within ``seconds`` of the request, or a 408."""

    def __init__(self, app, *, seconds: float):
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False
        response_started = False

        async def receive_within_deadline():
            nonlocal body_done
            if body_done:
                return await receive()  # after the body: Django waits for the client's disconnect, unbounded
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise BodyDeadlineExpired
            try:
                async with asyncio.timeout(remaining):  # a timer, where wait_for would wrap receive in a task
                    message = await receive()
            except TimeoutError:
                raise BodyDeadlineExpired from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message):
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_within_deadline, tracked_send)
        except BodyDeadlineExpired:
            if not response_started:
                await send_request_timeout(send, self.seconds)


async def send_request_timeout(send, seconds: float) -> None:
    await send_json(send, 408, f"request body not received within {seconds:g} s (FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS)")


def load_on_boot() -> None:
    """Import now what each worker's first requests would otherwise import while visitors wait: the URLconf with
    every view, and the Celery broker's transport (without connecting). On the ingest path these lazy imports were
    a tenth of a fresh worker's CPU in its first seconds (bench/ingest.py, py-spy)."""
    from django.urls import get_resolver

    from formrecap.celery import app as celery_app

    get_resolver().url_patterns  # noqa: B018 -- the property imports the URLconf
    if not celery_app.conf.task_always_eager:
        celery_app.producer_pool  # noqa: B018 -- the property resolves (imports) the broker transport


def build_application():
    django_app = get_wsgi_application()
    from django.conf import settings

    if settings.FORMRECAP_PROFILE == "production":
        # gunicorn runs no system checks: a worker that would serve a broken deployment fails to boot instead.
        from formrecap.checks import refuse_to_start_on_check_errors

        refuse_to_start_on_check_errors()
    load_on_boot()
    # Nothing larger than the largest body an endpoint accepts (plus room for a multipart envelope) is buffered.
    max_body = max(settings.FORMRECAP_API_MAX_BODY_BYTES, settings.FORMRECAP_INGEST_MAX_BODY_BYTES) + 2**20
    # The snippet's batches, the hottest path, skip the middleware that only pages and the API need.
    routes = {reverse("ingest"): LeanWSGIHandler(INGEST_MIDDLEWARE)}
    bridge = BufferedWsgiBridge(django_app, threads=settings.FORMRECAP_WEB_THREADS, max_body_bytes=max_body, routes=routes)
    return RequestBodyDeadline(bridge, seconds=settings.FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS)


application = build_application()
