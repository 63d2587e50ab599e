"""The planner on a real Celery worker (Redis broker, PostgreSQL): a final abandonment is classified and planned
by the worker's own tasks and its webhook delivered; a visitor's return cancels a delayed action and tells the
receiver of an action already sent; the catch-up plans a session whose plan message was lost.

Every task here runs on the test worker: its default queue and the recovery queue are its own.
"""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from formrecap.ingest.services import sweep_inactive_sessions
from formrecap.models import FormSession, default_outreach_delay
from recovery.models import ActionExecution
from recovery.tasks import dispatch_due_task, plan_unplanned_task
from tests.classifier.helpers import VALIDATION_EVENTS
from tests.recovery.actions import abandoned_session
from tests.recovery.test_worker import hook, workers  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def on_the_worker(workers, settings):  # noqa: F811 (the workers fixture)
    """Default queue = the worker's queue, here and in the worker (its own follow-up tasks)."""
    from formrecap.celery import app as celery_app

    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = workers.queue
    workers.env["CELERY_TASK_DEFAULT_QUEUE"] = workers.queue
    workers.start()
    try:
        yield workers
    finally:
        celery_app.conf.task_default_queue = default


@pytest.fixture
def site(site):
    site.outreach_delay_seconds = default_outreach_delay()
    site.save(update_fields=["outreach_delay_seconds"])
    return site


def ingest(make_batch, sid: str, events: list[dict], **fields) -> FormSession:
    body = make_batch(session_id=sid, events=events, **fields)
    response = Client().generic(
        "POST", "/api/v1/ingest/", data=json.dumps(body), content_type="text/plain", HTTP_ORIGIN="https://shop.example.com"
    )
    assert response.status_code == 202, response.content
    return FormSession.all_tenants.get(session_uuid=sid)


def wait_until(condition, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.1)
    return value


def executions_of(session: FormSession) -> list[ActionExecution]:
    return list(ActionExecution.all_tenants.filter(session=session).order_by("pk"))


def test_a_final_abandonment_is_classified_planned_and_acted_on_by_the_worker(
    site,
    make_batch,
    active_embedded_model,
    on_the_worker,
    hook,  # noqa: F811
):
    rule, receiver = hook()
    session = ingest(make_batch, "0b1c6a3e-5f7d-4a9b-8c2d-1e3f5a7b9c0d", VALIDATION_EVENTS)
    assert session.status == "exited"
    wait_until(lambda: session.predictions.filter(final=False).exists(), what="the provisional reading")
    time.sleep(1)
    assert executions_of(session) == [] and receiver.requests == []  # nothing acts on a provisional reading

    started = time.monotonic()
    assert sweep_inactive_sessions(now=timezone.now() + timedelta(seconds=site.outreach_delay_seconds + 1)) == 1
    receiver.wait_for_requests(1, timeout=60)
    elapsed = time.monotonic() - started
    print(f"final abandonment → first action delivered: {elapsed:.2f} s (worker: classify, plan, webhook)")

    [execution] = wait_until(lambda: [e for e in executions_of(session) if e.status == "succeeded"], what="delivered")
    payload = receiver.requests[0].payload
    assert payload["type"] == "session.abandoned" and payload["data"]["session"]["id"] == session.pk
    assert receiver.requests[0].webhook_id == execution.idempotency_key and execution.rule == rule


def test_a_return_cancels_a_delayed_action_and_tells_the_receiver_of_a_sent_one(
    site,
    make_batch,
    active_embedded_model,
    on_the_worker,
    hook,  # noqa: F811
):
    sent_rule, receiver = hook()  # any class, at once
    delayed_rule = type(sent_rule).all_tenants.create(
        tenant=site.tenant, action="webhook", params=sent_rule.params, class_code=3, priority=200, delay_seconds=3600
    )
    sent = abandoned_session(site, visitor_ref="crm-5", code=2)
    delayed = abandoned_session(site, visitor_ref="crm-6", code=3)
    from recovery.services import recovery_plan_session

    recovery_plan_session(tenant=site.tenant, session_id=sent.pk)
    receiver.wait_for_requests(1)
    [pending] = recovery_plan_session(tenant=site.tenant, session_id=delayed.pk)
    assert (pending.status, pending.rule) == ("scheduled", delayed_rule)

    ingest(make_batch, "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", VALIDATION_EVENTS[:4], visitor="crm-6")  # back
    pending.refresh_from_db()
    assert pending.status == "cancelled" and "came back" in pending.detail["cancelled"]
    ActionExecution.all_tenants.filter(pk=pending.pk).update(run_after=timezone.now())
    dispatch_due_task.apply()  # a cancelled action is never sent, even once due

    ingest(make_batch, "3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f70", VALIDATION_EVENTS[:4], visitor="crm-5")  # back too
    receiver.wait_for_requests(2)
    time.sleep(2)
    [done] = [e for e in executions_of(sent) if e.status == "succeeded"]
    assert [(r.webhook_id, r.payload["type"]) for r in receiver.requests] == [
        (done.idempotency_key, "session.abandoned"),
        (f"{done.idempotency_key}:session.returned", "session.returned"),
    ]
    done.refresh_from_db()
    assert done.detail["notices"]["session.returned"]["status_code"] == 200


def test_the_catch_up_plans_a_final_abandonment_whose_plan_was_lost(site, on_the_worker, hook):  # noqa: F811
    rule, receiver = hook()
    session = abandoned_session(site)  # a final prediction stored, its plan message never sent
    assert session.planned_at is None
    assert plan_unplanned_task.delay().get(timeout=60) == 1
    receiver.wait_for_requests(1)
    session.refresh_from_db()
    assert session.planned_at is not None and [e.rule for e in executions_of(session)] == [rule]
    assert plan_unplanned_task.delay().get(timeout=60) == 0  # planned once
