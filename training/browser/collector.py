"""A local ingest endpoint that keeps every batch the snippet sends, grouped by site key (one per recorded session).

A real HTTP server rather than a Playwright route: a beacon sent while a page unloads (back button, closed tab,
a link) bypasses Playwright's routing, but it does reach a server, so visitors can leave the way people do
instead of having ``pagehide`` dispatched for them.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INGEST_PATH = "/api/v1/ingest/"


class Collector:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._batches: dict[str, dict[tuple[str, int], dict]] = defaultdict(dict)  # site key -> (session, seq) -> body
        self._received: dict[str, int] = defaultdict(int)  # bodies received, retries included
        self.refused: list[str] = []  # bodies that were not JSON batches (nothing the snippet should send)
        self._done: set[str] = set()  # site keys already taken: a late beacon (the page closing) is dropped
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector._keep(body)
                self.send_response(202)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="formrecap-collector", daemon=True)
        self._thread.start()
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self.endpoint = self.origin + INGEST_PATH

    def _keep(self, body: bytes) -> None:
        try:
            batch = json.loads(body)
            key = (batch["session_id"], batch["seq"])
            site_key = batch["site_key"]
        except (ValueError, KeyError, TypeError):
            with self._lock:
                self.refused.append(body[:200].decode("utf-8", "replace"))
            return
        with self._lock:
            if site_key in self._done:
                return
            self._batches[site_key][key] = batch  # a retry resends the same seq: kept once
            self._received[site_key] += 1
            self._lock.notify_all()

    def batches(self, site_key: str) -> list[dict]:
        with self._lock:
            return list(self._batches.get(site_key, {}).values())

    def received(self, site_key: str) -> int:
        with self._lock:
            return self._received.get(site_key, 0)

    def wait(self, ready, timeout: float) -> bool:
        """Block until ``ready()`` holds (checked whenever a batch arrives) or ``timeout`` seconds pass."""
        with self._lock:
            return self._lock.wait_for(ready, timeout=timeout)

    def forget(self, site_key: str) -> None:
        with self._lock:
            self._batches.pop(site_key, None)
            self._received.pop(site_key, None)
            self._done.add(site_key)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
