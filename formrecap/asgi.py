"""ASGI entry point for gunicorn's ``asgi`` worker (the production server): slow clients cost a socket, not a worker.

The event loop reads each request body while other requests run; Django runs a view only once its body is in.
A body that has not fully arrived within FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS of the request's start is
answered 408 and the connection closed, so a client that stalls mid-upload holds nothing for long.
"""

import asyncio
import json
import os

from django.core.asgi import get_asgi_application

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
                message = await asyncio.wait_for(receive(), remaining)
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
    detail = f"request body not received within {seconds:g} s (FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS)"
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_application():
    django_app = get_asgi_application()
    from django.conf import settings

    if settings.FORMRECAP_PROFILE == "production":
        # gunicorn runs no system checks: a worker that would serve a broken deployment fails to boot instead.
        from formrecap.checks import refuse_to_start_on_check_errors

        refuse_to_start_on_check_errors()
    return RequestBodyDeadline(django_app, seconds=settings.FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS)


application = build_application()
