"""Celery tasks of recovery (thin wrappers: ids in, one service call), and sending them after commit.

``executions_enqueue`` is what the decision calls: an execution due within FORMRECAP_RECOVERY_MAX_COUNTDOWN
gets its message now, with that countdown; a later one waits for ``recovery.dispatch_due`` (beat, every minute),
so no countdown comes near the broker's visibility timeout.
"""

import uuid
from collections.abc import Iterable

from celery import shared_task
from django.conf import settings
from django.db import transaction

from formrecap.celery import app as celery_app
from formrecap.models import Tenant
from formrecap.task_retries import RIDES_OUT_DATABASE_RESTARTS

from .delivery import Due, execution_mark_sent, execution_run, executions_release_stale, executions_to_send

DISPATCH_ROUNDS = 20  # batches per dispatcher run (DISPATCH_BATCH each); the next run takes the rest


@shared_task(
    bind=True,
    name="recovery.execute_action",
    # Attempts are bounded by the execution's own count (max_retries=None); a database error retries up to 8 times.
    **{**RIDES_OUT_DATABASE_RESTARTS, "max_retries": None, "retry_kwargs": {"max_retries": 8}},
)
def execute_action_task(self, execution_id: int) -> str:
    """Run one recovery action, at most once (see recovery.delivery); returns the execution's status."""
    # A redelivered message keeps its task id and retry number: that is how it recognises its own claim.
    claim = f"{self.request.id or uuid.uuid4()}:{self.request.retries}"
    eager = bool(self.request.is_eager)
    outcome = execution_run(execution_id=execution_id, claim=claim, queue_retry=not eager)
    if outcome.retry_in is not None and not eager:
        # Attempts are bounded by the execution's own count, so Celery's retry limit is off (max_retries=None).
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="recovery.plan_session", **RIDES_OUT_DATABASE_RESTARTS)
def plan_session_task(tenant_id: int, session_id: int) -> int:
    """Plan recovery for a session abandoned for good (enqueued once its final prediction commits); returns how
    many executions it has. Idempotent: a session is planned once."""
    from .services import recovery_plan_session  # services enqueue through this module: imported when run

    return len(recovery_plan_session(tenant=Tenant.objects.get(pk=tenant_id), session_id=session_id))


@shared_task(name="recovery.plan_unplanned", acks_late=True, reject_on_worker_lost=True)
def plan_unplanned_task() -> int:
    """Periodic (beat): plan the final abandonments that have a final prediction and no plan (a lost message, a
    broker outage). Returns how many were enqueued."""
    from .selectors import sessions_unplanned

    pending = sessions_unplanned()
    for tenant_id, session_id in pending:
        plan_session_task.delay(tenant_id, session_id)
    return len(pending)


@shared_task(bind=True, name="recovery.send_notice", acks_late=True, reject_on_worker_lost=True, max_retries=5)
def send_notice_task(self, execution_id: int, event: str) -> str:
    """Tell a webhook receiver that was sent an abandonment that its visitor came back or was recovered."""
    from .notices import session_notice_send

    outcome = session_notice_send(execution_id=execution_id, event=event)
    if outcome.retryable and not self.request.is_eager and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(600, 30 * 2**self.request.retries))
    return outcome.status


@shared_task(name="recovery.dispatch_due", acks_late=True, reject_on_worker_lost=True)
def dispatch_due_task() -> int:
    """Periodic (beat): send the actions that come due, and those whose message was lost. Returns how many."""
    executions_release_stale()
    sent = 0
    for _ in range(DISPATCH_ROUNDS):
        batch = executions_to_send(horizon_seconds=_horizon())
        sent += _send(batch)
        if not batch:
            break
    return sent


def executions_enqueue(execution_ids: Iterable[int]) -> None:
    """Send the messages of new executions once the transaction that created them commits."""
    ids = list(execution_ids)
    if ids:
        # robust: a broker outage is logged, not raised into the caller; the dispatcher sends them later.
        transaction.on_commit(lambda: _send(executions_to_send(horizon_seconds=_horizon(), execution_ids=ids)), robust=True)


def _horizon() -> float:
    # Eager Celery ignores countdowns: run only what is due now and let the dispatcher run the rest when due.
    return 0.0 if celery_app.conf.task_always_eager else settings.FORMRECAP_RECOVERY_MAX_COUNTDOWN


def _send(batch: list[Due]) -> int:
    routing = {"queue": settings.FORMRECAP_RECOVERY_QUEUE} if settings.FORMRECAP_RECOVERY_QUEUE else {}
    for due in batch:
        execute_action_task.apply_async((due.execution_id,), countdown=due.countdown, **routing)
    # Sent, then marked (in one commit): a mark that fails costs a harmless second message later, while a
    # send that fails leaves the execution unmarked for the dispatcher's next run.
    with transaction.atomic():
        for due in batch:
            execution_mark_sent(due)
    return len(batch)
