"""Django's WSGI app served by an ASGI server: bodies read on the event loop, views run on a fixed pool of threads.

The event loop reads each request body whole, so a slow or stalled upload costs a socket and never a thread; only
then does the request go to one of ``threads`` long-lived threads, each keeping its own database connection
between requests. Django's own ASGI handler starts a new thread per request (its sync views run in a per-request
context), which on the ingest path cost twice the CPU of a sync worker (bench/ingest.py); this costs one hand-off:
a queue put, and one wake-up of the loop when the answer is ready (an executor's chained futures cost a tenth of a
worker's CPU per batch).

The request body is capped (413 past ``max_body_bytes``): Django's own limits and the endpoints' caps still apply
below it, but nothing larger than the cap is ever held in memory.
"""

import asyncio
import contextlib
import io
import json
import queue
import sys
import threading

BODILESS_STATUSES = frozenset({204, 304})  # never a Content-Length (RFC 9110)


class BufferedWsgiBridge:
    """``routes`` maps exact paths to a WSGI app of their own (formrecap.asgi: the ingest endpoint's lean Django
    handler); every other request goes to ``wsgi_app``."""

    def __init__(self, wsgi_app, *, threads: int, max_body_bytes: int, routes: dict | None = None) -> None:
        self.wsgi_app = wsgi_app
        self.routes = routes or {}
        self.max_body_bytes = max_body_bytes
        self.views = ViewThreads(threads=threads)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here: the server closes the connection
        body = await self._body(receive)
        if body is None:
            await send_json(send, 413, f"request body is larger than {self.max_body_bytes} bytes")
            return
        app = self.routes.get(scope["path"], self.wsgi_app)
        status, headers, chunks = await self.views.run(app, wsgi_environ(scope, body))
        content = b"".join(chunks)
        if status not in BODILESS_STATUSES and not any(name == b"content-length" for name, _value in headers):
            headers.append((b"content-length", str(len(content)).encode()))  # whole: no chunked encoding needed
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _body(self, receive) -> bytes | None:
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.views.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


class ViewThreads:
    """``threads`` long-lived threads that run WSGI apps for requests queued from any event loop. Started at
    the first request, so a server that imports the app before forking its workers starts them in each worker."""

    def __init__(self, *, threads: int) -> None:
        self.count = threads
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    async def run(self, app, environ: dict) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
        """``app``'s status, headers and body chunks for ``environ``, computed on one of the threads."""
        if not self.threads:
            self._start()
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self.jobs.put((app, environ, loop, answer))
        return await answer

    def stop(self) -> None:
        """Each thread ends once the requests queued before this are done."""
        with self.lock:
            for _ in self.threads:
                self.jobs.put(None)
            self.threads = []

    def _start(self) -> None:
        with self.lock:
            while len(self.threads) < self.count:
                thread = threading.Thread(target=self._serve, name=f"formrecap-web_{len(self.threads)}", daemon=True)
                thread.start()
                self.threads.append(thread)

    def _serve(self) -> None:
        while (job := self.jobs.get()) is not None:
            # Run even when its client has gone: a page's last batch is sent as it unloads, by a client that may not
            # wait for the answer, and nothing else would deliver it.
            app, environ, loop, answer = job
            try:
                outcome, failure = call_wsgi(app, environ), None
            except BaseException as exc:  # handed to the request's coroutine, which raises it there
                outcome, failure = None, exc
            with contextlib.suppress(RuntimeError):  # that request's loop is closed: nobody waits for the answer
                loop.call_soon_threadsafe(_settle, answer, outcome, failure)


def _settle(answer: asyncio.Future, outcome, failure: BaseException | None) -> None:
    if answer.done():
        return  # the request was cancelled (its client went away) while its view ran
    if failure is not None:
        answer.set_exception(failure)
    else:
        answer.set_result(outcome)


def wsgi_environ(scope: dict, body: bytes) -> dict:
    """PEP 3333's environ for an ASGI HTTP scope whose body is ``body`` (read whole, so its length is known)."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ = {
        "REQUEST_METHOD": scope["method"],
        # WSGI strings are bytes decoded as latin-1 (PEP 3333); ASGI's path is already unescaped UTF-8.
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the body's own length (a chunked upload has none, and it is whole now)
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def call_wsgi(app, environ: dict) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    """Run the WSGI app to the end on this thread: its status, headers and body chunks."""
    chunks: list[bytes] = []
    started: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(chunk for chunk in result if chunk)
    finally:
        if hasattr(result, "close"):
            result.close()  # Django's request_finished: connections closed or kept per CONN_MAX_AGE
    return started["status"], started["headers"], chunks


async def send_json(send, status: int, detail: str, *, close: bool = True) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
