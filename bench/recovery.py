"""Recovery actions executed per second by ONE real Celery worker, enqueue-to-done latency, and a duplicate check.

    DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/formrecap_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/11 \\
        .venv/bin/python bench/recovery.py --executions 2000 --pool prefork --concurrency 2

(``--pool threads --concurrency 8`` overlaps the commits and HTTP waits of one process; ``--rate 30`` paces the
enqueue below the worker's capacity, so the latency is the action's own rather than time spent queued.)

The bench creates the database if it is missing and migrates it, then writes a fresh tenant and site, N abandoned
sessions with a prediction each, three rules (a signed webhook to a receiver on 127.0.0.1 in this process, suppress,
review) and one scheduled execution per session, split between the rules (``--webhook-share``, the rest half
suppress, half review). It starts one ``celery worker`` (``--pool``, ``--concurrency``) on a queue of its own, with
DEBUG=1 and FORMRECAP_WEBHOOK_ALLOW_LOOPBACK=1 so the loopback receiver is allowed, waits until it is ready, and
sends every execution through ``recovery.tasks.executions_enqueue`` as the decision does: all at once, or at
``--rate`` per second. When every execution is final it reads the database: actions per second (executions / time
from the first enqueue to the last finish), p50/p99 of enqueue-to-finish, and the duplicate check: the receiver
verified every signature (standardwebhooks) and acted on exactly one webhook-id per webhook execution, no request
repeated an id, every execution succeeded once per (session, rule), one review item per review execution.
Exit status 1 on FAIL. Defaults: DATABASE_URL as above, CELERY_BROKER_URL=redis://127.0.0.1:6379/15.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# This file is bench/recovery.py: with its folder first on sys.path, ``import recovery`` would find it, not the app.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

FINAL = ("succeeded", "skipped", "failed")


# ---------------------------------------------------------------- the webhook receiver


class Receiver(ThreadingHTTPServer):
    """Acts once per webhook-id, as a Standard Webhooks consumer should; counts every request."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.webhook = None  # a standardwebhooks.Webhook with the rule's secret, once the rule exists
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # webhook-id -> requests
        self.acted_on: dict[str, dict] = {}  # webhook-id -> the payload it acted on (once)
        self.unverified = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/formrecap"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        from standardwebhooks import WebhookVerificationError

        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            self.server.webhook.verify(body, headers)
            status = 200
        except WebhookVerificationError:
            status = 401
        webhook_id = headers.get("webhook-id", "")
        with self.server.lock:
            self.server.requests[webhook_id] += 1
            if status == 200:
                self.server.acted_on.setdefault(webhook_id, json.loads(body))
            else:
                self.server.unverified += 1
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


# ---------------------------------------------------------------- data


def create_workload(count: int, webhook_share: float, receiver_url: str):
    """Tenant, site, rules, and ``count`` sessions with a prediction and a scheduled execution each."""
    from django.utils import timezone

    from classifier.models import Prediction
    from formrecap.models import FormSession
    from formrecap.services import site_create, tenant_create
    from recovery.models import ActionExecution, RecoveryRule
    from recovery.webhooks import webhook_secret_create

    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tenant = tenant_create(name=f"Recovery bench {stamp}", slug=f"recovery-bench-{stamp}")
    site = site_create(tenant=tenant, name="recovery bench", allowed_origins=["https://bench.formrecap.test"])
    webhook = RecoveryRule.objects.create(
        tenant=tenant, site=site, action="webhook", params={"url": receiver_url}, name="bench hook"
    )
    secret = webhook_secret_create(rule=webhook)
    suppress = RecoveryRule.objects.create(tenant=tenant, site=site, action="suppress", name="bench suppress")
    review = RecoveryRule.objects.create(tenant=tenant, site=site, action="review", name="bench review")

    now = timezone.now()
    sessions = FormSession.objects.for_tenant(tenant).bulk_create(
        FormSession(
            tenant=tenant, site=site, session_uuid=uuid.uuid4(), form_id="signup", path="/signup", status="abandoned",
            visitor_ref=f"visitor-{i}", started_at=now, last_event_at=now, abandoned_at=now,
        )
        for i in range(count)
    )  # fmt: skip
    probabilities = {"1": 0.02, "2": 0.9, "3": 0.02, "4": 0.02, "5": 0.02, "6": 0.02}
    explanation = {"signals": ["idle 4 min after 3 fields"], "reason": "Steady progress, then a long inactivity."}
    predictions = Prediction.objects.for_tenant(tenant).bulk_create(
        Prediction(
            tenant=tenant, session=session, source="session", backend="embedded", code=2, probabilities=probabilities,
            confidence=0.9, calibrated=True, explanation=explanation, latency_ms=1.0,
        )
        for session in sessions
    )  # fmt: skip
    webhooks = round(count * webhook_share)

    def rule_of(i: int):
        if i < webhooks:
            return webhook
        return suppress if (i - webhooks) % 2 == 0 else review

    executions = ActionExecution.objects.for_tenant(tenant).bulk_create(
        ActionExecution(
            tenant=tenant, session=session, rule=rule_of(i), prediction=prediction, action=rule_of(i).action, class_code=2,
            confidence=0.9, status="scheduled", run_after=now, idempotency_key=f"{session.pk}:{rule_of(i).pk}",
            detail={"decision": "rule"},
        )
        for i, (session, prediction) in enumerate(zip(sessions, predictions, strict=True))
    )  # fmt: skip
    return tenant, secret, [e.pk for e in executions]


