"""Follow-up webhooks: a receiver told of an abandonment (``session.abandoned``) is told when that visitor comes
back (``session.returned``) or submits (``session.recovered``), so it can cancel its own outreach.

One notice per (execution, event): sent by the ``recovery.send_notice`` task with ``webhook-id`` =
``<execution idempotency key>:<event>`` (Standard Webhooks receivers dedupe on it) and recorded on the
execution once delivered, so a second return or a redelivered task sends nothing more.
"""

from dataclasses import dataclass

from django.db import transaction

from formrecap.models import Tenant

from .handlers.webhook import event_payload
from .models import ActionExecution, RecoveryRule
from .webhooks import active_secrets, deliver

SESSION_RETURNED = "session.returned"
SESSION_RECOVERED = "session.recovered"
EVENTS = (SESSION_RETURNED, SESSION_RECOVERED)
# Actions whose delivery told a receiver about the abandonment (a discount sent by webhook has a webhook_id too).
NOTIFIED_ACTIONS = (RecoveryRule.Action.WEBHOOK, RecoveryRule.Action.DISCOUNT)


@dataclass(frozen=True)
class NoticeOutcome:
    status: str  # "sent", "already sent", "skipped: …", or "failed: …"
    retryable: bool = False


def session_notices_enqueue(*, tenant: Tenant, session_id: int, event: str) -> None:
    """After commit, send ``event`` to every endpoint that was sent this session's abandonment."""
    from .tasks import send_notice_task

    delivered = (
        ActionExecution.objects.for_tenant(tenant)
        .filter(session_id=session_id, status=ActionExecution.Status.SUCCEEDED, action__in=NOTIFIED_ACTIONS)
        .filter(detail__has_key="webhook_id")  # a discount sent by email told no endpoint
    )
    ids = list(delivered.values_list("pk", flat=True))
    if ids:
        # robust: a broker outage loses a courtesy notice, never the caller's commit.
        transaction.on_commit(lambda: [send_notice_task.delay(pk, event) for pk in ids], robust=True)


def session_notice_send(*, execution_id: int, event: str) -> NoticeOutcome:
    """POST one notice; records it on the execution when delivered. Safe to call again."""
    if event not in EVENTS:
        return NoticeOutcome(f"skipped: unknown event {event!r}")
    execution = ActionExecution.all_tenants.select_related("session", "rule__tenant").filter(pk=execution_id).first()
    if execution is None or execution.rule is None:
        return NoticeOutcome("skipped: the execution or its rule is gone")
    if execution.detail.get("notices", {}).get(event):
        return NoticeOutcome("already sent")
    session = execution.session
    happened_at = session.recovered_at if event == SESSION_RECOVERED else session.returned_at
    payload = event_payload(
        type=event,
        timestamp=happened_at or execution.finished_at or execution.created_at,
        data={
            "session": {"id": session.pk, "uuid": str(session.session_uuid), "site": session.site_id},
            "abandonment_webhook_id": execution.detail.get("webhook_id"),
            "rule": execution.rule_id,
        },
    )
    url = execution.detail.get("url") or execution.rule.params.get("url")
    msg_id = f"{execution.idempotency_key}:{event}"
    result = deliver(url=url, payload=payload, secrets=active_secrets(execution.rule), msg_id=msg_id)
    if not result.ok:
        return NoticeOutcome(f"failed: {result.error}", retryable=result.retryable)
    with transaction.atomic():
        row = ActionExecution.all_tenants.select_for_update().get(pk=execution_id)
        notices = {**row.detail.get("notices", {}), event: {"webhook_id": msg_id, "status_code": result.status_code}}
        ActionExecution.all_tenants.filter(pk=execution_id).update(detail={**row.detail, "notices": notices})
    return NoticeOutcome("sent")
