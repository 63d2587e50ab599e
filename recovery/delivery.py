"""Delivering recovery actions: claim an execution, run its handler, record the outcome; each side effect at most once.

The Celery task ``recovery.execute_action`` (recovery/tasks.py) runs :func:`execution_run` with ``acks_late``
and ``reject_on_worker_lost``: its message is acknowledged only once the task returns, so a worker that dies
mid-task leaves the message to be delivered again. Messages are at least once; these rules make each side
effect of an execution (one per session and rule, by a unique constraint) happen at most once:

1. One owner at a time. A delivery claims the execution with one conditional UPDATE,
   ``SET status='running', attempts=n+1 WHERE status='scheduled' AND attempts=n``, which records its claim
   (task id and retry number). Of any number of concurrent deliveries (a redelivery, a message sent twice by
   the dispatcher) exactly one matches; the others find it running under another claim, or finished, and
   do nothing.
2. Only the claimant's own message resumes a running execution. The broker hands an unacknowledged message
   out again only when the worker holding it is gone (its process died: reject_on_worker_lost requeues it; the
   whole worker died: Redis restores it after the visibility timeout). Countdowns and handler runs stay far
   below the visibility timeout, so no live worker is still running that message. The resume takes the next
   attempt number (a run that keeps killing its worker stops at the attempt limit).
3. Every later write of a running execution is fenced by ``status='running' AND attempts=n``: a delivery that
   lost ownership can neither finish nor reschedule it, and handlers write their marks through the same fence.
   The final status is therefore written once.
4. Handlers may be resumed after a crash, so each is safe to run again for the same execution:
   - webhook: every attempt sends the same body with ``webhook-id`` = the execution's idempotency key. Standard
     Webhooks receivers dedupe on it, so a request sent again (retry or resume) has no second effect there;
   - email: SMTP has no idempotency key, so the handler commits the mark "sending" before it hands the email to
     the mail backend, and "sent" after. An attempt that finds "sent" records success without sending; one
     that finds "sending" cannot tell whether the email left (the worker died between the two writes) and
     records a failure instead of sending again: a crash in that window can lose an email, never duplicate
     one. Errors that prove nothing was sent (no connection, the server refused) clear the mark, and a
     temporary one retries;
   - discount: the code is stored, one per execution, before it is sent by email or webhook as above, so a
     resumed attempt sends the same code under the same guards;
   - review and ux_alert: database rows kept single by unique constraints (one review item per session, one
     open alert per site and field); an alert's webhook carries the same ``webhook-id``;
   - suppress: nothing to repeat.
5. Retries. A retryable failure (5xx, 429, timeout, mail server down) puts the execution back to scheduled
   (fenced, with the error kept) and sends a new message after an exponential, jittered countdown, below the
   visibility timeout; after FORMRECAP_RECOVERY_MAX_ATTEMPTS the failure is final. A webhook endpoint counts its
   final failures in a row and is disabled after FORMRECAP_WEBHOOK_DISABLE_AFTER (executions then skip it).
6. Lost messages. Each send is marked on the execution with the time by which its message must have run
   (``queued_until``). The dispatcher (beat, every minute) sends again a scheduled execution past that time, and
   puts back to scheduled a running one whose owner gave no sign of life for two visibility timeouts (its message
   is gone, e.g. a flushed broker); the marks of 4 still hold for the next attempt. A double send is harmless by 1-3.
"""

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import events as notification_events

from .handlers import HANDLERS, HandlerResult
from .handlers.base import FAILED, skipped, with_delivery
from .models import ActionExecution, RecoveryRule

logger = logging.getLogger(__name__)

Status = ActionExecution.Status
Action = RecoveryRule.Action
IGNORED = "ignored"  # this delivery found nothing to do: finished, owned by another delivery, or gone
RULELESS_ACTIONS = (Action.REVIEW, Action.SUPPRESS)  # a fallback may run them with no rule
# A message waits for its countdown, then at most a visibility timeout if its worker dies; Redis restores
# abandoned messages on a periodic sweep, hence the grace before the dispatcher sends another.
QUEUE_GRACE_SECONDS = 300
MAX_ERRORS_KEPT = 10
DISPATCH_BATCH = 500


@dataclass(frozen=True)
class RunOutcome:
    status: str  # the execution's status after this delivery, or IGNORED
    retry_in: float | None = None  # seconds until the next attempt, when the execution was rescheduled


def max_attempts() -> int:
    return settings.FORMRECAP_RECOVERY_MAX_ATTEMPTS


