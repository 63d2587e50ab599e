"""Celery tasks of training (thin wrappers: ids in, one service call): start and follow runs, beat retraining.

A remote run is followed without holding a worker: ``start_run`` submits it and schedules ``poll_run``,
which checks once and schedules itself again until the run ends. Each returns a line saying what it did.
"""

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache

from .lora.runners import RunnerError
from .models import TrainingRun
from .retraining import retraining_start_if_needed
from .runs import training_run_fail, training_run_poll, training_run_start

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="training.start_run", acks_late=True, reject_on_worker_lost=True)
def start_run_task(self: Task, run_id: int) -> str:
    """Start a queued run. A redelivered message finds the run no longer queued and does nothing."""
    run, still_running = training_run_start(run_id=run_id)
    if run is None:
        return f"run {run_id} is not queued: nothing to start"
    if still_running:
        return _poll_later(self, run, countdown=settings.FORMRECAP_TRAINING_POLL_SECONDS)
    return _ended(run)


@shared_task(bind=True, name="training.poll_run", acks_late=True, reject_on_worker_lost=True)
def poll_run_task(self: Task, run_id: int) -> str:
    """Check a remote run once and poll again later while it runs. A run that has ended is left alone.

    When the runner cannot answer (Modal unreachable, adapter download failed) the poll is retried with
    backoff; after FORMRECAP_TRAINING_POLL_RETRIES retries the run fails with the cause.
    """
    with _poll_lock(run_id, owner=self.request.id) as mine:
        if not mine:
            # Another poll of this run is under way (a second chain, an admin click); it carries on.
            return f"run {run_id} is being polled by another task"
        try:
            run, still_running = training_run_poll(run_id=run_id)
        except RunnerError as exc:
            return _runner_failed(self, run_id, exc)
        except Exception:  # noqa: BLE001 - not transient: record it on the run, with the traceback
            return _ended(training_run_fail(run=TrainingRun.objects.get(pk=run_id), error=traceback.format_exc()))
    if run is None:
        return f"run {run_id} is not running: nothing to poll"
    if run.status == TrainingRun.Status.RUNNING and not run.external_id:
        return f"run {run_id} runs in a worker process (local runner): nothing to poll"
    if still_running:
        return _poll_later(self, run, countdown=settings.FORMRECAP_TRAINING_POLL_SECONDS)
    return _ended(run)


@shared_task(name="training.retrain_if_needed", acks_late=True, reject_on_worker_lost=True)
def retrain_if_needed_task() -> str:
    """Periodic (beat, daily): queue a training run when enough new operator labels exist."""
    return retraining_start_if_needed()


# --- helpers --------------------------------------------------------------------------------------


@contextmanager
def _poll_lock(run_id: int, *, owner: str) -> Iterator[bool]:
    """One poll of a run at a time, so two chains cannot both calibrate and register the finished adapter.

    A redelivered message has the same task id, so it takes over the lock its lost first delivery left.
    """
    key = f"training:poll:{run_id}"
    mine = cache.add(key, owner, timeout=settings.FORMRECAP_BROKER_VISIBILITY_TIMEOUT) or cache.get(key) == owner
    try:
        yield mine
    finally:
        if mine:
            cache.delete(key)


def _poll_later(task: Task, run: TrainingRun, *, countdown: int) -> str:
    """Schedule the next poll on the queue this task came from (countdowns stay below the visibility timeout)."""
    where = f"run {run.pk} is running on the {run.runner} runner as {run.external_id}"
    if task.request.is_eager:
        # No worker to wait on a timer (the embedded setup), and an eager poll would recurse at once.
        return f"{where}; poll it again from admin (Start or poll the selected runs)"
    poll_run_task.apply_async((run.pk,), countdown=countdown, **_same_queue(task))
    return f"{where}; next poll in {countdown} s"


def _runner_failed(task: Task, run_id: int, exc: RunnerError) -> str:
    retries, limit = task.request.retries, settings.FORMRECAP_TRAINING_POLL_RETRIES
    if retries >= limit:
        run = training_run_fail(
            run=TrainingRun.objects.get(pk=run_id), error=f"the runner could not be polled after {limit} retries: {exc}"
        )
        return _ended(run)
    if task.request.is_eager:
        logger.warning("run %s not polled: %s", run_id, exc)
        return f"run {run_id} could not be polled now ({exc}); poll it again later"
    countdown = min(settings.FORMRECAP_TRAINING_POLL_SECONDS * 2**retries, settings.FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS)
    logger.warning("run %s not polled (%s); retry %s of %s in %s s", run_id, exc, retries + 1, limit, countdown)
    raise task.retry(exc=exc, countdown=countdown, max_retries=limit)


def _same_queue(task: Task) -> dict:
    delivery = task.request.delivery_info or {}
    if not delivery.get("routing_key"):
        return {}
    if not delivery.get("exchange"):
        return {"queue": delivery["routing_key"]}
    return {"exchange": delivery["exchange"], "routing_key": delivery["routing_key"]}


def _ended(run: TrainingRun) -> str:
    if run.status == TrainingRun.Status.SUCCEEDED and run.model_version is not None:
        version = run.model_version
        return f"run {run.pk} succeeded: {version.label} ({version.status}; {version.status_reason})"
    if run.status == TrainingRun.Status.FAILED:
        return f"run {run.pk} failed: {run.error.strip().splitlines()[-1] if run.error.strip() else 'no cause recorded'}"
    return f"run {run.pk} is {run.status}"
