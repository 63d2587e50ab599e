"""Delivery of actions through the task (Celery eager here; tests/recovery/test_worker.py uses a real worker):
the claim guard, redeliveries, resuming after a lost worker, retries with backoff, endpoint disabling, delays."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from recovery.delivery import (
    IGNORED,
    execution_claim,
    execution_mark_sent,
    execution_run,
    executions_release_stale,
    executions_to_send,
    retry_delay,
)
from recovery.handlers import HANDLERS
from recovery.handlers.base import execution_note
from recovery.models import ActionExecution, RecoveryRule
from recovery.tasks import dispatch_due_task, execute_action_task, executions_enqueue
from tests.recovery.actions import Receiver, abandoned_session, receiving, rule_for, scheduled_execution

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
VISITOR = "ada@example.com"


def deliver(execution: ActionExecution) -> str:
    """One message of ``execute_action`` (each call is a new message, with its own task id)."""
    return execute_action_task.apply(args=(execution.pk,)).get()


def reload(execution: ActionExecution) -> ActionExecution:
    return ActionExecution.all_tenants.get(pk=execution.pk)


def make_due(execution: ActionExecution) -> None:
    ActionExecution.all_tenants.filter(pk=execution.pk).update(run_after=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def receiver(settings):
    """A receiver holding the secret of ``hook_rule``; answers 200 unless told otherwise (``receiver.statuses``)."""
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True
    with receiving(Receiver()) as server:
        yield server


@pytest.fixture
def hook_rule(site, receiver):
    rule, secret = rule_for(site, "webhook", with_secret=True)
    rule.params = {"url": receiver.url}
    rule.save()
    receiver.secret = secret
    return rule


# --- the claim guard -----------------------------------------------------------------------------------


def test_a_claim_takes_a_scheduled_execution_once(site):
    rule, _ = rule_for(site, "suppress")
    execution = scheduled_execution(abandoned_session(site), rule)

    taken = execution_claim(execution_id=execution.pk, claim="message-a:0")
    other = execution_claim(execution_id=execution.pk, claim="message-b:0")

    assert (taken.status, taken.attempts, taken.detail["delivery"]["claim"]) == ("running", 1, "message-a:0")
    assert taken.detail["decision"] == "rule"  # what the decision wrote stays
    assert other is None


def test_running_the_task_twice_sends_once(hook_rule, receiver, site):
    execution = scheduled_execution(abandoned_session(site), hook_rule)

    assert deliver(execution) == "succeeded"
    assert deliver(execution) == IGNORED  # a redelivery, or the dispatcher sending it again

    assert len(receiver.requests) == 1 and list(receiver.accepted) == [execution.idempotency_key]
    execution = reload(execution)
    assert (execution.status, execution.attempts) == ("succeeded", 1)
    assert execution.detail["status_code"] == 200 and execution.finished_at is not None


@pytest.mark.parametrize("status", ["succeeded", "skipped", "failed", "holdout"])
def test_a_finished_execution_is_left_alone(site, status):
    rule, _ = rule_for(site, "email")
    execution = scheduled_execution(abandoned_session(site, visitor_ref=VISITOR), rule, status=status)

    assert deliver(execution) == IGNORED

    assert mail.outbox == [] and reload(execution).status == status


def test_a_delivery_finding_the_execution_running_under_another_claim_does_nothing(hook_rule, receiver, site):
    execution = scheduled_execution(abandoned_session(site), hook_rule)
    execution_claim(execution_id=execution.pk, claim="the-owner:0")  # the owner is still at work

    assert deliver(execution) == IGNORED

    assert receiver.requests == []
    assert reload(execution).status == "running"


# --- resuming after a lost worker ----------------------------------------------------------------------


def test_the_redelivered_message_of_a_lost_worker_resends_the_webhook_under_the_same_id(hook_rule, receiver, site):
    execution = scheduled_execution(abandoned_session(site), hook_rule)
    running = execution_claim(execution_id=execution.pk, claim="lost-message:0")
    HANDLERS["webhook"](running)  # the worker posted, then died before recording anything

    outcome = execution_run(execution_id=execution.pk, claim="lost-message:0")  # the broker hands it out again

    assert outcome.status == "succeeded"
    assert [r.webhook_id for r in receiver.requests] == [execution.idempotency_key] * 2
    assert len(receiver.accepted) == 1  # the receiver dedupes on webhook-id: one effect
    execution = reload(execution)
    assert (execution.status, execution.attempts) == ("succeeded", 2)
    assert execution.detail["delivery"]["errors"] == ["attempt 1: its worker was lost mid-run"]


def test_an_email_lost_between_sending_and_sent_is_not_sent_again(site):
    rule, _ = rule_for(site, "email")
    execution = scheduled_execution(abandoned_session(site, visitor_ref=VISITOR), rule)
    running = execution_claim(execution_id=execution.pk, claim="lost-message:0")
    execution_note(running, email="sending")  # the worker died here: the email may or may not have left

    outcome = execution_run(execution_id=execution.pk, claim="lost-message:0")

    assert outcome.status == "failed"
    assert mail.outbox == []
    assert "not sent again (at most once)" in reload(execution).detail["error"]


def test_an_email_sent_by_a_lost_attempt_is_recorded_as_sent_not_sent_again(site):
    rule, _ = rule_for(site, "email")
    execution = scheduled_execution(abandoned_session(site, visitor_ref=VISITOR), rule)
    running = execution_claim(execution_id=execution.pk, claim="lost-message:0")
    execution_note(running, email="sent")  # the worker died after sending, before recording the status

    assert execution_run(execution_id=execution.pk, claim="lost-message:0").status == "succeeded"
    assert mail.outbox == []


def test_an_email_lost_before_sending_is_sent_on_resume(site):
    rule, _ = rule_for(site, "email")
    execution = scheduled_execution(abandoned_session(site, visitor_ref=VISITOR), rule)
    execution_claim(execution_id=execution.pk, claim="lost-message:0")  # died before the "sending" mark

    assert execution_run(execution_id=execution.pk, claim="lost-message:0").status == "succeeded"
    assert len(mail.outbox) == 1


def test_a_run_that_keeps_losing_its_worker_gives_up_at_the_attempt_limit(site, settings):
    settings.FORMRECAP_RECOVERY_MAX_ATTEMPTS = 2
    rule, _ = rule_for(site, "suppress")
    execution = scheduled_execution(abandoned_session(site), rule)
    execution_claim(execution_id=execution.pk, claim="doomed:0")
    execution_claim(execution_id=execution.pk, claim="doomed:0")  # attempt 2, lost too

    assert execution_run(execution_id=execution.pk, claim="doomed:0").status == "failed"
    assert reload(execution).detail["error"] == "gave up after 2 attempts; the last was lost with its worker"


def test_a_running_execution_whose_message_is_lost_is_released_and_sent_again(hook_rule, receiver, site, settings):
    execution = scheduled_execution(abandoned_session(site), hook_rule)
    running = execution_claim(execution_id=execution.pk, claim="gone:0")
    HANDLERS["webhook"](running)
    long_ago = time.time() - 2 * settings.FORMRECAP_BROKER_VISIBILITY_TIMEOUT - 1
    execution_note(running, claimed_at=long_ago)

    assert executions_release_stale() == 1
    assert reload(execution).status == "scheduled"
    assert dispatch_due_task.apply().get() == 1

    assert reload(execution).status == "succeeded"
    assert [r.webhook_id for r in receiver.requests] == [execution.idempotency_key] * 2 and len(receiver.accepted) == 1


# --- retries -------------------------------------------------------------------------------------------


def test_a_503_is_retried_later_under_the_same_webhook_id_then_succeeds(
    hook_rule, receiver, site, django_capture_on_commit_callbacks
):
    receiver.statuses = [503]
    execution = scheduled_execution(abandoned_session(site), hook_rule)

    with django_capture_on_commit_callbacks(execute=True):
        executions_enqueue([execution.pk])

    execution = reload(execution)
    assert (execution.status, execution.attempts) == ("scheduled", 1)
    assert execution.detail["delivery"]["errors"] == ["attempt 1: HTTP 503"]
    wait = (execution.run_after - timezone.now()).total_seconds()
    assert 14 < wait <= 30  # the first backoff: 30 s, half of it random
    assert dispatch_due_task.apply().get() == 0  # not due yet

    make_due(execution)
    assert dispatch_due_task.apply().get() == 1

    execution = reload(execution)
    assert (execution.status, execution.attempts, execution.detail["status_code"]) == ("succeeded", 2, 200)
    assert [(r.webhook_id, r.status, r.verified) for r in receiver.requests] == [
        (execution.idempotency_key, 503, True),
        (execution.idempotency_key, 200, True),
    ]
    assert len(receiver.accepted) == 1
    assert RecoveryRule.all_tenants.get(pk=hook_rule.pk).consecutive_failures == 0


def test_retries_are_bounded_and_the_final_failure_counts_against_the_endpoint(hook_rule, receiver, site, settings):
    settings.FORMRECAP_RECOVERY_MAX_ATTEMPTS = 3
    receiver.statuses = [503] * 10
    execution = scheduled_execution(abandoned_session(site), hook_rule)

    statuses = [deliver(execution)]
    while reload(execution).status == "scheduled":
        make_due(execution)
        dispatch_due_task.apply()
        statuses.append(reload(execution).status)

    assert statuses == ["scheduled", "scheduled", "failed"]
    execution = reload(execution)
    assert (execution.attempts, execution.detail["error"]) == (3, "HTTP 503")
    assert execution.detail["delivery"]["errors"] == ["attempt 1: HTTP 503", "attempt 2: HTTP 503"]
    assert len(receiver.requests) == 3 and receiver.accepted == {}
    assert RecoveryRule.all_tenants.get(pk=hook_rule.pk).consecutive_failures == 1


def test_a_4xx_is_final_at_once(hook_rule, receiver, site):
    receiver.statuses = [422]
    execution = scheduled_execution(abandoned_session(site), hook_rule)
    assert deliver(execution) == "failed"
    assert reload(execution).attempts == 1 and len(receiver.requests) == 1


def test_backoff_doubles_with_jitter_and_stays_below_the_visibility_timeout(settings):
    base, cap = settings.FORMRECAP_RECOVERY_RETRY_BASE_SECONDS, settings.FORMRECAP_RECOVERY_RETRY_MAX_SECONDS
    for attempt in range(1, 12):
        ceiling = min(cap, base * 2 ** (attempt - 1))
        delays = [retry_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling < settings.FORMRECAP_BROKER_VISIBILITY_TIMEOUT for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not fixed
    assert [min(cap, base * 2 ** (a - 1)) for a in range(1, 6)] == [30, 60, 120, 240, 480]


# --- endpoint health -----------------------------------------------------------------------------------


def test_an_endpoint_is_disabled_after_consecutive_failed_executions_then_skipped(hook_rule, receiver, site, settings):
    settings.FORMRECAP_WEBHOOK_DISABLE_AFTER = 3
    receiver.statuses = [400] * 3
    failed = [scheduled_execution(abandoned_session(site), hook_rule) for _ in range(3)]

    assert [deliver(execution) for execution in failed] == ["failed"] * 3

    rule = RecoveryRule.all_tenants.get(pk=hook_rule.pk)
    assert rule.consecutive_failures == 3 and rule.disabled_at is not None
    later = scheduled_execution(abandoned_session(site), rule)
    assert deliver(later) == "skipped"
    assert "webhook endpoint disabled since" in reload(later).detail["reason"]
    assert len(receiver.requests) == 3


def test_a_delivered_webhook_resets_the_failure_count(hook_rule, receiver, site):
    RecoveryRule.all_tenants.filter(pk=hook_rule.pk).update(consecutive_failures=7)
    assert deliver(scheduled_execution(abandoned_session(site), hook_rule)) == "succeeded"
    assert RecoveryRule.all_tenants.get(pk=hook_rule.pk).consecutive_failures == 0


# --- what the task records -----------------------------------------------------------------------------


def test_no_email_address_is_recorded_as_skipped_with_the_reason(site):
    rule, _ = rule_for(site, "email")
    execution = scheduled_execution(abandoned_session(site, visitor_ref="customer-1842"), rule)

    assert deliver(execution) == "skipped"

    execution = reload(execution)
    assert execution.detail["reason"] == "no email address for this visitor" and execution.finished_at is not None
    assert execution.detail["decision"] == "rule" and mail.outbox == []


def test_a_deactivated_or_deleted_rule_does_not_act(site):
    rule, _ = rule_for(site, "email")
    deactivated = scheduled_execution(abandoned_session(site, visitor_ref=VISITOR), rule)
    RecoveryRule.all_tenants.filter(pk=rule.pk).update(active=False)
    assert deliver(deactivated) == "skipped"
    assert reload(deactivated).detail["reason"] == "the rule was deactivated before the action ran"

    deleted = scheduled_execution(abandoned_session(site, visitor_ref=VISITOR), None, action="email")
    assert deliver(deleted) == "skipped"
    assert reload(deleted).detail["reason"] == "the rule was deleted before the action ran"
    assert mail.outbox == []


def test_a_handler_that_raises_is_recorded_as_failed_not_left_running(site, monkeypatch):
    def broken(execution):
        raise ValueError("template missing")

    monkeypatch.setitem(HANDLERS, "suppress", broken)
    rule, _ = rule_for(site, "suppress")
    execution = scheduled_execution(abandoned_session(site), rule)

    assert deliver(execution) == "failed"
    assert reload(execution).detail["error"] == "ValueError: template missing"


# --- delays and the dispatcher -------------------------------------------------------------------------


def test_a_delay_within_the_horizon_is_sent_with_its_countdown_and_a_longer_one_is_left_to_the_dispatcher(site):
    rule, _ = rule_for(site, "suppress")
    soon = scheduled_execution(abandoned_session(site), rule, delay_seconds=300)
    later = scheduled_execution(abandoned_session(site), rule, delay_seconds=7200)

    [due] = executions_to_send(horizon_seconds=900, execution_ids=[soon.pk, later.pk])

    assert due.execution_id == soon.pk and 298 < due.countdown <= 300


def test_a_message_on_its_way_is_not_sent_again_until_it_must_be_lost(site):
    rule, _ = rule_for(site, "suppress")
    execution = scheduled_execution(abandoned_session(site), rule, delay_seconds=60)
    [due] = executions_to_send(horizon_seconds=900)
    assert due.execution_id == execution.pk

    execution_mark_sent(due)
    assert executions_to_send(horizon_seconds=900) == []

    detail = reload(execution).detail
    detail["delivery"]["queued_until"] = time.time() - 1  # its message never ran: lost with the broker
    ActionExecution.all_tenants.filter(pk=execution.pk).update(detail=detail)
    assert [due.execution_id for due in executions_to_send(horizon_seconds=900)] == [execution.pk]


def test_a_long_delay_goes_through_the_dispatcher(hook_rule, receiver, site, django_capture_on_commit_callbacks):
    execution = scheduled_execution(abandoned_session(site), hook_rule, delay_seconds=3 * 3600)

    with django_capture_on_commit_callbacks(execute=True):
        executions_enqueue([execution.pk])
    assert dispatch_due_task.apply().get() == 0

    assert reload(execution).status == "scheduled" and receiver.requests == []
    make_due(execution)
    assert dispatch_due_task.apply().get() == 1
    assert reload(execution).status == "succeeded" and len(receiver.requests) == 1


def test_the_decision_enqueues_its_executions_on_commit(site, django_capture_on_commit_callbacks):
    from recovery.services import recovery_plan_for_prediction

    rule, _ = rule_for(site, "review")
    session = abandoned_session(site, code=6)

    with django_capture_on_commit_callbacks(execute=True):
        [execution] = recovery_plan_for_prediction(tenant=site.tenant, prediction_id=session.predictions.get().pk)

    execution = reload(execution)
    assert (execution.rule, execution.status, execution.attempts) == (rule, "succeeded", 1)
    assert execution.detail["created"] is True


def test_countdowns_at_or_past_the_visibility_timeout_are_refused_at_startup():
    env = {**os.environ, "CELERY_VISIBILITY_TIMEOUT": "600", "FORMRECAP_TRAINING_POLL_SECONDS": "60"}
    env |= {"FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS": "120", "FORMRECAP_RECOVERY_MAX_COUNTDOWN": "900"}
    code = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env | {"DJANGO_SETTINGS_MODULE": "formrecap.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "FORMRECAP_RECOVERY_MAX_COUNTDOWN and FORMRECAP_RECOVERY_RETRY_MAX_SECONDS must stay below" in result.stderr
