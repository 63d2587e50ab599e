"""The production server's bridge: bodies read whole on the event loop, then the WSGI app on a pool of threads."""

import asyncio
import json
import threading

from formrecap.wsgi_bridge import BufferedWsgiBridge


def echo(environ, start_response):
    """Answers what it was given, as JSON, in two chunks (a streaming response)."""
    seen = {key: value for key, value in environ.items() if isinstance(value, str)}
    seen["body"] = environ["wsgi.input"].read().decode()
    seen["thread"] = threading.current_thread().name
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Two", "2")])
    payload = json.dumps(seen).encode()
    return [payload[:10], payload[10:]]


def serve(app, scope: dict, body_parts: list[bytes]) -> tuple[int, dict, bytes]:
    messages = [{"type": "http.request", "body": part, "more_body": i < len(body_parts) - 1} for i, part in enumerate(body_parts)]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent[0], b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/api/v1/ingest/é",
    "query_string": b"a=1&b=%20",
    "http_version": "1.1",
    "scheme": "https",
    "server": ("recap.example.com", 443),
    "client": ("203.0.113.9", 5555),
    "headers": [
        (b"content-type", b"text/plain"),
        (b"transfer-encoding", b"chunked"),
        (b"x-forwarded-for", b"198.51.100.1"),
        (b"x-forwarded-for", b"10.0.0.1"),
    ],
}


def test_a_chunked_body_arrives_whole_with_its_length_and_the_request_as_wsgi_expects_it():
    app = BufferedWsgiBridge(echo, threads=2, max_body_bytes=1000)
    status, headers, body = serve(app, SCOPE, [b"hello ", b"world"])
    seen = json.loads(body)
    assert status == 201 and headers["content-type"] == "application/json" and headers["x-two"] == "2"
    assert seen["body"] == "hello world" and seen["CONTENT_LENGTH"] == "11"
    assert seen["PATH_INFO"] == "/api/v1/ingest/é".encode().decode("latin-1")  # PEP 3333: bytes as latin-1
    assert (seen["QUERY_STRING"], seen["REQUEST_METHOD"], seen["wsgi.url_scheme"]) == ("a=1&b=%20", "POST", "https")
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"], seen["REMOTE_ADDR"]) == ("recap.example.com", "443", "203.0.113.9")
    assert seen["CONTENT_TYPE"] == "text/plain" and seen["HTTP_X_FORWARDED_FOR"] == "198.51.100.1,10.0.0.1"
    assert seen["thread"].startswith("formrecap-web")  # a pool thread, not the event loop


def test_a_body_past_the_cap_is_413_and_never_reaches_the_app():
    called = []
    app = BufferedWsgiBridge(lambda environ, start: called.append(1), threads=1, max_body_bytes=10)
    status, headers, body = serve(app, SCOPE, [b"x" * 6, b"y" * 6])
    assert status == 413 and json.loads(body) == {"detail": "request body is larger than 10 bytes"}
    assert headers["connection"] == "close" and called == []


def test_threads_are_reused_across_requests():
    app = BufferedWsgiBridge(echo, threads=1, max_body_bytes=1000)
    names = {json.loads(serve(app, SCOPE, [b"x"])[2])["thread"] for _ in range(5)}
    assert len(names) == 1  # the same thread, so its database connection too


def answer(status: str, body: bytes):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")])
        return [body]

    return app


def test_a_routed_path_goes_to_its_own_app_and_every_answer_has_its_length():
    app = BufferedWsgiBridge(echo, threads=1, max_body_bytes=1000, routes={"/hot/": answer("202 Accepted", b"fast")})
    status, headers, body = serve(app, {**SCOPE, "path": "/hot/"}, [b"x"])
    assert (status, body, headers["content-length"]) == (202, b"fast", "4")
    status, headers, body = serve(app, {**SCOPE, "path": "/hot/x"}, [b"x"])  # exact paths only
    assert status == 201 and headers["content-length"] == str(len(body))


def test_a_no_content_answer_gets_no_length():
    app = BufferedWsgiBridge(answer("204 No Content", b""), threads=1, max_body_bytes=1000)
    status, headers, _body = serve(app, SCOPE, [b""])
    assert status == 204 and "content-length" not in headers