# ---------------------------------------------------------------- the worker


def start_worker(pool: str, concurrency: int, queue: str, log_path: Path) -> subprocess.Popen:
    env = os.environ | {
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "1",  # FORMRECAP_WEBHOOK_ALLOW_LOOPBACK counts only with DEBUG on
        "FORMRECAP_WEBHOOK_ALLOW_LOOPBACK": "1",
        "FORMRECAP_RECOVERY_QUEUE": queue,
        "LOG_LEVEL": "WARNING",  # one INFO line per task and per HTTP request would cost more than the bench measures
    }
    env.setdefault("CONN_MAX_AGE", "60")  # as deployed (docker/.env.example): a worker keeps its connection
    cmd = [sys.executable, "-m", "celery", "-A", "formrecap", "worker", f"--pool={pool}", f"--concurrency={concurrency}",
           "-Q", queue, "-n", f"bench-{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
           "--loglevel=WARNING"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)


def wait_ready(queue: str, worker: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    """Until the worker answers a ping (so its start is not counted)."""
    from formrecap.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            sys.exit(f"worker exited with {worker.returncode}; see {log_path}")
        if app.control.ping(destination=[f"bench-{queue}@{socket.gethostname()}"], timeout=0.5):
            return
    sys.exit(f"worker not ready after {timeout:.0f} s; see {log_path}")


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--webhook-share", type=float, default=0.5, help="share of webhook executions; the rest suppress/review")
    parser.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rate", type=float, default=0, help="executions enqueued per second (0: all at once)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for every execution to finish")
    args = parser.parse_args()
    if args.executions < 1 or not 0 <= args.webhook_share <= 1 or args.concurrency < 1:
        parser.error("--executions and --concurrency must be at least 1, --webhook-share within 0-1")

    os.environ.setdefault("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/formrecap_bench")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    queue = f"recovery-bench-{uuid.uuid4().hex[:8]}"
    os.environ["FORMRECAP_RECOVERY_QUEUE"] = queue  # this process sends to the worker's queue
    os.environ["DJANGO_SETTINGS_MODULE"] = "formrecap.settings"
    from bench.ingest import configure_database, database_description, percentile

    note = configure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from recovery.models import ActionExecution, ReviewItem
    from recovery.tasks import executions_enqueue

    if note:
        print(note)
    if connection.vendor != "postgresql":
        parser.error("needs PostgreSQL (DATABASE_URL=postgres://…): a worker and this process write at once")
    call_command("migrate", interactive=False, verbosity=0)

    from standardwebhooks import Webhook

    receiver = Receiver()
    tenant, secret, ids = create_workload(args.executions, args.webhook_share, receiver.url)
    receiver.webhook = Webhook(secret)
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    database = database_description()

    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / "recovery-worker.log"
    worker = start_worker(args.pool, args.concurrency, queue, log_path)
    enqueued_at: dict[int, float] = {}
    try:
        wait_ready(queue, worker, log_path)
        started = time.time()
        # All at once, or paced in small batches (about 50 a second).
        batch_size = len(ids) if args.rate <= 0 else max(1, round(args.rate / 50))
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            if args.rate > 0:
                time.sleep(max(0.0, started + start / args.rate - time.time()))
            now = time.time()
            enqueued_at.update(dict.fromkeys(batch, now))
            executions_enqueue(batch)  # outside a transaction: sent at once
        enqueue_seconds = time.time() - started
        executions = ActionExecution.objects.for_tenant(tenant)
        deadline = time.monotonic() + args.timeout
        while executions.filter(status__in=FINAL).count() < len(ids):
            if time.monotonic() > deadline or worker.poll() is not None:
                print(f"not finished: {dict(Counter(executions.values_list('status', flat=True)))}; see {log_path}")
                return 1
            time.sleep(0.1)
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        receiver.shutdown()

    rows = list(
        executions.values_list("pk", "action", "status", "attempts", "finished_at", "idempotency_key", "session_id", "rule_id")
    )
    latencies = sorted(finished.timestamp() - enqueued_at[pk] for pk, _, _, _, finished, *_ in rows)
    finishes = sorted(row[4].timestamp() for row in rows)
    wall = finishes[-1] - started
    by_action = Counter(action for _, action, *_ in rows)
    statuses = Counter(status for _, _, status, *_ in rows)
    webhook_keys = {key for _, action, _, _, _, key, _, _ in rows if action == "webhook"}

    problems = []
    if statuses != Counter({"succeeded": len(ids)}):
        problems.append(f"statuses {dict(statuses)}, expected all {len(ids)} succeeded")
    if any(attempts != 1 for _, _, _, attempts, *_ in rows):
        problems.append("some executions took more than one attempt")
    if set(receiver.acted_on) != webhook_keys:
        problems.append(
            f"receiver acted on {len(receiver.acted_on)} webhook-ids, expected the {len(webhook_keys)} of the webhook executions"
        )
    repeated = sum(n - 1 for n in receiver.requests.values())
    if repeated:
        problems.append(f"{repeated} requests repeated a webhook-id")
    if receiver.unverified:
        problems.append(f"{receiver.unverified} requests failed signature verification")
    acted_per_execution = Counter((p["data"]["session"]["id"], p["data"]["rule"]) for p in receiver.acted_on.values())
    duplicates = sum(n - 1 for n in acted_per_execution.values())
    if duplicates:
        problems.append(f"{duplicates} executions acted on twice by the receiver")
    per_pair = executions.values("session", "rule").annotate(n=Count("id")).filter(n__gt=1).count()
    if per_pair:
        problems.append(f"{per_pair} (session, rule) pairs with more than one execution")
    reviews = ReviewItem.objects.for_tenant(tenant).count()
    if reviews != by_action["review"]:
        problems.append(f"{reviews} review items for {by_action['review']} review executions")

    p50, p99 = (percentile(latencies, pct) for pct in (50, 99))
    print(
        f"worker:      one `celery worker --pool={args.pool} --concurrency={args.concurrency}`, {os.cpu_count()} CPUs on this machine"
    )
    print(f"database:    {database}; broker {os.environ['CELERY_BROKER_URL']}")
    mix = ", ".join(f"{action} {n}" for action, n in sorted(by_action.items()))
    print(
        f"executions:  {len(ids)} ({mix}); enqueued {'all at once' if args.rate <= 0 else f'at {args.rate:g}/s'} in {enqueue_seconds:.2f} s"
    )
    print(f"throughput:  {len(ids) / wall:,.1f} actions/s ({len(ids)} in {wall:.2f} s, first enqueue to last finish)")
    print(
        f"             {(len(ids) - 1) / max(1e-9, finishes[-1] - finishes[0]):,.1f} actions/s from the first finish to the last"
    )
    print(f"latency:     enqueue to done p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, max {latencies[-1] * 1000:,.0f} ms")
    print(
        f"DUPLICATE CHECK: receiver got {sum(receiver.requests.values())} requests, acted on {len(receiver.acted_on)} distinct "
        f"webhook-ids for {len(webhook_keys)} webhook executions; repeated ids {repeated}; duplicate side effects {duplicates}"
    )
    for problem in problems:
        print(f"  - {problem}")
    print("PASS" if not problems else f"FAIL ({len(problems)} problems; worker log: {log_path})")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
