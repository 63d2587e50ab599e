"""Recovery actions on real Celery workers (Redis broker, PostgreSQL) delivering webhooks to a local receiver:
a 503 retried by the worker, a long delay sent by the dispatcher, and a worker SIGKILLed inside a slow delivery
whose redelivered task completes on a new worker without any side effect happening twice.

The workers run with a 6 s broker visibility timeout, so Redis hands a dead worker's message out again quickly.
Restoring looks at every unacknowledged message on the broker's Redis database: run these tests on a broker
database no other worker uses (``make test`` does).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count

from recovery.models import ActionExecution
from recovery.tasks import dispatch_due_task, executions_enqueue
from tests.recovery.actions import Receiver, abandoned_session, receiving, rule_for, scheduled_execution
from tests.workers import new_queue, require_redis_broker, tasks_sent_to_the_broker, worker_env

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 6
FINAL = {"succeeded", "skipped", "failed"}


class Workers:
    """Starts ``celery worker`` processes (one at a time in these tests) on a queue of their own; stops them."""

    def __init__(self, env: dict, queue: str, logs: Path):
        self.env, self.queue, self.logs = env, queue, logs
        self.processes: list[subprocess.Popen] = []

    def start(self, pool: str = "solo") -> subprocess.Popen:
        name = f"recovery-{len(self.processes)}-{self.queue}"
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "formrecap", "worker", f"--pool={pool}", "--concurrency=1", "-Q", self.queue,
             "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        for log in sorted(self.logs.glob("recovery-*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")  # shown by pytest when a test fails


@pytest.fixture
def workers(on_postgres, settings, tmp_path):
    require_redis_broker()
    queue = new_queue()
    env = worker_env(**{
        # The receiver listens on 127.0.0.1: loopback webhooks are allowed in DEBUG only.
        "DEBUG": "1",
        "FORMRECAP_WEBHOOK_ALLOW_LOOPBACK": "1",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        # Every countdown must stay below the visibility timeout (checked at startup).
        "FORMRECAP_TRAINING_POLL_SECONDS": "1",
        "FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS": "2",
        "FORMRECAP_RECOVERY_MAX_COUNTDOWN": "3",
        "FORMRECAP_RECOVERY_RETRY_BASE_SECONDS": "0.5",
        "FORMRECAP_RECOVERY_RETRY_MAX_SECONDS": "2",
        "FORMRECAP_RECOVERY_QUEUE": queue,
    })  # fmt: skip
    # This process sends too (executions_enqueue, the dispatcher): same queue and horizon as the workers.
    settings.FORMRECAP_RECOVERY_QUEUE = queue
    settings.FORMRECAP_RECOVERY_MAX_COUNTDOWN = 3
    started = Workers(env, queue, tmp_path)
    try:
        with tasks_sent_to_the_broker():
            yield started
    finally:
        started.stop_all()


@pytest.fixture
def hook(site):
    """A webhook rule and a receiver holding its secret: ``hook(**receiver_options) -> (rule, receiver)``."""
    with_receivers = []

    def make(**options):
        rule, secret = rule_for(site, "webhook", with_secret=True)
        context = receiving(Receiver(secret, **options))
        receiver = context.__enter__()
        with_receivers.append(context)
        rule.params = {"url": receiver.url}
        rule.save()
        return rule, receiver

    yield make
    for context in with_receivers:
        context.__exit__(None, None, None)


def pool_processes(worker: subprocess.Popen) -> list[int]:
    """Process ids of a prefork worker's pool (its child processes), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == worker.pid:
            children.append(int(stat.parent.name))
    return children


def finished(executions: list[ActionExecution], timeout: float) -> list[ActionExecution]:
    """The executions, reloaded once all are final (fails after ``timeout`` seconds)."""
    ids = [execution.pk for execution in executions]
    deadline = time.monotonic() + timeout
    while True:
        rows = list(ActionExecution.all_tenants.filter(pk__in=ids).order_by("pk"))
        if all(row.status in FINAL for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"not finished after {timeout} s: {Counter(row.status for row in rows)}")
        time.sleep(0.2)


def test_a_503_is_retried_by_the_worker_under_the_same_webhook_id(site, workers, hook):
    rule, receiver = hook(statuses=[503, 503])
    execution = scheduled_execution(abandoned_session(site), rule)
    executions_enqueue([execution.pk])  # outside a transaction: sent at once
    workers.start()

    [execution] = finished([execution], timeout=60)

    assert (execution.status, execution.attempts, execution.detail["status_code"]) == ("succeeded", 3, 200)
    assert execution.detail["delivery"]["errors"] == ["attempt 1: HTTP 503", "attempt 2: HTTP 503"]
    assert [(r.webhook_id, r.status, r.verified) for r in receiver.requests] == [
        (execution.idempotency_key, 503, True),
        (execution.idempotency_key, 503, True),
        (execution.idempotency_key, 200, True),
    ]
    assert list(receiver.accepted) == [execution.idempotency_key]