def retry_delay(attempt: int) -> float:
    """Seconds before the attempt after ``attempt`` (1-based): base × 2^(attempt-1), capped, half of it random."""
    ceiling = min(
        settings.FORMRECAP_RECOVERY_RETRY_MAX_SECONDS, settings.FORMRECAP_RECOVERY_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _with_error(detail: dict, message: str) -> dict:
    errors = [*detail.get("delivery", {}).get("errors", []), message][-MAX_ERRORS_KEPT:]
    return with_delivery(detail, errors=errors)


def _held(execution: ActionExecution):
    """The execution, as long as this delivery still holds it (the fence of rule 3)."""
    return ActionExecution.all_tenants.filter(pk=execution.pk, status=Status.RUNNING, attempts=execution.attempts)


# --- claim, run, finish ------------------------------------------------------------------------------


def execution_claim(*, execution_id: int, claim: str) -> ActionExecution | None:
    """Take the execution for the delivery ``claim`` (scheduled → running), or resume it when it is running
    under this same claim (the redelivery of the message whose worker died). None when there is nothing to take.
    """
    related = ("tenant", "session__site", "rule__tenant", "prediction")
    execution = ActionExecution.all_tenants.select_related(*related).filter(pk=execution_id).first()
    if execution is None:
        return None
    resume = execution.status == Status.RUNNING and execution.detail.get("delivery", {}).get("claim") == claim
    if execution.status != Status.SCHEDULED and not resume:
        return None
    detail = with_delivery(execution.detail, claim=claim, claimed_at=time.time(), queued_until=None)
    if resume:
        detail = _with_error(detail, f"attempt {execution.attempts}: its worker was lost mid-run")
    # The conditional UPDATE: of concurrent deliveries, only one finds (status, attempts) as read.
    taken = ActionExecution.all_tenants.filter(pk=execution_id, status=execution.status, attempts=execution.attempts).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, detail=detail
    )
    if not taken:
        return None
    execution.status, execution.attempts, execution.detail = Status.RUNNING, execution.attempts + 1, detail
    return execution


def _cannot_run(execution: ActionExecution) -> HandlerResult | None:
    if execution.attempts > max_attempts():
        return HandlerResult(
            FAILED, {"error": f"gave up after {execution.attempts - 1} attempts; the last was lost with its worker"}
        )
    if execution.rule is None and execution.action not in RULELESS_ACTIONS:
        return skipped("the rule was deleted before the action ran")
    if execution.rule is not None and not execution.rule.active:
        return skipped("the rule was deactivated before the action ran")
    if execution.action not in HANDLERS:
        return HandlerResult(FAILED, {"error": f"no handler for action {execution.action!r}"})
    return None


def _handle(execution: ActionExecution) -> HandlerResult:
    try:
        return HANDLERS[execution.action](execution)
    except Exception as exc:  # a bug or an outage inside one handler is recorded on its execution, not raised
        logger.exception("recovery action %s (execution %s) raised", execution.action, execution.pk)
        return HandlerResult(FAILED, {"error": f"{type(exc).__name__}: {exc}"[:1000]})


def execution_run(*, execution_id: int, claim: str, queue_retry: bool = True) -> RunOutcome:
    """Claim the execution, run its handler, and finish it or schedule its next attempt.

    ``queue_retry``: the caller sends the retry message itself (a Celery retry); when False (eager Celery in the
    embedded setup) the rescheduled execution is left to the dispatcher.
    """
    execution = execution_claim(execution_id=execution_id, claim=claim)
    if execution is None:
        return RunOutcome(IGNORED)
    result = _cannot_run(execution) or _handle(execution)
    if result.status == FAILED and result.retryable and execution.attempts < max_attempts():
        delay = retry_delay(execution.attempts)
        if execution_retry_later(execution=execution, result=result, delay=delay, queued=queue_retry):
            return RunOutcome(Status.SCHEDULED, retry_in=delay)
        return RunOutcome(IGNORED)
    if not execution_finish(execution=execution, result=result):
        return RunOutcome(IGNORED)
    return RunOutcome(result.status)


def execution_retry_later(*, execution: ActionExecution, result: HandlerResult, delay: float, queued: bool) -> bool:
    """Back to scheduled, ``delay`` seconds from now, keeping the error. False when this delivery no longer holds it."""
    run_after = timezone.now() + timedelta(seconds=delay)
    error = result.detail.get("error") or result.detail.get("reason") or "failed"
    detail = _with_error(execution.detail, f"attempt {execution.attempts}: {error}")
    until = run_after.timestamp() + settings.FORMRECAP_BROKER_VISIBILITY_TIMEOUT + QUEUE_GRACE_SECONDS if queued else None
    detail = with_delivery(detail, claim=None, claimed_at=None, queued_until=until)
    return bool(_held(execution).update(status=Status.SCHEDULED, run_after=run_after, detail=detail))


