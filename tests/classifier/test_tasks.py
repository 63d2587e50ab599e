"""Classifying abandoned sessions: enqueued after commit from ingest and the sweep, idempotent, quiet without a model."""

import json
import logging
import time
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from classifier.models import Prediction
from classifier.tasks import classify_session_task
from formrecap.celery import app as celery_app
from formrecap.ingest.services import sweep_inactive_sessions
from formrecap.models import FormSession
from tests.classifier.helpers import VALIDATION_EVENTS, recorded_session
from tests.conftest import SITE_ORIGIN


def ingest(body: dict):
    return Client().generic("POST", "/api/v1/ingest/", data=json.dumps(body), content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN)


def ingest_abandoned_session(make_batch) -> str:
    """Two batches, the second ending in exit (the snippet's beacon on leaving); returns the session uuid."""
    session_id = str(uuid.uuid4())
    assert ingest(make_batch(session_id=session_id, seq=0, events=VALIDATION_EVENTS[:10])).status_code == 202
    response = ingest(make_batch(session_id=session_id, seq=1, events=VALIDATION_EVENTS[10:]))
    assert response.status_code == 202 and response.json()["session_status"] == "abandoned"
    return session_id


def predictions_of(session: FormSession) -> list[Prediction]:
    return list(Prediction.objects.for_tenant(session.tenant).filter(session=session))


def test_session_abandoned_at_ingest_is_classified_once_after_commit(
    site, make_batch, active_embedded_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        session_id = ingest_abandoned_session(make_batch)
        session = FormSession.objects.for_tenant(site.tenant).get(session_uuid=session_id)
        assert predictions_of(session) == []  # nothing before the commit
    assert len(callbacks) == 3  # the classification and the field figures, then (once stored) the recovery plan
    [prediction] = predictions_of(session)
    assert (prediction.label, prediction.source, prediction.model_version) == (
        "validation_error",
        "session",
        active_embedded_model,
    )


def test_redelivered_task_stores_no_second_prediction(site, active_embedded_model):
    session = recorded_session(site)
    first = classify_session_task.apply(args=[site.tenant_id, session.pk]).get()
    again = classify_session_task.apply(args=[site.tenant_id, session.pk]).get()
    assert first == again == predictions_of(session)[0].pk
    assert len(predictions_of(session)) == 1


def test_later_batches_of_an_abandoned_session_enqueue_nothing(
    site, make_batch, active_embedded_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        session_id = ingest_abandoned_session(make_batch)
    late = [{"type": "focus", "field": "email", "ts": 9000}]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert ingest(make_batch(session_id=session_id, seq=2, events=late)).status_code == 202
    assert callbacks == []
    assert Prediction.objects.for_tenant(site.tenant).count() == 1


def test_sweep_abandoned_sessions_are_classified(site, active_embedded_model, django_capture_on_commit_callbacks):
    idle = timezone.now() - timedelta(hours=2)
    stale = [recorded_session(site, status="in_progress", last_event_at=idle) for _ in range(3)]
    empty = recorded_session(site, [], status="in_progress", last_event_at=idle)
    fresh = recorded_session(site, status="in_progress", last_event_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sweep_inactive_sessions() == 4
    # four classifications and four field summaries, then the recovery plans of the three with events
    assert len(callbacks) == 4 + 4 + 3
    assert [len(predictions_of(session)) for session in stale] == [1, 1, 1]
    assert predictions_of(empty) == [] and predictions_of(fresh) == []


def test_no_active_model_logs_and_stores_nothing_and_ingest_succeeds(
    site, make_batch, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        ingest_abandoned_session(make_batch)  # asserts 202 and "abandoned"
    assert not Prediction.all_tenants.exists()
    warnings = [r for r in caplog.records if r.name == "classifier.tasks"]
    assert len(warnings) == 1 and "no active embedded model" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # the task itself did not fail


# --- a real worker -------------------------------------------------------------------------


@pytest.fixture
def default_queue_is_the_workers(worker_queue):
    """Ingest enqueues on commit to the default queue: make that the test worker's own queue while the test runs."""
    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = worker_queue
    try:
        yield worker_queue
    finally:
        celery_app.conf.task_default_queue = default


@pytest.mark.celery_worker
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_classifies_a_session_abandoned_at_ingest(site, make_batch, active_embedded_model, default_queue_is_the_workers):
    session_id = ingest_abandoned_session(make_batch)
    session = FormSession.objects.for_tenant(site.tenant).get(session_uuid=session_id)

    deadline = time.monotonic() + 60
    while not predictions_of(session) and time.monotonic() < deadline:
        time.sleep(0.2)

    [prediction] = predictions_of(session)
    assert (prediction.label, prediction.model_version_id) == ("validation_error", active_embedded_model.pk)
    # Redelivered to the worker: the same prediction, no second row (the task stores no result unless asked).
    redelivered = classify_session_task.apply_async(
        args=[site.tenant_id, session.pk], queue=default_queue_is_the_workers, ignore_result=False
    )
    assert redelivered.get(timeout=60) == prediction.pk
    assert len(predictions_of(session)) == 1
