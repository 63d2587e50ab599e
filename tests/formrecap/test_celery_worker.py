"""End to end through Redis and a real Celery worker process on the test database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from formrecap.celery import app as celery_app
from formrecap.models import FormSession
from formrecap.tasks import sweep_inactive_sessions_task
from tests.factories import FormSessionFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_queue(on_postgres):
    """A worker on a queue of its own, so no other worker on this Redis can take our tasks."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://… (use `make test`)")
    queue = f"formrecap-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "formrecap", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        celery_app.conf.task_always_eager = eager
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        print(output[-3000:])  # shown by pytest when the test fails


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