def execution_finish(*, execution: ActionExecution, result: HandlerResult) -> bool:
    """Record the final status and detail (and the webhook endpoint's health). False when no longer held."""
    detail = {**with_delivery(execution.detail, claim=None, claimed_at=None, queued_until=None), **result.detail}
    with transaction.atomic():
        finished = _held(execution).update(status=result.status, detail=detail, finished_at=timezone.now())
        if finished and result.endpoint_delivered is not None and execution.rule_id is not None:
            rule_endpoint_record(rule_id=execution.rule_id, delivered=result.endpoint_delivered)
    return bool(finished)


def rule_endpoint_record(*, rule_id: int, delivered: bool) -> None:
    """A delivery to a rule's webhook endpoint finally succeeded or failed: reset, or count and maybe disable it."""
    rule = RecoveryRule.all_tenants.filter(pk=rule_id)
    if delivered:
        rule.exclude(consecutive_failures=0).update(consecutive_failures=0)
        return
    rule.update(consecutive_failures=F("consecutive_failures") + 1)
    limit = settings.FORMRECAP_WEBHOOK_DISABLE_AFTER
    if rule.filter(disabled_at__isnull=True, consecutive_failures__gte=limit).update(disabled_at=timezone.now()):
        logger.warning("recovery rule %s: webhook endpoint disabled after %s failed deliveries in a row", rule_id, limit)
        # Only the UPDATE that disabled it gets here (disabled_at was empty), so the operators are told once.
        disabled = rule.select_related("tenant").get()
        notification_events.webhook_disabled(disabled, failures=disabled.consecutive_failures)


# --- sending messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    execution_id: int
    countdown: float  # seconds until run_after
    attempts: int  # as read: a mark applies only while no delivery has claimed the execution since


def executions_to_send(*, horizon_seconds: float, execution_ids: Sequence[int] | None = None) -> list[Due]:
    """Scheduled executions due within ``horizon_seconds``, oldest first.

    Given ids: those of them (just created). Otherwise: those with no message on its way (never sent, or
    sent so long ago that the message must be lost).
    """
    now = timezone.now()
    due = ActionExecution.all_tenants.filter(
        status=Status.SCHEDULED, run_after__lte=now + timedelta(seconds=horizon_seconds)
    ).order_by("run_after", "pk")
    if execution_ids is not None:
        due = due.filter(pk__in=list(execution_ids))
    else:
        not_on_its_way = Q(detail__delivery__queued_until__isnull=True) | Q(detail__delivery__queued_until__lt=time.time())
        due = due.filter(not_on_its_way)[:DISPATCH_BATCH]
    rows = due.values_list("pk", "run_after", "attempts")
    return [Due(pk, max(0.0, (run_after - now).total_seconds()), attempts) for pk, run_after, attempts in rows]


def execution_mark_sent(due: Due) -> None:
    """Note the time by which the message just sent must have run; the dispatcher leaves it alone until then.

    Nothing to note when a delivery has claimed the execution meanwhile (an eager run, a fast worker).
    """
    fence = {"pk": due.execution_id, "status": Status.SCHEDULED, "attempts": due.attempts}
    row = ActionExecution.all_tenants.filter(**fence).values("detail").first()
    if row is None:
        return
    until = time.time() + due.countdown + settings.FORMRECAP_BROKER_VISIBILITY_TIMEOUT + QUEUE_GRACE_SECONDS
    ActionExecution.all_tenants.filter(**fence).update(detail=with_delivery(row["detail"], queued_until=until))


def stale_running_seconds() -> int:
    return 2 * settings.FORMRECAP_BROKER_VISIBILITY_TIMEOUT


def executions_release_stale() -> int:
    """Running executions claimed longer ago than two visibility timeouts have lost their message: back to
    scheduled (fenced), so the dispatcher sends them again. Returns how many."""
    cutoff = time.time() - stale_running_seconds()
    stale = ActionExecution.all_tenants.filter(status=Status.RUNNING, detail__delivery__claimed_at__lt=cutoff)
    released = 0
    for pk, attempts, detail in stale.values_list("pk", "attempts", "detail")[:DISPATCH_BATCH]:
        detail = _with_error(detail, f"attempt {attempts}: no sign of its worker for {stale_running_seconds()} s; released")
        released += ActionExecution.all_tenants.filter(pk=pk, status=Status.RUNNING, attempts=attempts).update(
            status=Status.SCHEDULED, detail=with_delivery(detail, claim=None, claimed_at=None, queued_until=None)
        )
    if released:
        logger.warning("released %s recovery execution(s) whose worker and message were lost", released)
    return released