def test_a_delay_beyond_the_countdown_horizon_is_sent_by_the_dispatcher(site, workers, hook):
    rule, receiver = hook()
    execution = scheduled_execution(abandoned_session(site), rule, delay_seconds=6)  # horizon: 3 s
    executions_enqueue([execution.pk])
    workers.start()
    time.sleep(2)
    assert ActionExecution.all_tenants.get(pk=execution.pk).status == "scheduled" and receiver.requests == []

    sent = 0
    while not sent:  # beat's job: the dispatcher runs on the worker until the execution enters the horizon
        sent = dispatch_due_task.apply_async(queue=workers.queue).get(timeout=30)
        time.sleep(0.5)
    [execution] = finished([execution], timeout=30)

    assert execution.status == "succeeded" and len(receiver.requests) == 1
    assert execution.finished_at >= execution.run_after  # sent with a countdown, not early


def test_a_worker_killed_inside_a_slow_delivery_is_replaced_and_nothing_happens_twice(site, workers, hook):
    # The receiver holds its first request 3 s before acting on it and answering: the worker is killed meanwhile.
    rule, receiver = hook(first_delay=3.0)
    executions = [scheduled_execution(abandoned_session(site), rule) for _ in range(5)]
    executions_enqueue([execution.pk for execution in executions])

    first = workers.start()
    assert receiver.first_request.wait(60), "the first worker never delivered"
    first.send_signal(signal.SIGKILL)  # inside the handler, before its task could be acknowledged
    first.wait(10)
    killed_at = time.monotonic()
    # Its unacknowledged message is handed out again once the visibility timeout has passed.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    workers.start()

    executions = finished(executions, timeout=90)

    keys = {execution.idempotency_key for execution in executions}
    resumed = [
        execution
        for execution in executions
        if "attempt 1: its worker was lost mid-run" in execution.detail["delivery"].get("errors", [])
    ]
    assert [execution.status for execution in executions] == ["succeeded"] * 5
    assert len(resumed) == 1 and resumed[0].attempts == 2
    # The receiver acted once per execution, the killed one included; the request the new worker re-sent
    # carried the same webhook-id and was recognised as a duplicate.
    assert set(receiver.accepted) == keys
    assert all(request.verified for request in receiver.requests)
    re_sent = receiver.redeliveries()
    assert re_sent == 1 and receiver.ok_answers()[resumed[0].idempotency_key] == 2
    # One execution per (session, rule) and one success each: the database records nothing twice.
    per_pair = ActionExecution.all_tenants.filter(rule=rule).values("session", "rule").annotate(n=Count("id"))
    assert {row["n"] for row in per_pair} == {1}
    # Counted from the payloads the receiver acted on, so a re-send under a new id would show up here.
    acted_on = Counter((payload["data"]["session"]["id"], payload["data"]["rule"]) for payload in receiver.accepted.values())
    duplicate_effects = sum(n - 1 for n in acted_on.values())
    assert duplicate_effects == 0 and len(acted_on) == len(executions)
    print(
        f"\nkilled-worker test: {len(executions)} executions succeeded, {len(receiver.requests)} webhook requests, "
        f"{len(receiver.accepted)} distinct webhook-ids acted on, {re_sent} re-sent under the same webhook-id after the "
        f"kill (deduped by the receiver), duplicate side effects: {duplicate_effects}; "
        f"second worker finished {time.monotonic() - killed_at:.1f} s after the kill"
    )


def test_a_pool_process_killed_mid_delivery_is_requeued_at_once_and_acts_once(site, workers, hook):
    # The prefork parent sees its child die and rejects the message back to the queue (reject_on_worker_lost):
    # the same message comes back at once, its claim is recognised, and the webhook goes again under its id.
    rule, receiver = hook(first_delay=3.0)
    execution = scheduled_execution(abandoned_session(site), rule)
    executions_enqueue([execution.pk])

    worker = workers.start(pool="prefork")
    assert receiver.first_request.wait(60), "the worker never delivered"
    [child] = pool_processes(worker)
    os.kill(child, signal.SIGKILL)

    [execution] = finished([execution], timeout=60)

    assert (execution.status, execution.attempts) == ("succeeded", 2)
    assert execution.detail["delivery"]["errors"] == ["attempt 1: its worker was lost mid-run"]
    receiver.wait_for_requests(2)  # the killed child's request is recorded when the receiver's 3 s are up
    assert [r.webhook_id for r in receiver.requests] == [execution.idempotency_key] * 2
    assert list(receiver.accepted) == [execution.idempotency_key]
    assert worker.poll() is None  # the worker itself lived on
