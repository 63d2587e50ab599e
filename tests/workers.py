"""Starting real Celery workers from tests: the environment that points them at the test database."""

import contextlib
import os
import uuid

import pytest
from django.conf import settings
from django.db import connection

from formrecap.celery import app as celery_app


def require_redis_broker() -> None:
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://… (use `make test`)")


def new_queue() -> str:
    """A queue of its own, so no other worker on this Redis takes the test's tasks."""
    return f"formrecap-test-{uuid.uuid4().hex[:8]}"


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the worker on the test database and tasks really queued."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "0", **extra}


@contextlib.contextmanager
def tasks_sent_to_the_broker():
    """The test process enqueues for real while a worker runs (the suite runs tasks inline otherwise)."""
    from celery.result import allow_join_result

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        # The test process waits on results (.get()) and is never a worker. Celery's "never join inside a task"
        # guard is one process-wide flag that every eager task's apply_async sets and restores; eager tasks run
        # at once in a live server's threads and in the test's thread interleave those writes and can leave it
        # set (seen in the full suite: tests/classifier/test_catch_up.py beside browser tests).
        with allow_join_result():
            yield
    finally:
        celery_app.conf.task_always_eager = eager
