"""Slow clients against the production server: stalled uploads must not stall anyone else.

Starts the server exactly as bench/servers.py (and so docker/ and the README) does, on a SQLite file of its own,
opens 50 connections that send the headers and 50 bytes of a 60 KB ingest body and then stall, times normal
requests meanwhile (the snippet, the landing page and valid ingest batches), then checks that every stalled
upload is answered with a 4xx (or closed) once the body deadline passes, never a 500.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from servers import free_port, percentile, start_server, wait_ready  # noqa: E402

ORIGIN = "https://shop.example"
STALLED = 50
BODY_DEADLINE_SECONDS = 8
WORKERS = 2


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def server(tmp_path):
    """The production server on a migrated SQLite file with one site; yields (port, site_key)."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'slow.sqlite3'}",
        "FORMRECAP_INGEST_RATE": "",
        "FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_DEADLINE_SECONDS),
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        env[name] = ""
    full_env = os.environ | {"DJANGO_SETTINGS_MODULE": "formrecap.settings"} | env
    _manage(full_env, "migrate", "--noinput", "-v0")
    site_key = _manage(
        full_env,
        "shell",
        "-v0",
        "-c",
        "from formrecap.services import site_create, tenant_create; "
        f"print(site_create(tenant=tenant_create(name='Slow'), name='shop', allowed_origins=['{ORIGIN}']).site_key)",
    ).split()[-1]
    port = free_port()
    log_path = tmp_path / "server.log"
    process = start_server("gunicorn", WORKERS, port, log_path, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log_path)
        yield port, site_key
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _stall(port: int) -> socket.socket:
    """Headers announcing a 60 KB ingest body, then 50 bytes of it, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = (
        "POST /api/v1/ingest/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Origin: {ORIGIN}\r\n"
        "Content-Length: 60000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"site_key":"' + b"x" * 37)
    return sock


def _batch(site_key: str) -> bytes:
    events = [{"type": "focus", "field": "email", "ts": 1000}, {"type": "input", "field": "email", "ts": 1200}]
    payload = {
        "site_key": site_key,
        "session_id": str(uuid.uuid4()),
        "seq": 0,
        "form": {"id": "signup", "path": "/signup"},
        "events": events,
        "sent_at": 1300,
    }
    return json.dumps(payload).encode()


def _timed_request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, float, bytes]:
    started = time.perf_counter()
    answer = b""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        status = response.status
    except OSError:
        status = 0  # a timeout counts as the slowest possible answer
    finally:
        conn.close()
    return status, time.perf_counter() - started, answer


def _final_status(sock: socket.socket, wait: float) -> int | None:
    """The status a stalled upload is finally answered with: 0 when closed without one, None when still open."""
    sock.settimeout(wait)
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return None
    except ConnectionResetError:
        data = b""
    finally:
        sock.close()
    return int(data.split(b" ", 2)[1]) if data else 0


def test_fifty_stalled_uploads_do_not_stall_other_requests(server):
    port, site_key = server
    stalled_at = time.monotonic()
    stalled = [_stall(port) for _ in range(STALLED)]
    time.sleep(0.5)  # let the server take every stalled connection first

    timings, statuses, refusals = [], [], []
    for i in range(200):
        if i % 4 == 0:
            status, seconds, answer = _timed_request(port, "POST", "/api/v1/ingest/", _batch(site_key))
        elif i % 4 == 1:
            status, seconds, answer = _timed_request(port, "GET", "/")
        else:
            status, seconds, answer = _timed_request(port, "GET", "/snippet/v1/formrecap.js")
        timings.append(seconds)
        statuses.append(status)
        if status not in (200, 202):
            refusals.append((status, answer[:300]))
        if sum(t >= 1.0 for t in timings) > 2:
            break  # three slow answers in 200 already put p99 over a second
    measured_within = time.monotonic() - stalled_at

    p99 = percentile(sorted(timings), 99) if len(timings) == 200 else max(timings)
    assert p99 < 1.0, f"p99 {p99 * 1000:.0f} ms during {STALLED} stalled uploads (statuses {sorted(set(statuses))})"
    assert not refusals, refusals[:3]
    # The figures above were taken while every upload was still stalled.
    assert measured_within < BODY_DEADLINE_SECONDS, f"measuring took {measured_within:.1f} s"

    # Once the body deadline passes each stalled upload is refused (408) or closed, never a 500.
    finals = [_final_status(sock, BODY_DEADLINE_SECONDS + 10) for sock in stalled]
    print(f"{len(timings)} requests, p99 {p99 * 1000:.0f} ms during {STALLED} stalled uploads; they ended {Counter(finals)}")
    assert None not in finals, "a stalled upload was still open long after the body deadline"
    assert all(status == 0 or 400 <= status < 500 for status in finals), finals
