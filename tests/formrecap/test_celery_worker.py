"""End to end through Redis and a real Celery worker process on the test database."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from formrecap.models import FormSession
from formrecap.tasks import sweep_inactive_sessions_task
from tests.factories import FormSessionFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_on_worker(task, queue: str, timeout: float = 60):
    result = task.apply_async(queue=queue)
    started = time.monotonic()
    value = result.get(timeout=timeout)
    return value, time.monotonic() - started


def test_worker_sweeps_inactive_sessions(site, worker_queue):
    stale = FormSessionFactory(site=site, last_event_at=timezone.now() - timedelta(hours=2))
    fresh = FormSessionFactory(site=site, last_event_at=timezone.now())

    abandoned, _ = run_on_worker(sweep_inactive_sessions_task, worker_queue)

    assert abandoned == 1
    assert FormSession.all_tenants.get(pk=stale.pk).status == "abandoned"
    assert FormSession.all_tenants.get(pk=fresh.pk).status == "in_progress"
    # Redelivered (or the beat firing twice): nothing more happens.
    again, _ = run_on_worker(sweep_inactive_sessions_task, worker_queue)
    assert again == 0
