"""Faults under load, on real services: PostgreSQL restarted and a Celery worker killed during a stream of batches.

The whole stack runs as it is deployed, in processes of its own: gunicorn (2 asgi workers, a pool of database
connections each), a Celery worker (solo pool) on a Redis queue of its own, on a PostgreSQL cluster of the test's own
(initdb into a temporary folder, so restarting it touches nothing else). Visitors send sessions of three batches,
the last one leaving the page, and retry like the snippet (any 5xx, 429 or network error, after Retry-After or a
backoff). Meanwhile PostgreSQL stops for a few seconds and comes back, and the worker is killed (SIGKILL) and
started again. Afterwards the catch-up tasks run once, as beat would run them.

Then: no answer was a 500 (a 503 with Retry-After while the database was away), every batch was stored exactly
once, every session was abandoned and has a prediction, and every recovery action was planned once and reached its
endpoint with one webhook-id and one body (a local webhook receiver counts deliveries by their webhook-id; one in
flight when the worker was killed arrives again, identical, which a Standard Webhooks receiver acts on once).
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.workers import new_queue

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from servers import GUNICORN_ARGS  # noqa: E402 (the benchmarks' helpers are scripts, not a package)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]

REPO = Path(__file__).resolve().parents[1]
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1] if Path("/usr/lib/postgresql").exists() else None
SESSIONS, BATCHES, VISITORS = 48, 3, 6
PACE_SECONDS = 0.4  # between a visitor's batches: the stream lasts about 10 s, across both faults
ORIGIN = "https://faults.example.com"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, run by the postgres OS user (initdb refuses root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="formrecap-faults-pg-"))
        self.port = free_port()
        shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")

    def _as_postgres(self, *cmd) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, cmd)], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log", "-w", "start")

    def stop(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class WebhookReceiver(ThreadingHTTPServer):
    """Counts deliveries by webhook-id (one id per recovery action) and keeps each one's bodies: a Standard Webhooks
    receiver acts on an id once, so a redelivery must repeat the same id and the same bytes."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.bodies: dict[str, set[bytes]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                webhook_id = self.headers.get("webhook-id", "")
                receiver.deliveries[webhook_id] += 1
                receiver.bodies.setdefault(webhook_id, set()).add(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def run_django(env: dict, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


SEED = """
from formrecap.services import site_create, tenant_create
from recovery.services import recovery_rule_create
tenant = tenant_create(name="Faults", slug="faults")
site = site_create(tenant=tenant, name="faults", allowed_origins=["{origin}"])
site.outreach_delay_seconds = 0
site.save(update_fields=["outreach_delay_seconds"])
recovery_rule_create(tenant=tenant, action="webhook", holdout_share=0.0, params={{"url": "{hook}"}})
print(site.site_key)
"""

REPORT = """
import json
from classifier.models import Prediction
from formrecap.models import FormSession, TraceChunk
from recovery.models import ActionExecution
sessions = FormSession.all_tenants.filter(tenant__slug="faults")
chunks = TraceChunk.all_tenants.filter(session__in=sessions)
executions = ActionExecution.all_tenants.filter(session__in=sessions)
print(json.dumps({
    "sessions": sessions.count(),
    "abandoned": sessions.filter(status="abandoned").count(),
    "chunks": list(chunks.values_list("session__session_uuid", "seq", "event_count")),
    "predicted": Prediction.all_tenants.filter(session__in=sessions, final=True).values("session").distinct().count(),
    "planned": sessions.filter(planned_at__isnull=False).count(),
    "executions": list(executions.values_list("session_id", "idempotency_key", "status")),
}, default=str))
"""


class Visitors:
    """Sessions of three batches sent like the snippet: in order, each retried until stored."""

    def __init__(self, port: int, site_key: str) -> None:
        self.port, self.site_key = port, site_key
        self.answers: Counter[int] = Counter()
        self.retry_after_on_503 = 0
        self.sent: dict[str, list[int]] = {}
        self.spans: list[tuple[float, float]] = []  # (start, end) of every request
        self.lock = threading.Lock()

    def batch(self, session_id: str, seq: int) -> bytes:
        ts = 1000 * seq
        events = [{"type": "focus", "field": "email", "ts": ts + 10}]
        events += [{"type": "input", "field": "email", "ts": ts + 100 + 50 * i} for i in range(8)]
        events += [{"type": "blur", "field": "email", "ts": ts + 600, "validation": "invalid_format"}]
        if seq == BATCHES - 1:
            events.append({"type": "exit", "ts": ts + 900})
        body = {"site_key": self.site_key, "session_id": session_id, "seq": seq, "form": {"id": "signup", "path": "/"}}
        return json.dumps(body | {"events": events, "sent_at": ts + 950}).encode()

    def send(self, body: bytes) -> int:
        import http.client

        for attempt in range(30):
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("POST", "/api/v1/ingest/", body=body, headers={"Content-Type": "text/plain", "Origin": ORIGIN})
                response = conn.getresponse()
                response.read()
                status, retry_after = response.status, response.getheader("Retry-After")
            except OSError:
                status, retry_after = 0, None
            finally:
                conn.close()
            with self.lock:
                self.spans.append((started, time.monotonic()))
                self.answers[status] += 1
                self.retry_after_on_503 += status == 503 and retry_after is not None
            if status in (200, 202):
                return status
            if status and status < 500 and status != 429:
                return status  # refused for good: the snippet gives up too
            time.sleep(min(float(retry_after or 0.5), 1.0) if retry_after else min(0.25 * 2**attempt, 2.0))
        return status

    def visit(self, sessions: list[str]) -> None:
        for session_id in sessions:
            for seq in range(BATCHES):
                status = self.send(self.batch(session_id, seq))
                with self.lock:
                    self.sent.setdefault(session_id, []).append(status)
                time.sleep(PACE_SECONDS)


@pytest.fixture
def stack():
    if os.geteuid() != 0 or PG_BIN is None or shutil.which("runuser") is None:
        pytest.skip("needs root and a local PostgreSQL installation (initdb) to run a private cluster")
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://… (use `make test`)")
    postgres = PrivatePostgres()
    processes: list[subprocess.Popen] = []
    try:
        postgres.start()
        subprocess.run([PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "faults"], check=True)
        yield postgres, processes
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        postgres.remove()


def test_a_database_restart_and_a_killed_worker_lose_nothing_and_run_nothing_twice(stack, tmp_path):
    from django.conf import settings

    postgres, processes = stack
    receiver = WebhookReceiver()
    queue = new_queue()
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url("faults"),
        "CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "FORMRECAP_INGEST_RATE": "",
        "DEBUG": "1",  # the loopback webhook receiver is allowed only with DEBUG on
        "FORMRECAP_WEBHOOK_ALLOW_LOOPBACK": "1",
        "FORMRECAP_MODEL_DIR": str(tmp_path / "models"),
        # A killed worker's unacknowledged messages come back after the broker's visibility timeout (an hour by
        # default): short here, with the countdowns that must stay below it, so the test sees them come back.
        "CELERY_VISIBILITY_TIMEOUT": "20",
        "FORMRECAP_RECOVERY_MAX_COUNTDOWN": "5",
        "FORMRECAP_RECOVERY_RETRY_MAX_SECONDS": "10",
        "FORMRECAP_TRAINING_POLL_SECONDS": "5",
        "FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS": "10",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True, timeout=300)
    subprocess.run(
        [sys.executable, "manage.py", "train_embedded", "--activate"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    site_key = run_django(env, SEED.format(origin=ORIGIN, hook=f"http://127.0.0.1:{receiver.server_port}/hook")).splitlines()[-1]

    def start(cmd: list[str], log: str) -> subprocess.Popen:
        process = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=(tmp_path / log).open("a"), stderr=subprocess.STDOUT, start_new_session=True
        )
        processes.append(process)
        return process

    port = free_port()
    # The production server as deployed (bench/servers.py, docker/Dockerfile): asgi workers, a connection pool.
    env |= {"DB_POOL": "1", "CONN_MAX_AGE": "0"}
    start([sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}", "--workers", "2"], "web.log")
    worker_cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "formrecap",
        "worker",
        "--pool=solo",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    worker = start(worker_cmd, "worker.log")
    visitors = Visitors(port, site_key)
    wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/snippet/v1/formrecap.js", timeout=5), 60, "gunicorn")

    ids = [str(uuid.uuid4()) for _ in range(SESSIONS)]
    threads = [threading.Thread(target=visitors.visit, args=(ids[i::VISITORS],)) for i in range(VISITORS)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    outage_started = time.monotonic()
    postgres.stop()  # the database goes away mid-stream...
    time.sleep(3)
    postgres.start()  # ...and comes back
    outage_ended = time.monotonic()
    time.sleep(1)
    os.killpg(worker.pid, signal.SIGKILL)  # a worker dies mid-task, its tasks unacknowledged
    worker.wait()
    start(worker_cmd, "worker.log")
    for thread in threads:
        thread.join(timeout=180)

    # What beat runs every few minutes: sessions whose classification or plan was lost get them now.
    from formrecap.celery import app

    def catch_up() -> None:
        for task in ("classifier.classify_unclassified", "recovery.plan_unplanned", "recovery.dispatch_due"):
            app.send_task(task, queue=queue)

    report: dict = {}

    def settled() -> bool:
        report.update(json.loads(run_django(env, REPORT).splitlines()[-1]))
        done = report["predicted"] == report["planned"] == SESSIONS
        done = done and all(status not in ("scheduled", "running") for _, _, status in report["executions"])
        if not done:
            catch_up()
        return done

    summary = lambda: {k: (v if isinstance(v, int) else Counter(x[-1] for x in v)) for k, v in report.items()}  # noqa: E731
    wait_until(settled, 150, "every session classified, planned and its action delivered", interval=5, state=summary)

    answers = dict(visitors.answers)
    print(f"answers: {answers}; 503 with Retry-After: {visitors.retry_after_on_503}; deliveries: {len(receiver.deliveries)}")
    print(f"requests in flight during the outage: {sum(1 for a, b in visitors.spans if a < outage_ended and b > outage_started)}")
    assert 500 not in answers, answers
    # Requests met the outage: answered 503, or held by the connection pool until the database was back.
    during = [span for span in visitors.spans if span[0] < outage_ended and span[1] > outage_started]
    assert len(during) >= VISITORS // 2, "the database restart was not seen by the stream"
    assert answers.get(503, 0) == visitors.retry_after_on_503  # every 503 said when to come back
    assert all(statuses[-1] in (200, 202) for statuses in visitors.sent.values()), visitors.sent
    stored = Counter((session, seq) for session, seq, _ in report["chunks"])
    assert sorted(stored) == sorted((session, seq) for session in ids for seq in range(BATCHES))
    assert set(stored.values()) == {1}
    assert report["abandoned"] == SESSIONS and report["predicted"] == SESSIONS
    per_session = Counter(session for session, _, _ in report["executions"])
    assert len(per_session) >= SESSIONS // 2 and set(per_session.values()) == {1}  # planned once per session
    delivered = {key for _, key, status in report["executions"] if status == "succeeded"}
    # Each action reached its endpoint: once, or again with the same id and bytes when a worker was killed between
    # the POST and its record (at least once on the wire, acted on once by a receiver deduping on webhook-id).
    assert set(receiver.deliveries) == delivered
    assert all(len(bodies) == 1 for bodies in receiver.bodies.values()), "a redelivery changed the body"
    redelivered = sum(1 for n in receiver.deliveries.values() if n > 1)
    print(f"webhook ids: {len(receiver.deliveries)}, redelivered after a killed worker: {redelivered}")
    assert redelivered <= 1, receiver.deliveries  # a solo worker has one action in flight when it is killed
    receiver.shutdown()


def wait_until(condition, timeout: float, what: str, interval: float = 0.5, state=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} {state()}")
